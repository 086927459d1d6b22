package data

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadDocuments: the JSONL and plain-text corpus readers never panic,
// and every document they return has text within the size bound. Seeded
// with the first lines of the shipped sample corpus.
func FuzzReadDocuments(f *testing.F) {
	b, err := os.ReadFile("sample/heldout.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	f.Add(bytes.Join(lines[:3], nil), ".jsonl")
	f.Add(lines[0][:40], ".jsonl")
	f.Add([]byte("First paragraph.\n\nSecond one,\nwrapped.\n"), ".txt")
	f.Add([]byte("{\"text\": 5}\n{\"title\":\"x\"}\n"), ".jsonl")
	f.Fuzz(func(t *testing.T, in []byte, ext string) {
		if ext != ".jsonl" && ext != ".txt" {
			return
		}
		p := filepath.Join(t.TempDir(), "in"+ext)
		if err := os.WriteFile(p, in, 0o644); err != nil {
			t.Fatal(err)
		}
		const max = 1 << 12
		ReadDocuments(context.Background(), []string{p}, ReadOptions{MaxDocBytes: max}, func(d Document) error {
			if len(d.Text) > max {
				t.Fatalf("a %d-byte document passed the %d-byte bound", len(d.Text), max)
			}
			return nil
		})
	})
}
