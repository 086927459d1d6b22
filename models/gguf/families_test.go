package gguf

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"pz/models"
)

var tinyTok = TokenizerInfo{Tokens: []string{"a", "b", "Ġa", "<|endoftext|>"}, Types: []int32{1, 1, 1, 3}, Merges: []string{"Ġ a"}, EOS: 3, BOS: -1}

// TestWriteQwen3MoE checks the qwen3moe keys and that each layer's experts
// are stacked in expert order, innermost dimension first.
func TestWriteQwen3MoE(t *testing.T) {
	c := models.TinyMoE()
	ts := tinyTensors(&c)
	p := filepath.Join(t.TempDir(), "moe.gguf")
	if err := Write(p, &c, ts, tinyTok); err != nil {
		t.Fatal(err)
	}
	f, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"general.architecture":                "qwen3moe",
		"qwen3moe.expert_count":               uint32(8),
		"qwen3moe.expert_used_count":          uint32(2),
		"qwen3moe.expert_feed_forward_length": uint32(32),
		"qwen3moe.block_count":                uint32(2),
		"qwen3moe.attention.key_length":       uint32(16),
	} {
		if got, ok := f.Get(k); !ok || got != want {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	// Per layer: 2 norms, q/k/v/o, q/k norms, router, 3 stacked experts;
	// plus embedding, output norm and (untied) output.
	if n := len(f.Tensors); n != 3+2*12 {
		t.Errorf("%d tensors, want %d", n, 3+2*12)
	}
	for _, ck := range []struct {
		name string
		dims []uint64
		proj string
	}{{"blk.1.ffn_gate_exps.weight", []uint64{64, 32, 8}, "gate_proj"}, {"blk.1.ffn_up_exps.weight", []uint64{64, 32, 8}, "up_proj"},
		{"blk.0.ffn_down_exps.weight", []uint64{32, 64, 8}, "down_proj"}} {
		ti, ok := f.Tensor(ck.name)
		if !ok || !slices.Equal(ti.Dims, ck.dims) {
			t.Errorf("%s: %+v, want dims %v", ck.name, ti, ck.dims)
			continue
		}
		got, _ := f.Float32(ck.name)
		layer := int(ck.name[4] - '0')
		var want []float32
		for e := range 8 {
			want = append(want, ts[models.ExpertName(layer, e, ck.proj)]...)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: data is not the experts stacked in order", ck.name)
		}
	}
	if ti, ok := f.Tensor("blk.0.ffn_gate_inp.weight"); !ok || !slices.Equal(ti.Dims, []uint64{64, 8}) {
		t.Errorf("router: %+v", ti)
	}
}

// TestWriteSmolLM3 checks the smollm3 keys and the q/k row permutation
// (LlamaModel.permute): within each head, row 2i is HF row i and row 2i+1
// is HF row i + head_dim/2; other tensors are written as they are.
func TestWriteSmolLM3(t *testing.T) {
	c := models.TinySmolLM3()
	ts := tinyTensors(&c)
	p := filepath.Join(t.TempDir(), "smol.gguf")
	if err := Write(p, &c, ts, tinyTok); err != nil {
		t.Fatal(err)
	}
	f, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := f.Get("general.architecture"); a != "smollm3" {
		t.Errorf("architecture %v", a)
	}
	if _, ok := f.Tensor("blk.0.attn_q_norm.weight"); ok {
		t.Error("smollm3 has q norms")
	}
	H, D := c.HiddenSize, c.HeadDim
	for _, ck := range []struct {
		gguf, hf string
		heads    int
	}{{"blk.2.attn_q.weight", "model.layers.2.self_attn.q_proj.weight", c.NumAttentionHeads},
		{"blk.3.attn_k.weight", "model.layers.3.self_attn.k_proj.weight", c.NumKeyValueHeads}} {
		got, _ := f.Float32(ck.gguf)
		src := ts[ck.hf]
		for h := range ck.heads {
			for i := range D / 2 {
				for r, from := range map[int]int{2 * i: i, 2*i + 1: i + D/2} {
					if !slices.Equal(got[(h*D+r)*H:(h*D+r+1)*H], src[(h*D+from)*H:(h*D+from+1)*H]) {
						t.Fatalf("%s head %d row %d is not HF row %d", ck.gguf, h, r, from)
					}
				}
			}
		}
	}
	got, _ := f.Float32("blk.0.attn_v.weight")
	if !slices.Equal(got, ts["model.layers.0.self_attn.v_proj.weight"]) {
		t.Error("v_proj permuted")
	}
}

// TestWriteFamilyErrors: what llama.cpp's architectures cannot express is
// refused with the reason.
func TestWriteFamilyErrors(t *testing.T) {
	moe := func(f func(c *models.Config)) models.Config { c := models.TinyMoE(); f(&c); return c }
	smol := func(f func(c *models.Config)) models.Config { c := models.TinySmolLM3(); f(&c); return c }
	cases := []struct {
		cfg  models.Config
		want string
	}{
		{moe(func(c *models.Config) { c.MoE.MLPOnlyLayers = []int{1} }), "layer 1 is dense (mlp_only_layers [1], decoder_sparse_step 1)"},
		{moe(func(c *models.Config) { c.MoE.DecoderSparseStep = 2 }), "layer 0 is dense"},
		{moe(func(c *models.Config) { c.MoE.NormTopKProb = false }), "norm_topk_prob false"},
		{smol(func(c *models.Config) { c.NoPE.Layers = []int{1, 0, 1, 1} }), "NoPE layers [1] (no_rope_layers); llama.cpp's smollm3 skips RoPE on layers [3]"},
		{smol(func(c *models.Config) { c.ModelType = models.FamilyQwen2; c.Architectures = nil }), `model_type "qwen2" has no llama.cpp export`},
	}
	for _, tc := range cases {
		err := Write(filepath.Join(t.TempDir(), "x.gguf"), &tc.cfg, tinyTensors(&tc.cfg), tinyTok)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}
