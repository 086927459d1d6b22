package models

import "fmt"

// Tiny is the test and demo preset: a 2-layer Qwen3 that runs in
// milliseconds on a CPU. VocabSize is the shipped tokenizer's size; callers
// that train their own tokenizer set it from the tokenizer.
func Tiny() Config {
	return Config{
		Architectures:         []string{"Qwen3ForCausalLM"},
		ModelType:             FamilyQwen3,
		HiddenSize:            64,
		IntermediateSize:      192,
		NumHiddenLayers:       2,
		NumAttentionHeads:     4,
		NumKeyValueHeads:      2,
		HeadDim:               16,
		RMSNormEps:            1e-6,
		RopeTheta:             1e6,
		VocabSize:             2048,
		MaxPositionEmbeddings: 2048,
		TieWordEmbeddings:     true,
		TorchDType:            "float32",
		HiddenAct:             "silu",
	}
}

// Small is the benchmark preset of design/PERF-ANCHORS.md: hidden 512,
// FFN 1536, 8 layers, 8 query / 4 key-value heads of 64, vocab 32,768, tied
// embeddings; 41,952,768 parameters.
func Small() Config {
	c := Tiny()
	c.HiddenSize = 512
	c.IntermediateSize = 1536
	c.NumHiddenLayers = 8
	c.NumAttentionHeads = 8
	c.NumKeyValueHeads = 4
	c.HeadDim = 64
	c.VocabSize = 32768
	return c
}

// PresetNames lists the preset names.
func PresetNames() []string { return []string{"small", "tiny", "tiny-moe", "tiny-smollm3"} }

// Preset returns a fresh copy of the named preset (see PresetNames).
func Preset(name string) (*Config, error) {
	var c Config
	switch name {
	case "tiny":
		c = Tiny()
	case "small":
		c = Small()
	case "tiny-moe":
		c = TinyMoE()
	case "tiny-smollm3":
		c = TinySmolLM3()
	default:
		return nil, fmt.Errorf("model preset %q: unknown (want one of %v)", name, PresetNames())
	}
	return &c, nil
}
