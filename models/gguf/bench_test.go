package gguf

import (
	"fmt"
	"path/filepath"
	"testing"

	"pz/models"
)

// BenchmarkWriteQwen3Small writes the `small` preset (41.95 M parameters,
// ~168 MB of F32) with a 32,768-token vocabulary; MB/s counts tensor bytes.
func BenchmarkWriteQwen3Small(b *testing.B) {
	c := models.Small()
	ts := tinyTensors(&c)
	var total int64
	for _, v := range ts {
		total += 4 * int64(len(v))
	}
	tok := TokenizerInfo{EOS: 0, BOS: -1}
	for i := range c.VocabSize {
		tok.Tokens = append(tok.Tokens, fmt.Sprintf("t%d", i))
	}
	p := filepath.Join(b.TempDir(), "small.gguf")
	b.SetBytes(total)
	for b.Loop() {
		if err := WriteQwen3(p, &c, ts, tok); err != nil {
			b.Fatal(err)
		}
	}
}
