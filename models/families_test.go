package models

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const moeFixture, smolFixture = "qwen3-30b-a3b.json", "smollm3-3b.json"

// TestLoadFamilyConfigs reads the Qwen3-30B-A3B and SmolLM3-3B configs
// (their round trip is in TestConfigRoundTrip) and checks the parsed fields and the published parameter counts (which only
// come out right with every expert, the router, the tied embedding and the
// absent q/k norms counted as the architectures say).
func TestLoadFamilyConfigs(t *testing.T) {
	moe, err := LoadConfig(filepath.Join("testdata/config", moeFixture))
	if err != nil {
		t.Fatal(err)
	}
	wantMoE := MoE{NumExperts: 128, NumExpertsPerTok: 8, MoEIntermediateSize: 768, NormTopKProb: true,
		DecoderSparseStep: 1, MLPOnlyLayers: []int{}, RouterAuxLossCoef: 0.001, expertsKey: "num_experts"}
	if !reflect.DeepEqual(moe.MoE, wantMoE) {
		t.Errorf("MoE = %+v, want %+v", moe.MoE, wantMoE)
	}
	if !moe.QKNorm() || moe.QKVBias() || !moe.SparseLayer(0) || !moe.SparseLayer(47) || moe.HeadDim != 128 {
		t.Errorf("qk norm %v, qkv bias %v, sparse 0/47 %v/%v, head_dim %d", moe.QKNorm(), moe.QKVBias(), moe.SparseLayer(0), moe.SparseLayer(47), moe.HeadDim)
	}
	if n := moe.ParamCount(); n != 30_532_122_624 {
		t.Errorf("Qwen3-30B-A3B ParamCount = %d, want 30,532,122,624", n)
	}
	smol, err := LoadConfig(filepath.Join("testdata/config", smolFixture))
	if err != nil {
		t.Fatal(err)
	}
	var nope []int
	for i := range smol.NumHiddenLayers {
		if !smol.UseRoPE(i) {
			nope = append(nope, i)
		}
	}
	if want := []int{3, 7, 11, 15, 19, 23, 27, 31, 35}; !slices.Equal(nope, want) {
		t.Errorf("SmolLM3 NoPE layers %v, want %v", nope, want)
	}
	if smol.QKNorm() || smol.HeadDim != 128 || !smol.TieWordEmbeddings || smol.IsMoE() {
		t.Errorf("qk norm %v head_dim %d tied %v moe %v", smol.QKNorm(), smol.HeadDim, smol.TieWordEmbeddings, smol.IsMoE())
	}
	if n := smol.ParamCount(); n != 3_075_098_624 {
		t.Errorf("SmolLM3-3B ParamCount = %d, want 3,075,098,624", n)
	}
}

// writeBack writes c as config.json and returns the object written and
// the config parsed back from it.
func writeBack(t *testing.T, c *Config) (map[string]any, *Config) {
	t.Helper()
	dir := t.TempDir()
	if err := WriteConfig(dir, c); err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal(out, &b); err != nil {
		t.Fatal(err)
	}
	c2, err := ParseConfig(out)
	if err != nil {
		t.Fatalf("written config: %v", err)
	}
	return b, c2
}

// TestFamilySpellings: the spellings checkpoints carry (the hub's and
// transformers 5's) parse to the same config, and the expert count is
// written back under the key it was read from.
func TestFamilySpellings(t *testing.T) {
	base, err := ParseConfig(edit(t, moeFixture, nil))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		kv      map[string]any
		written string // expert-count key written back
	}{
		{"num_local_experts", map[string]any{"num_experts": nil, "num_local_experts": 128}, "num_local_experts"},
		{"both expert keys", map[string]any{"num_local_experts": 128}, "num_experts"},
		{"rope_parameters", map[string]any{"rope_theta": nil, "rope_scaling": nil, "rope_parameters": map[string]any{"rope_type": "default", "rope_theta": 1e6}}, "num_experts"},
		{"dtype", map[string]any{"torch_dtype": nil, "dtype": "bfloat16"}, "num_experts"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := edit(t, moeFixture, tc.kv)
			c, err := ParseConfig(src)
			if err != nil {
				t.Fatal(err)
			}
			if c.MoE.NumExperts != base.MoE.NumExperts || c.RopeTheta != base.RopeTheta || c.TorchDType != base.TorchDType || c.RopeScaling != nil {
				t.Errorf("experts %d theta %g dtype %q scaling %v, want %d %g %q nil", c.MoE.NumExperts, c.RopeTheta, c.TorchDType, c.RopeScaling,
					base.MoE.NumExperts, base.RopeTheta, base.TorchDType)
			}
			if c.ParamCount() != base.ParamCount() {
				t.Errorf("ParamCount %d, want %d", c.ParamCount(), base.ParamCount())
			}
			b, c2 := writeBack(t, c)
			if b[tc.written] != float64(128) {
				t.Errorf("written %s = %v, want 128", tc.written, b[tc.written])
			}
			if !reflect.DeepEqual(c2.MoE, c.MoE) || c2.RopeTheta != c.RopeTheta || c2.TorchDType != c.TorchDType {
				t.Errorf("written config parses to %+v θ %g %q, want %+v θ %g %q", c2.MoE, c2.RopeTheta, c2.TorchDType, c.MoE, c.RopeTheta, c.TorchDType)
			}
		})
	}
}

