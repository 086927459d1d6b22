package data

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
)

func testPassages(n int) []Passage {
	ps := make([]Passage, n)
	for i := range ps {
		ps[i] = Passage{ID: fmt.Sprintf("doc-%d#0", i), DocID: fmt.Sprintf("doc-%d", i), Text: fmt.Sprint(i)}
	}
	return ps
}

func TestStreamEpochsAreShuffledPermutations(t *testing.T) {
	s := NewStream(testPassages(50), 7, true)
	var epochs [3][]string
	for e := range epochs {
		seen := map[string]bool{}
		for range 50 {
			p, err := s.Next()
			if err != nil {
				t.Fatal(err)
			}
			if seen[p.ID] {
				t.Fatalf("epoch %d repeats %s", e, p.ID)
			}
			seen[p.ID] = true
			epochs[e] = append(epochs[e], p.ID)
		}
	}
	if fmt.Sprint(epochs[0]) == fmt.Sprint(epochs[1]) || fmt.Sprint(epochs[0]) == fmt.Sprint(testPassages(0)) {
		t.Errorf("epochs 0 and 1 have the same order")
	}
	// Same seed: same orders; different seed: different.
	s2 := NewStream(testPassages(50), 7, true)
	s3 := NewStream(testPassages(50), 8, true)
	same, diff := true, false
	for i := range 50 {
		p2, _ := s2.Next()
		p3, _ := s3.Next()
		same = same && p2.ID == epochs[0][i]
		diff = diff || p3.ID != epochs[0][i]
	}
	if !same || !diff {
		t.Errorf("seeded order: same=%v diff=%v", same, diff)
	}
	// No shuffle keeps load order.
	s4 := NewStream(testPassages(5), 7, false)
	for i := range 5 {
		if p, _ := s4.Next(); p.ID != fmt.Sprintf("doc-%d#0", i) {
			t.Errorf("unshuffled %d = %s", i, p.ID)
		}
	}
}

