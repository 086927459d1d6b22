package models

import "fmt"

// Qwen3_4BShape is a config of Qwen3-4B's shape (hidden 2560, 36 layers,
// 32 query / 8 key-value heads of 128, FFN 9728, vocab 151,936, tied
// embeddings; 4.02 G parameters), for benchmarks on random weights: the
// GPU anchors of issue 14 use it.
func Qwen3_4BShape() Config {
	c := Tiny()
	c.HiddenSize, c.IntermediateSize = 2560, 9728
	c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim = 36, 32, 8, 128
	c.VocabSize = 151936
	c.MaxPositionEmbeddings = 40960
	return c
}

// BenchShape returns a benchmark model by name: "small" (the preset) or
// "qwen3-4b" (Qwen3_4BShape).
func BenchShape(name string) (*Config, error) {
	switch name {
	case "small":
		c := Small()
		return &c, nil
	case "qwen3-4b":
		c := Qwen3_4BShape()
		return &c, nil
	}
	return nil, fmt.Errorf("benchmark model %q (want small or qwen3-4b)", name)
}
