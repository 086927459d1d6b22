package gguf

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: the reader never panics on any bytes, and what it accepts it
// accepts consistently (a second parse of the same bytes agrees). Seeded
// with a real file from the writer (metadata of every kind, two tensors).
func FuzzParse(f *testing.F) {
	w := NewWriter()
	w.AddString("general.architecture", "qwen3")
	w.AddUint32("qwen3.block_count", 2)
	w.AddFloat32("qwen3.rope.freq_base", 1e6)
	w.AddBool("b", true)
	w.AddStrings("tokenizer.ggml.tokens", []string{"a", "b", "<|endoftext|>"})
	w.AddInt32s("ids", []int32{1, -2})
	w.AddF32("t.weight", []int64{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	w.AddF16("u.weight", []int64{4}, []float32{1, 0.5, -2, 0})
	p := filepath.Join(f.TempDir(), "seed.gguf")
	if err := w.WriteFile(p); err != nil {
		f.Fatal(err)
	}
	seed, err := os.ReadFile(p)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add([]byte("GGUF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := parse(b)
		g2, err2 := parse(b)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("two parses disagree: %v, %v", err, err2)
		}
		if err == nil && len(g.Tensors) != len(g2.Tensors) {
			t.Fatal("two parses disagree on the tensors")
		}
	})
}
