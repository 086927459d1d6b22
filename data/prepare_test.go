package data

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const sampleTrain = "sample/train.jsonl"

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// The shipped sample is clean Wikipedia prose: check the default filters
// keep almost all of it, and that prepare -> read back gives every passage
// exactly once, in the shard its id hashes to, with no document on both
// sides of the held-out split.
func TestPrepareRoundTrip(t *testing.T) {
	ctx := context.Background()
	// Independent truth: the sample's lines.
	raw, err := os.ReadFile(sampleTrain)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	type rec struct{ ID, Title, Text string }
	byID := map[string]rec{}
	for _, l := range lines {
		var r rec
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		byID[r.ID+"#0"] = r
	}

	for _, workers := range []int{1, 2} {
		out := t.TempDir()
		st, err := Prepare(ctx, PrepareOptions{
			Out:            out,
			Shards:         4,
			ProcessOptions: ProcessOptions{Inputs: []string{sampleTrain}, Heldout: 0.1, HeldoutBy: "title", Workers: workers},
		})
		if err != nil {
			t.Fatal(err)
		}
		wantFiles := []string{HeldoutFile, ShardFileName(0, 4), ShardFileName(1, 4), ShardFileName(2, 4), ShardFileName(3, 4), StatsFile}
		if got := listDir(t, out); strings.Join(got, " ") != strings.Join(wantFiles, " ") {
			t.Fatalf("files %q, want %q", got, wantFiles)
		}
		if st.Records != int64(len(lines)) || st.Documents != int64(len(lines)) {
			t.Errorf("records %d documents %d, want %d", st.Records, st.Documents, len(lines))
		}
		if kept := st.PassagesKept + st.PassagesHeldout; kept+st.DroppedTotal() != int64(len(lines)) || st.DroppedTotal() > 10 {
			t.Errorf("kept %d + dropped %d (%v) != %d lines, or too many drops", kept, st.DroppedTotal(), st.Drops, len(lines))
		}
		seen := map[string]bool{}
		heldTitles, trainTitles := map[string]bool{}, map[string]bool{}
		for i := range 4 {
			err := ReadPassageFile(ctx, filepath.Join(out, ShardFileName(i, 4)), func(p Passage) error {
				if seen[p.ID] {
					t.Errorf("passage %s twice", p.ID)
				}
				seen[p.ID] = true
				if ShardOf(p.ID, 4) != i {
					t.Errorf("passage %s in shard %d, hashes to %d", p.ID, i, ShardOf(p.ID, 4))
				}
				r, ok := byID[p.ID]
				if !ok || r.Text != p.Text || r.Title != p.Title || p.DocID+"#0" != p.ID || p.NChars != len([]rune(r.Text)) || p.NTokens != 0 {
					t.Errorf("passage %s does not match its source line: %+v", p.ID, p)
				}
				trainTitles[p.Title] = true
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		nHeld := 0
		if err := ReadPassageFile(ctx, filepath.Join(out, HeldoutFile), func(p Passage) error {
			if seen[p.ID] {
				t.Errorf("held-out passage %s also in train", p.ID)
			}
			seen[p.ID] = true
			heldTitles[p.Title] = true
			if !IsHeldout(p.Title, 0.1) {
				t.Errorf("held-out passage %s has title %q that does not hash below 0.1", p.ID, p.Title)
			}
			nHeld++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for title := range heldTitles {
			if trainTitles[title] {
				t.Errorf("article %q on both sides", title)
			}
		}
		if int64(len(seen)) != st.PassagesKept+st.PassagesHeldout || int64(nHeld) != st.PassagesHeldout {
			t.Errorf("read back %d (%d held out), stats say %d + %d", len(seen), nHeld, st.PassagesKept, st.PassagesHeldout)
		}
		back, err := ReadStats(out)
		if err != nil || back.PassagesKept != st.PassagesKept || len(back.Shards) != 4 {
			t.Errorf("stats.json: %v %+v", err, back)
		}
	}
}

func TestPrepareFiltersAndDedup(t *testing.T) {
	dir := t.TempDir()
	prose := "The river flows through the old town and past the mill, where the miller and his sons worked for many years before the war came to the valley and changed it."
	other := "A second and quite different paragraph describes the mountains to the north of the town, which are covered in snow for most of the year and are popular with walkers."
	near := strings.Replace(prose, "changed it.", "changed it forever.", 1) // Jaccard of 5-shingles 25/27
	docs := []map[string]string{
		{"id": "d1", "text": prose + "\n\n" + other},
		{"id": "d2", "text": prose},                                  // exact duplicate of d1#0
		{"id": "d3", "text": strings.ToUpper(prose[:1]) + prose[1:]}, // same after case folding
		{"id": "d4", "text": near},                                   // near duplicate
		{"id": "d5", "text": "* item one\n* item two\n* item three of the list that is long enough to count as text for the budget"},
		{"id": "d6", "text": "Short."},
		{"id": "d7", "text": "See [[Link]] " + prose},
		{"id": "d8", "text": ""},
	}
	var b strings.Builder
	for _, d := range docs {
		j, _ := json.Marshal(d)
		b.Write(j)
		b.WriteByte('\n')
	}
	b.WriteString("{\"id\":\"d9\",\"text\":\"bad \xff " + prose + "\"}\n")
	in := writeFile(t, filepath.Join(dir, "in.jsonl"), []byte(b.String()))
	writeFile(t, filepath.Join(dir, "empty.txt"), nil)
	budget := BudgetOptions{Min: 100, Max: 1000}
	for _, near := range []bool{false, true} {
		st, err := Prepare(context.Background(), PrepareOptions{Out: filepath.Join(dir, "out"), ProcessOptions: ProcessOptions{
			Inputs: []string{in, filepath.Join(dir, "empty.txt")}, Budget: budget, NearDedup: near,
		}})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{DropDuplicate: 1, DropList: 1, DropTooShort: 1, DropMarkup: 1, DropEmpty: 1, DropInvalidUTF8: 1}
		wantKept := int64(3)
		if near {
			want[DropNearDuplicate] = 1
			wantKept = 2
		}
		// d1 gives 2 passages, d3 is the case-folded duplicate of d1#0 too.
		want[DropDuplicate] = 2
		if len(st.Drops) != len(DropReasons()) {
			t.Errorf("near=%v: drops %v, want all of %v", near, st.Drops, DropReasons())
		}
		for _, k := range DropReasons() {
			v := want[k]
			if st.Drops[k] != v {
				t.Errorf("near=%v: drops[%s] = %d, want %d (all: %v)", near, k, st.Drops[k], v, st.Drops)
			}
		}
		if st.PassagesKept != wantKept || st.EmptyFiles != 1 || st.Files != 2 {
			t.Errorf("near=%v: kept %d (want %d), files %d empty %d", near, st.PassagesKept, wantKept, st.Files, st.EmptyFiles)
		}
	}
}

// A failing prepare leaves no partial file and keeps older output intact.
func TestPrepareAtomicOnError(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if _, err := Prepare(context.Background(), PrepareOptions{Out: out, Shards: 2, ProcessOptions: ProcessOptions{Inputs: []string{sampleTrain}}}); err != nil {
		t.Fatal(err)
	}
	before := listDir(t, out)
	statsBefore, _ := os.ReadFile(filepath.Join(out, StatsFile))
	bad := writeFile(t, filepath.Join(dir, "z.jsonl.gz"), []byte("\x1f\x8b\x08\x00garbage"))
	_, err := Prepare(context.Background(), PrepareOptions{Out: out, Shards: 3, ProcessOptions: ProcessOptions{Inputs: []string{sampleTrain, bad}}})
	if err == nil || !strings.Contains(err.Error(), "z.jsonl.gz") {
		t.Fatalf("error %v, want one naming z.jsonl.gz", err)
	}
	after := listDir(t, out)
	if strings.Join(after, " ") != strings.Join(before, " ") {
		t.Errorf("files changed: %q -> %q", before, after)
	}
	statsAfter, _ := os.ReadFile(filepath.Join(out, StatsFile))
	if string(statsAfter) != string(statsBefore) {
		t.Errorf("stats.json changed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Prepare(ctx, PrepareOptions{Out: out, Shards: 3, ProcessOptions: ProcessOptions{Inputs: []string{sampleTrain}}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if after := listDir(t, out); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Errorf("files changed after cancel: %q", after)
	}
}