// TestSparseLayers checks which layers get experts under mlp_only_layers
// and decoder_sparse_step (transformers' Qwen3MoeDecoderLayer rule).
func TestSparseLayers(t *testing.T) {
	cases := []struct {
		kv   map[string]any
		want []int
	}{
		{map[string]any{"num_hidden_layers": 6}, []int{0, 1, 2, 3, 4, 5}},
		{map[string]any{"num_hidden_layers": 6, "decoder_sparse_step": 2}, []int{1, 3, 5}},
		{map[string]any{"num_hidden_layers": 6, "mlp_only_layers": []int{0, 4}}, []int{1, 2, 3, 5}},
		{map[string]any{"num_hidden_layers": 6, "decoder_sparse_step": 3, "mlp_only_layers": []int{2}}, []int{5}},
		{map[string]any{"num_hidden_layers": 6, "decoder_sparse_step": nil, "mlp_only_layers": nil}, []int{0, 1, 2, 3, 4, 5}},
	}
	for _, tc := range cases {
		c, err := ParseConfig(edit(t, moeFixture, tc.kv))
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		dense := 0
		for i := range c.NumHiddenLayers {
			if c.SparseLayer(i) {
				got = append(got, i)
			} else {
				dense++
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%v: sparse layers %v, want %v", tc.kv, got, tc.want)
		}
		// A dense layer holds mlp.gate_proj; a sparse one the router and experts.
		var gp, routers int
		for _, s := range c.TensorSpecs() {
			if strings.HasSuffix(s.Name, ".mlp.gate_proj.weight") {
				gp++
			}
			if strings.HasSuffix(s.Name, ".mlp.gate.weight") {
				routers++
			}
		}
		if gp != dense || routers != len(tc.want) {
			t.Errorf("%v: %d dense gate_proj, %d routers; want %d, %d", tc.kv, gp, routers, dense, len(tc.want))
		}
	}
}

// TestUseRoPE checks SmolLM3's NoPE layers from either key.
func TestUseRoPE(t *testing.T) {
	cases := []struct {
		kv   map[string]any
		want []int // NoPE layers
	}{
		{map[string]any{"num_hidden_layers": 8, "no_rope_layers": nil}, []int{3, 7}},
		{map[string]any{"num_hidden_layers": 8, "no_rope_layers": nil, "no_rope_layer_interval": 2}, []int{1, 3, 5, 7}},
		{map[string]any{"num_hidden_layers": 8, "no_rope_layers": nil, "no_rope_layer_interval": nil}, []int{3, 7}},
		{map[string]any{"num_hidden_layers": 4, "no_rope_layers": []int{0, 1, 1, 0}}, []int{0, 3}},
		{map[string]any{"num_hidden_layers": 4, "no_rope_layers": []int{1, 1, 1, 1}, "no_rope_layer_interval": 2}, nil},
	}
	for _, tc := range cases {
		c, err := ParseConfig(edit(t, smolFixture, tc.kv))
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for i := range c.NumHiddenLayers {
			if !c.UseRoPE(i) {
				got = append(got, i)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%v: NoPE layers %v, want %v", tc.kv, got, tc.want)
		}
	}
	// Other families always rotate.
	c := Tiny()
	if !c.UseRoPE(0) || !c.UseRoPE(1) {
		t.Error("qwen3 layer without RoPE")
	}
	// tie_word_embeddings defaults to true for SmolLM3 only.
	s, err := ParseConfig(edit(t, smolFixture, map[string]any{"tie_word_embeddings": nil}))
	if err != nil || !s.TieWordEmbeddings {
		t.Errorf("smollm3 without tie_word_embeddings: tied %v, err %v", s != nil && s.TieWordEmbeddings, err)
	}
}

// TestFamilyErrors: unknown MoE variants and bad family keys are one error
// naming the field.
func TestFamilyErrors(t *testing.T) {
	cases := []struct {
		name    string
		fixture string
		kv      map[string]any
		want    string
		unsupp  bool
	}{
		{"shared experts", moeFixture, map[string]any{"shared_expert_intermediate_size": 512}, "field shared_expert_intermediate_size (512): shared experts is not supported yet", true},
		{"sigmoid router", moeFixture, map[string]any{"scoring_func": "sigmoid"}, `field scoring_func ("sigmoid"): a non-softmax router`, true},
		{"grouped routing", moeFixture, map[string]any{"n_group": 8}, "field n_group (8): grouped top-k routing", true},
		{"zero shared experts ok, but top-k too big", moeFixture, map[string]any{"n_shared_experts": 0, "num_experts_per_tok": 129}, "num_experts_per_tok (129) must be in [1, num_experts 128]", false},
		{"no experts", moeFixture, map[string]any{"num_experts": 0}, "num_experts (0) must be positive", false},
		{"no local experts", moeFixture, map[string]any{"num_experts": nil, "num_local_experts": -1}, "num_local_experts (-1) must be positive", false},
		{"expert keys disagree", moeFixture, map[string]any{"num_local_experts": 64}, "fields num_experts (128) and num_local_experts (64) disagree", false},
		{"expert width", moeFixture, map[string]any{"moe_intermediate_size": 0}, "moe_intermediate_size (0) must be positive", false},
		{"sparse step", moeFixture, map[string]any{"decoder_sparse_step": 0}, "decoder_sparse_step (0) must be positive", false},
		{"dense layer out of range", moeFixture, map[string]any{"mlp_only_layers": []int{48}}, "mlp_only_layers: layer 48 is not in [0, num_hidden_layers 48)", false},
		{"bad mlp_only_layers", moeFixture, map[string]any{"mlp_only_layers": "all"}, "field mlp_only_layers", false},
		{"arch", moeFixture, map[string]any{"architectures": []string{"Qwen3ForCausalLM"}}, `architectures: "Qwen3ForCausalLM" does not match model_type "qwen3_moe" (want Qwen3MoeForCausalLM)`, false},
		{"no_rope_layers length", smolFixture, map[string]any{"no_rope_layers": []int{1, 0}}, "no_rope_layers has 2 entries, want num_hidden_layers 36", false},
		{"no_rope_layers value", smolFixture, map[string]any{"num_hidden_layers": 2, "no_rope_layers": []int{1, 2}}, "no_rope_layers[1] is 2, want 1 (RoPE) or 0 (none)", false},
		{"interval", smolFixture, map[string]any{"no_rope_layers": nil, "no_rope_layer_interval": 0}, "no_rope_layer_interval (0) must be positive", false},
		{"smollm3 sliding window", smolFixture, map[string]any{"use_sliding_window": true}, "use_sliding_window true", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig(edit(t, tc.fixture, tc.kv))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
			if got := errors.Is(err, ErrUnsupported); got != tc.unsupp {
				t.Errorf("errors.Is(ErrUnsupported) = %v, want %v (%v)", got, tc.unsupp, err)
			}
		})
	}
}

// TestCheckExperts: an expert count disagreeing with the checkpoint's
// tensors, and transformers' fused expert layout, are one error naming the
// field and a tensor.
func TestCheckExperts(t *testing.T) {
	c, err := ParseConfig(edit(t, moeFixture, map[string]any{"num_hidden_layers": 2, "num_experts": 4, "num_experts_per_tok": 2}))
	if err != nil {
		t.Fatal(err)
	}
	names := func(experts int) []string {
		var n []string
		for i := range 2 {
			for e := range experts {
				n = append(n, ExpertName(i, e, "gate_proj"), ExpertName(i, e, "up_proj"), ExpertName(i, e, "down_proj"))
			}
		}
		return n
	}
	cases := []struct {
		names []string
		want  string // "" for no error
	}{
		{names(4), ""},
		{names(8), "num_experts 4 (config) disagrees with the tensors: layer 0 has expert 7 (model.layers.0.mlp.experts.7."},
		{names(3), "num_experts 4 (config) disagrees with the tensors: layer 0 has experts 0..2 only (model.layers.0.mlp.experts.3.gate_proj.weight is missing)"},
		{[]string{"model.layers.0.mlp.experts.gate_up_proj", "model.layers.0.mlp.experts.down_proj"}, "tensor model.layers.0.mlp.experts.gate_up_proj: fused expert layout is not supported yet"},
	}
	for i, tc := range cases {
		err := c.CheckExperts(tc.names)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("case %d: %v", i, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("case %d: error %v, want %q", i, err, tc.want)
		}
	}
}
