package gguf

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"pz/models"
)

func tinyTensors(c *models.Config) map[string][]float32 {
	m := map[string][]float32{}
	for k, s := range c.TensorSpecs() {
		n := int64(1)
		for _, d := range s.Shape {
			n *= d
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(k) + float32(i)/float32(n)
		}
		m[s.Name] = v
	}
	return m
}

func TestWriteQwen3(t *testing.T) {
	c := models.Tiny()
	ts := tinyTensors(&c)
	tok := TokenizerInfo{Tokens: []string{"a", "b", "Ġa", "<|endoftext|>"}, Types: []int32{1, 1, 1, 3}, Merges: []string{"Ġ a"}, EOS: 3, BOS: -1}
	p := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := WriteQwen3(p, &c, ts, tok); err != nil {
		t.Fatal(err)
	}
	f, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	wantKV := map[string]any{
		"general.architecture":                   "qwen3",
		"qwen3.block_count":                      uint32(2),
		"qwen3.context_length":                   uint32(2048),
		"qwen3.embedding_length":                 uint32(64),
		"qwen3.feed_forward_length":              uint32(192),
		"qwen3.attention.head_count":             uint32(4),
		"qwen3.attention.head_count_kv":          uint32(2),
		"qwen3.attention.key_length":             uint32(16),
		"qwen3.attention.value_length":           uint32(16),
		"qwen3.attention.layer_norm_rms_epsilon": float32(1e-6),
		"qwen3.rope.freq_base":                   float32(1e6),
		"tokenizer.ggml.model":                   "gpt2",
		"tokenizer.ggml.pre":                     "qwen2",
		"tokenizer.ggml.eos_token_id":            uint32(3),
		"tokenizer.ggml.merges":                  []string{"Ġ a"},
	}
	for k, want := range wantKV {
		got, ok := f.Get(k)
		if !ok || !equalAny(got, want) {
			t.Errorf("%s = %v (%T), want %v (%T)", k, got, got, want, want)
		}
	}
	if _, ok := f.Get("tokenizer.ggml.bos_token_id"); ok {
		t.Error("bos_token_id written for BOS -1")
	}
	toks, _ := f.Get("tokenizer.ggml.tokens")
	types, _ := f.Get("tokenizer.ggml.token_type")
	tl, tt := toks.([]string), types.([]int32)
	if len(tl) != 2048 || tl[3] != "<|endoftext|>" || tl[4] != "[PAD4]" || tt[3] != 3 || tt[2047] != 5 || len(tt) != 2048 {
		t.Errorf("tokens %d %q %q types %d %d", len(tl), tl[3], tl[4], tt[3], tt[2047])
	}
	// 1 embedding + 2*11 per layer + output_norm; tied: no output.weight.
	if len(f.Tensors) != 24 {
		t.Errorf("%d tensors, want 24", len(f.Tensors))
	}
	if _, ok := f.Tensor("output.weight"); ok {
		t.Error("tied model has output.weight")
	}
	checks := []struct {
		gguf, hf string
		dims     []uint64
	}{
		{"token_embd.weight", "model.embed_tokens.weight", []uint64{64, 2048}},
		{"blk.1.attn_k.weight", "model.layers.1.self_attn.k_proj.weight", []uint64{64, 32}},
		{"blk.0.attn_q_norm.weight", "model.layers.0.self_attn.q_norm.weight", []uint64{16}},
		{"blk.0.attn_output.weight", "model.layers.0.self_attn.o_proj.weight", []uint64{64, 64}},
		{"blk.1.ffn_down.weight", "model.layers.1.mlp.down_proj.weight", []uint64{192, 64}},
		{"blk.0.ffn_norm.weight", "model.layers.0.post_attention_layernorm.weight", []uint64{64}},
		{"output_norm.weight", "model.norm.weight", []uint64{64}},
	}
	for _, ck := range checks {
		ti, ok := f.Tensor(ck.gguf)
		if !ok || !slices.Equal(ti.Dims, ck.dims) || ti.Type != F32 {
			t.Errorf("%s: %+v, want dims %v F32", ck.gguf, ti, ck.dims)
			continue
		}
		got, _ := f.Float32(ck.gguf)
		if !slices.Equal(got, ts[ck.hf]) {
			t.Errorf("%s: data differs from %s", ck.gguf, ck.hf)
		}
	}

	untied := models.Tiny()
	untied.TieWordEmbeddings = false
	if err := WriteQwen3(p, &untied, tinyTensors(&untied), tok); err != nil {
		t.Fatal(err)
	}
	f, _ = Read(p)
	if ti, ok := f.Tensor("output.weight"); !ok || !slices.Equal(ti.Dims, []uint64{64, 2048}) {
		t.Errorf("untied output.weight %+v", ti)
	}
}

func equalAny(a, b any) bool {
	switch x := a.(type) {
	case []string:
		return slices.Equal(x, b.([]string))
	}
	return a == b
}

func TestWriteQwen3Errors(t *testing.T) {
	c := models.Tiny()
	tok := TokenizerInfo{Tokens: []string{"a"}, EOS: 0, BOS: -1}
	ts := tinyTensors(&c)
	delete(ts, "model.layers.1.self_attn.q_norm.weight")
	delete(ts, "model.norm.weight")
	ts["lm_head.weight"] = nil
	ts["model.layers.0.mlp.up_proj.weight"] = ts["model.layers.0.mlp.up_proj.weight"][:5]
	err := WriteQwen3(filepath.Join(t.TempDir(), "x.gguf"), &c, ts, tok)
	for _, want := range []string{"missing model.layers.1.self_attn.q_norm.weight [16]", "missing model.norm.weight [64]", "unexpected lm_head.weight", "model.layers.0.mlp.up_proj.weight: 5 values"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	ll := models.Tiny()
	ll.ModelType, ll.Architectures = models.FamilyLlama, nil
	if err := WriteQwen3(filepath.Join(t.TempDir(), "x.gguf"), &ll, tinyTensors(&ll), tok); err == nil || !strings.Contains(err.Error(), `model_type "llama"`) {
		t.Errorf("llama: %v", err)
	}
	good := tinyTensors(&c)
	if err := WriteQwen3(filepath.Join(t.TempDir(), "x.gguf"), &c, good, TokenizerInfo{Tokens: []string{"a"}, EOS: 5000}); err == nil || !strings.Contains(err.Error(), "eos id 5000") {
		t.Errorf("eos: %v", err)
	}
	if _, err := Qwen3TensorName("model.layers.0.self_attn.rotary_emb.inv_freq"); err == nil {
		t.Error("unknown name mapped")
	}
}

// TestDumpTinyQwen3 writes the untied tiny model to $PZ_GGUF_DUMP for the
// llama.cpp cross-check in testdata/llamacpp (skipped when unset).
func TestDumpTinyQwen3(t *testing.T) {
	p := os.Getenv("PZ_GGUF_DUMP")
	if p == "" {
		t.Skip("PZ_GGUF_DUMP not set")
	}
	c := models.Tiny()
	c.TieWordEmbeddings = false
	tok := TokenizerInfo{Tokens: []string{"a", "b", "Ġa", "<|endoftext|>"}, Types: []int32{1, 1, 1, 3}, Merges: []string{"Ġ a"}, EOS: 3, BOS: 0}
	if err := WriteQwen3(p, &c, tinyTensors(&c), tok); err != nil {
		t.Fatal(err)
	}
}
