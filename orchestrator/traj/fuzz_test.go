package traj

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadFile: the Parquet trajectory reader never panics on any bytes
// (a corrupt file is an error naming it). Seeded with a real file from
// the writer and with a JSONL learn file.
func FuzzReadFile(f *testing.F) {
	p := filepath.Join(f.TempDir(), "seed.parquet")
	if err := WriteFile(p, map[string]string{MetaRunID: "fuzz"}, sampleRows(3)); err != nil {
		f.Fatal(err)
	}
	seed, err := os.ReadFile(p)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed, false)
	f.Add(seed[:len(seed)-9], false)
	f.Add([]byte(`{"prompt_ids":[5,6],"completion_ids":[7],"advantage":1.5,"old_logprobs":[-0.5]}`+"\n"), true)
	f.Fuzz(func(t *testing.T, b []byte, jsonl bool) {
		name := "x.parquet"
		if jsonl {
			name = "x.jsonl"
		}
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if jsonl {
			ReadLearnFile(p)
			return
		}
		ReadFile(p)
		ReadLearnFile(p)
	})
}
