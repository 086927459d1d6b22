package traj

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

func sampleRows(n int) []Row {
	rows := make([]Row, n)
	for i := range rows {
		role := RolePredictor
		if i%9 == 0 {
			role = RoleGenerator
		}
		rows[i] = Row{
			RunID: "run1", Step: 3, PolicyVersion: 2, Role: role,
			GroupID: fmt.Sprintf("3/%d", i/9), SampleIndex: int32(i % 9), PassageID: "p" + fmt.Sprint(i/9),
			PromptText: "There is a passage with masked words by [mask]: ...", PromptIDs: []int32{1, 2, 3, int32(i)},
			CompletionText: `so \boxed{Paris}`, CompletionIDs: []int32{7, 8, 9},
			OldLogprobs: []float32{-0.5, -1.25, -0.125}, SamplingLogprobs: []float32{-0.4, -1, -0.1},
			LossMask: []int8{1, 1, 0}, FinishReason: FinishStop,
			Parsed: "Paris", ParseOK: true, Valid: true, Target: "Paris", Strict: true, Normalised: true,
			Reward: 1, Advantage: 0.875, MaskAccuracy: 0.125, Filtered: i%2 == 0,
			MaskWords: 1, MaskTokens: 1, Occurrences: 2, GenerateSeconds: 1.5, CreatedUnixMs: 1700000000000,
		}
	}
	return rows
}

func TestRoundTripAndSchema(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "traj-00001.parquet")
	rows := sampleRows(20)
	rows[3].RefLogprobs = []float32{-1, -2, -3}
	w, err := Create(path, map[string]string{MetaRunID: "run1", MetaRewardConfig: `{"eps":1e-6}`})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rows[:10]...); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("file visible before Close")
	}
	if err := w.Write(rows[10:]...); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("leftover files: %v", ents)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		rows[i].SchemaVersion = SchemaVersion
		for _, r := range []*Row{&rows[i], &got[i]} { // empty and nil lists read back alike
			if len(r.RefLogprobs) == 0 {
				r.RefLogprobs = nil
			}
		}
	}
	if !reflect.DeepEqual(got, rows) {
		t.Errorf("round trip differs:\n%+v\n%+v", got[3], rows[3])
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if v, _ := r.Meta(MetaSchemaVersion); v != "1" {
		t.Errorf("schema version meta %q", v)
	}
	if v, _ := r.Meta(MetaRunID); v != "run1" {
		t.Errorf("run id meta %q", v)
	}
	// Column types the learner relies on.
	sch := r.pf.Schema()
	for col, want := range map[string]string{
		"prompt_ids": "INT32", "completion_ids": "INT32", "old_logprobs": "FLOAT", "loss_mask": "INT32",
		"advantage": "FLOAT", "step": "INT64", "policy_version": "INT64", "filtered": "BOOLEAN",
	} {
		leaf, ok := sch.Lookup(col)
		if !ok {
			// list columns are nested: <col>.list.element
			leaf, ok = sch.Lookup(col, "list", "element")
		}
		if !ok {
			t.Errorf("column %s missing", col)
			continue
		}
		if got := leaf.Node.Type().Kind().String(); got != want {
			t.Errorf("column %s: physical type %s, want %s", col, got, want)
		}
	}
	s := sch.String()
	for _, frag := range []string{"prompt_ids (LIST)", "loss_mask (LIST)", "(INT(8,true))"} {
		if !strings.Contains(s, frag) {
			t.Errorf("schema lacks %q:\n%s", frag, s)
		}
	}
}