// Saving the cursor after k passages and resuming on a fresh stream yields
// exactly the rest of the uninterrupted sequence, across epoch boundaries.
func TestCursorResume(t *testing.T) {
	const n, total = 23, 80
	ref := NewStream(testPassages(n), 42, true)
	var want []string
	for range total {
		p, _ := ref.Next()
		want = append(want, p.ID)
	}
	for _, k := range []int{0, 1, 22, 23, 24, 46, 79} {
		s := NewStream(testPassages(n), 42, true)
		var got []string
		for range k {
			p, _ := s.Next()
			got = append(got, p.ID)
		}
		b, err := json.Marshal(s.Cursor())
		if err != nil {
			t.Fatal(err)
		}
		var c Cursor
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		r := NewStream(testPassages(n), 42, true)
		if err := r.Resume(c); err != nil {
			t.Fatal(err)
		}
		for range total - k {
			p, _ := r.Next()
			got = append(got, p.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("k=%d: resumed sequence differs", k)
		}
		if r.Cursor().Consumed != total {
			t.Errorf("k=%d: consumed %d", k, r.Cursor().Consumed)
		}
	}
	c := ref.Cursor()
	for name, s := range map[string]*Stream{
		"other data": NewStream(testPassages(n+1), 42, true),
		"other seed": NewStream(testPassages(n), 43, true),
		"no shuffle": NewStream(testPassages(n), 42, false),
	} {
		if err := s.Resume(c); !errors.Is(err, ErrCursorMismatch) {
			t.Errorf("%s: %v, want ErrCursorMismatch", name, err)
		}
	}
	path := filepath.Join(t.TempDir(), "cursor.json")
	if err := SaveCursor(path, c); err != nil {
		t.Fatal(err)
	}
	if back, err := LoadCursor(path); err != nil || back != c {
		t.Errorf("cursor file round trip: %v %+v", err, back)
	}
}

func TestStreamEpochLimit(t *testing.T) {
	s := NewStream(testPassages(3), 1, true)
	s.epochs = 2
	for i := range 6 {
		if _, err := s.Next(); err != nil {
			t.Fatalf("next %d: %v", i, err)
		}
	}
	if _, err := s.Next(); !errors.Is(err, ErrEndOfData) {
		t.Errorf("after 2 epochs: %v", err)
	}
}

// Open: shards of the shipped sample (a pre-split directory) partition its
// train side; the held-out side is separate; a prepared directory gives
// the same passages per shard through its fast path and the generic one.
func TestOpenShards(t *testing.T) {
	ctx := context.Background()
	all, err := Open(ctx, "sample", OpenOptions{NoShuffle: true})
	if err != nil {
		t.Fatal(err)
	}
	held, err := Open(ctx, "sample", OpenOptions{Split: SplitHeldout})
	if err != nil {
		t.Fatal(err)
	}
	trainTitles := map[string]bool{}
	for _, p := range all.Passages() {
		trainTitles[p.Title] = true
	}
	for _, p := range held.Passages() {
		if trainTitles[p.Title] {
			t.Fatalf("held-out article %q also in train", p.Title)
		}
	}
	out := t.TempDir()
	if _, err := Prepare(ctx, PrepareOptions{Out: out, Shards: 3, ProcessOptions: ProcessOptions{Inputs: []string{"sample/train.jsonl"}}}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"sample", out} {
		for _, n := range []int{2, 3} {
			seen := map[string]int{}
			for i := range n {
				s, err := Open(ctx, path, OpenOptions{Shard: ShardSpec{I: i, N: n}, Seed: 1})
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range s.Passages() {
					if ShardOf(p.ID, n) != i {
						t.Errorf("%s %d/%d: passage %s hashes to %d", path, i, n, p.ID, ShardOf(p.ID, n))
					}
					seen[p.ID]++
				}
			}
			if len(seen) != all.Len() {
				t.Errorf("%s N=%d: %d distinct passages, want %d", path, n, len(seen), all.Len())
			}
			for id, c := range seen {
				if c != 1 {
					t.Errorf("%s N=%d: %s seen %d times", path, n, id, c)
				}
			}
		}
	}
	if _, err := Open(ctx, out, OpenOptions{Split: SplitHeldout}); !errors.Is(err, ErrNoPassages) {
		t.Errorf("held out of a prepared dir without one: %v", err)
	}
}

// The real use: a worker opens its shard of a prepared directory, consumes
// some passages, saves the cursor with its checkpoint, and a new process
// opens the same path and resumes: the sequence continues exactly.
func TestOpenResumeFromCursorFile(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	if _, err := Prepare(ctx, PrepareOptions{Out: out, Shards: 2, ProcessOptions: ProcessOptions{Inputs: []string{"sample/train.jsonl"}}}); err != nil {
		t.Fatal(err)
	}
	opts := OpenOptions{Shard: ShardSpec{I: 1, N: 2}, Seed: 99}
	ref, err := Open(ctx, out, opts)
	if err != nil {
		t.Fatal(err)
	}
	n := ref.Len()
	var want []string
	for range n + 500 { // into the second epoch
		p, _ := ref.Next()
		want = append(want, p.ID)
	}
	first, _ := Open(ctx, out, opts)
	k := n + 123
	for range k {
		first.Next()
	}
	path := filepath.Join(t.TempDir(), "cursor.json")
	if err := SaveCursor(path, first.Cursor()); err != nil {
		t.Fatal(err)
	}
	c, err := LoadCursor(path)
	if err != nil {
		t.Fatal(err)
	}
	second, _ := Open(ctx, out, opts)
	if err := second.Resume(c); err != nil {
		t.Fatal(err)
	}
	for i := k; i < len(want); i++ {
		p, _ := second.Next()
		if p.ID != want[i] {
			t.Fatalf("resumed passage %d = %s, want %s", i, p.ID, want[i])
		}
	}
	// The cursor of another shard does not fit.
	other, _ := Open(ctx, out, OpenOptions{Shard: ShardSpec{I: 0, N: 2}, Seed: 99})
	if err := other.Resume(c); !errors.Is(err, ErrCursorMismatch) {
		t.Errorf("other shard: %v", err)
	}
}

// Raw inputs with a held-out fraction: the two splits partition the
// passages by document.
func TestOpenRawHeldout(t *testing.T) {
	ctx := context.Background()
	po := ProcessOptions{Heldout: 0.2}
	train, err := Open(ctx, "sample/heldout.jsonl", OpenOptions{Process: po})
	if err != nil {
		t.Fatal(err)
	}
	held, err := Open(ctx, "sample/heldout.jsonl", OpenOptions{Process: po, Split: SplitHeldout})
	if err != nil {
		t.Fatal(err)
	}
	all, _ := Open(ctx, "sample/heldout.jsonl", OpenOptions{})
	if train.Len()+held.Len() != all.Len() || held.Len() == 0 {
		t.Errorf("train %d + held %d != all %d", train.Len(), held.Len(), all.Len())
	}
	for _, p := range held.Passages() {
		if !IsHeldout(p.DocID, 0.2) {
			t.Errorf("held-out %s does not hash below 0.2", p.ID)
		}
	}
	for _, p := range train.Passages() {
		if IsHeldout(p.DocID, 0.2) {
			t.Errorf("train %s hashes below 0.2", p.ID)
		}
	}
}