func TestAbortAndWriteJSONAtomic(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(filepath.Join(dir, "a.parquet"), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = w.Write(sampleRows(3)...)
	w.Abort()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("Abort left %v", ents)
	}
	if err := w.Write(sampleRows(1)...); !errors.Is(err, ErrClosed) {
		t.Errorf("write after abort: %v", err)
	}
	p := filepath.Join(dir, "cursor.json")
	if err := WriteJSONAtomic(p, map[string]int{"offset": 7}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != "{\n  \"offset\": 7\n}\n" {
		t.Errorf("cursor file %q", b)
	}
}

func TestOpenRejects(t *testing.T) {
	dir := t.TempDir()
	// Not Parquet.
	bad := filepath.Join(dir, "bad.parquet")
	os.WriteFile(bad, []byte("not parquet at all"), 0o644)
	if _, err := Open(bad); err == nil {
		t.Error("garbage accepted")
	}
	// Parquet without pz metadata.
	type other struct {
		X int64 `parquet:"x"`
	}
	p := filepath.Join(dir, "other.parquet")
	if err := parquet.WriteFile(p, []other{{1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(p); !errors.Is(err, ErrMissingColumn) {
		t.Errorf("foreign file: %v", err)
	}
	// Newer schema version.
	w, _ := Create(filepath.Join(dir, "new.parquet"), nil)
	w.w.SetKeyValueMetadata(MetaSchemaVersion, "99")
	w.Close()
	if _, err := Open(filepath.Join(dir, "new.parquet")); !errors.Is(err, ErrSchemaVersion) {
		t.Errorf("newer version: %v", err)
	}
	// Empty file of rows is fine.
	e := filepath.Join(dir, "empty.parquet")
	if err := WriteFile(e, nil, nil); err != nil {
		t.Fatal(err)
	}
	if rows, err := ReadFile(e); err != nil || len(rows) != 0 {
		t.Errorf("empty: %v %v", rows, err)
	}
}

func TestReadLearnFile(t *testing.T) {
	dir := t.TempDir()
	// pz Parquet.
	p := filepath.Join(dir, "t.parquet")
	if err := WriteFile(p, nil, sampleRows(3)); err != nil {
		t.Fatal(err)
	}
	rows, err := ReadLearnFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || !rows[0].HasOldLogprobs || rows[0].HasRefLogprobs || !rows[0].HasStep || rows[0].Step != 3 ||
		!rows[0].Filtered || rows[1].Filtered || !reflect.DeepEqual(rows[0].LossMask, []int8{1, 1, 0}) || rows[2].PromptIDs[3] != 2 || rows[0].Role != RoleGenerator || rows[1].Role != RolePredictor {
		t.Errorf("parquet learn rows %+v", rows)
	}
	// Foreign Parquet with only the required columns.
	type minimal struct {
		PromptIDs     []int32 `parquet:"prompt_ids,list"`
		CompletionIDs []int32 `parquet:"completion_ids,list"`
		Advantage     float32 `parquet:"advantage"`
	}
	m := filepath.Join(dir, "m.parquet")
	if err := parquet.WriteFile(m, []minimal{{[]int32{1}, []int32{2, 3}, -0.5}}); err != nil {
		t.Fatal(err)
	}
	rows, err = ReadLearnFile(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].HasOldLogprobs || rows[0].HasStep || rows[0].HasFiltered || rows[0].Advantage != -0.5 || rows[0].LossMask != nil {
		t.Errorf("minimal parquet %+v", rows)
	}
	type noAdv struct {
		PromptIDs     []int32 `parquet:"prompt_ids,list"`
		CompletionIDs []int32 `parquet:"completion_ids,list"`
	}
	na := filepath.Join(dir, "na.parquet")
	parquet.WriteFile(na, []noAdv{{[]int32{1}, []int32{2}}})
	if _, err := ReadLearnFile(na); !errors.Is(err, ErrMissingColumn) || !strings.Contains(err.Error(), `"advantage"`) || !strings.Contains(err.Error(), "na.parquet") {
		t.Errorf("missing advantage: %v", err)
	}
	// JSONL.
	j := filepath.Join(dir, "t.jsonl")
	os.WriteFile(j, []byte(`{"prompt_ids":[1,2],"completion_ids":[3,4],"advantage":0.5,"old_logprobs":[-1,-2],"step":0,"filtered":false}

{"prompt_ids":[1],"completion_ids":[3],"advantage":-1,"loss_mask":[0],"ref_logprobs":[-0.5],"policy_version":4}
`), 0o644)
	rows, err = ReadLearnFile(j)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || !rows[0].HasStep || rows[0].Step != 0 || !rows[0].HasFiltered || rows[0].HasPolicyVersion ||
		rows[1].HasStep || !rows[1].HasPolicyVersion || rows[1].PolicyVersion != 4 || rows[1].LossMask[0] != 0 || !rows[1].HasRefLogprobs || rows[1].HasOldLogprobs {
		t.Errorf("jsonl rows %+v", rows)
	}
	for name, body := range map[string]string{
		"completion_ids": `{"prompt_ids":[1],"advantage":1}`,
		"old_logprobs":   `{"prompt_ids":[1],"completion_ids":[1,2],"advantage":1,"old_logprobs":[-1]}`,
		"loss_mask":      `{"prompt_ids":[1],"completion_ids":[1,2],"advantage":1,"loss_mask":[1]}`,
	} {
		f := filepath.Join(dir, name+".jsonl")
		os.WriteFile(f, []byte(body+"\n"), 0o644)
		if _, err := ReadLearnFile(f); err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), f) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func BenchmarkWrite(b *testing.B) {
	rows := sampleRows(1024)
	for i := range rows {
		rows[i].CompletionIDs = make([]int32, 256)
		rows[i].OldLogprobs = make([]float32, 256)
		rows[i].SamplingLogprobs = make([]float32, 256)
		rows[i].PromptIDs = make([]int32, 300)
		for k := range rows[i].OldLogprobs {
			rows[i].CompletionIDs[k] = int32(k * 7 % 4096)
			rows[i].OldLogprobs[k] = -float32(k%13) / 7
		}
		rows[i].CompletionText = strings.Repeat("reasoning about the passage ", 40)
	}
	dir := b.TempDir()
	n := 0
	for b.Loop() {
		if err := WriteFile(filepath.Join(dir, "b.parquet"), nil, rows); err != nil {
			b.Fatal(err)
		}
		n += len(rows)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}

// Toy-scale rows (TOY-SCALE.md: ≤16 new tokens, ~200-token prompts).
func BenchmarkWriteToy(b *testing.B) {
	rows := sampleRows(4096)
	for i := range rows {
		rows[i].PromptIDs = make([]int32, 200)
		for k := range rows[i].PromptIDs {
			rows[i].PromptIDs[k] = int32((k*31 + i) % 2048)
		}
		rows[i].CompletionIDs = []int32{5, 9, 100, 7, 2, 2, 8, 1, 0, 44, 3, 9, 12, 13, 14, 1}
		rows[i].OldLogprobs = make([]float32, 16)
		rows[i].PromptText = strings.Repeat("wiki paragraph text ", 30)
	}
	dir := b.TempDir()
	n := 0
	for b.Loop() {
		if err := WriteFile(filepath.Join(dir, "b.parquet"), nil, rows); err != nil {
			b.Fatal(err)
		}
		n += len(rows)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkReadFile(b *testing.B) {
	rows := sampleRows(4096)
	p := filepath.Join(b.TempDir(), "r.parquet")
	if err := WriteFile(p, nil, rows); err != nil {
		b.Fatal(err)
	}
	n := 0
	for b.Loop() {
		got, err := ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		n += len(got)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}
