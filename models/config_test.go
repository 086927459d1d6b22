package models

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadConfigQwen3(t *testing.T) {
	c, err := LoadConfig("testdata/config/qwen3-0.6b.json")
	if err != nil {
		t.Fatal(err)
	}
	got := []int{c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim, c.VocabSize, c.MaxPositionEmbeddings}
	want := []int{1024, 3072, 28, 16, 8, 128, 151936, 40960}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sizes = %v, want %v", got, want)
	}
	if c.RMSNormEps != 1e-6 || c.RopeTheta != 1e6 || c.RopeScaling != nil || !c.TieWordEmbeddings || c.TorchDType != "bfloat16" {
		t.Errorf("eps %g theta %g scaling %v tie %v dtype %q", c.RMSNormEps, c.RopeTheta, c.RopeScaling, c.TieWordEmbeddings, c.TorchDType)
	}
	if c.BOSTokenID == nil || *c.BOSTokenID != 151643 || !reflect.DeepEqual(c.EOSTokenIDs, []int{151645}) {
		t.Errorf("bos %v eos %v", c.BOSTokenID, c.EOSTokenIDs)
	}
	for _, k := range []string{"attention_dropout", "initializer_range", "max_window_layers", "use_cache"} {
		if _, ok := c.Extra[k]; !ok {
			t.Errorf("extra key %q not kept", k)
		}
	}
	if _, ok := c.Extra["hidden_size"]; ok {
		t.Error("known key hidden_size leaked into Extra")
	}
	// Qwen3-0.6B has 596,049,920 parameters with tied embeddings
	// (151936*1024 + 28*(1024*2048 + 2*1024*1024 + 2048*1024 + 2*128 + 2*1024 + 3*1024*3072) + 1024).
	if n := c.ParamCount(); n != 596049920 {
		t.Errorf("ParamCount = %d, want 596049920", n)
	}
}

// TestConfigRoundTrip checks that every key of the original config.json,
// known or not, comes back with the same value after WriteConfig.
func TestConfigRoundTrip(t *testing.T) {
	for _, name := range []string{"qwen3-0.6b.json", "qwen2.5-0.5b.json", moeFixture, smolFixture} {
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata/config", name))
			if err != nil {
				t.Fatal(err)
			}
			c, err := ParseConfig(src)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := WriteConfig(dir, c); err != nil {
				t.Fatal(err)
			}
			out, err := os.ReadFile(filepath.Join(dir, ConfigFile))
			if err != nil {
				t.Fatal(err)
			}
			var a, b map[string]any
			if err := json.Unmarshal(src, &a); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(out, &b); err != nil {
				t.Fatal(err)
			}
			for k, v := range a {
				if !reflect.DeepEqual(b[k], v) {
					t.Errorf("key %s: wrote %v, want %v", k, b[k], v)
				}
			}
			for _, k := range []string{"architectures", "model_type", "head_dim", "num_key_value_heads", "transformers_version", "torch_dtype"} {
				if _, ok := b[k]; !ok {
					t.Errorf("written config lacks %s", k)
				}
			}
			c2, err := LoadConfig(dir)
			if err != nil {
				t.Fatal(err)
			}
			c.derivedHeadDim = false // written explicitly now
			if !reflect.DeepEqual(c, c2) {
				t.Errorf("reloaded config differs:\n%+v\n%+v", c, c2)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Errorf("temp files left behind: %v", ents)
			}
		})
	}
}

// edit returns the qwen3 fixture with keys replaced (nil deletes a key).
func edit(t *testing.T, fixture string, kv map[string]any) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/config", fixture))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range kv {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestConfigErrors(t *testing.T) {
	const q3, llama = "qwen3-0.6b.json", "llama-3.2-1b.json"
	noRope := map[string]any{"rope_scaling": nil}
	with := func(base map[string]any, kv map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range kv {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name    string
		fixture string
		kv      map[string]any
		want    []string
		unsupp  bool
	}{
		{"hidden not divisible", llama, with(noRope, map[string]any{"hidden_size": 100, "num_attention_heads": 3, "num_key_value_heads": 3, "head_dim": nil}),
			[]string{"hidden_size (100) must be divisible by num_attention_heads (3)"}, false},
		{"kv heads", q3, map[string]any{"num_attention_heads": 8, "num_key_value_heads": 3},
			[]string{"num_attention_heads (8) must be a multiple of num_key_value_heads (3)"}, false},
		{"zero layers", q3, map[string]any{"num_hidden_layers": 0}, []string{"num_hidden_layers (0) must be positive"}, false},
		{"missing vocab", q3, map[string]any{"vocab_size": nil}, []string{"vocab_size (0) must be positive"}, false},
		{"other moe", q3, map[string]any{"model_type": "qwen2_moe", "architectures": nil}, []string{`model_type "qwen2_moe" is a mixture of experts (shared experts)`, "not supported yet"}, true},
		{"arch mismatch", q3, map[string]any{"architectures": []string{"LlamaForCausalLM"}}, []string{`architectures: "LlamaForCausalLM" does not match model_type "qwen3"`}, false},
		{"llama3 rope", llama, nil, []string{`rope_scaling: rope_type "llama3"`, "not supported yet"}, true},
		{"dynamic rope", q3, map[string]any{"rope_scaling": map[string]any{"type": "dynamic", "factor": 2}}, []string{`rope_type "dynamic"`}, true},
		{"rope factor", q3, map[string]any{"rope_scaling": map[string]any{"rope_type": "linear", "factor": 0.5}}, []string{"rope_scaling.factor (0.5) must be at least 1"}, false},
		{"dtype", q3, map[string]any{"torch_dtype": "int8"}, []string{`torch_dtype "int8" must be float32, bfloat16 or float16`}, false},
		{"sliding window", q3, map[string]any{"use_sliding_window": true, "sliding_window": 4096}, []string{"use_sliding_window true (sliding_window 4096)", "not supported yet"}, true},
		{"eos out of vocab", q3, map[string]any{"eos_token_id": []int{1, 200000}}, []string{"eos_token_id (200000) must be in [0, vocab_size 151936)"}, false},
		{"eos string", q3, map[string]any{"eos_token_id": "x"}, []string{"field eos_token_id: want an int or a list of ints"}, false},
		{"wrong type", q3, map[string]any{"hidden_size": "big"}, []string{"field hidden_size"}, false},
		{"eps", q3, map[string]any{"rms_norm_eps": 0}, []string{"rms_norm_eps (0) must be positive"}, false},
		{"odd head_dim", q3, map[string]any{"head_dim": 127}, []string{"head_dim (127) must be even"}, false},
		{"mlp bias", llama, with(noRope, map[string]any{"mlp_bias": true}), []string{"mlp_bias true is not supported yet"}, true},
		{"act", q3, map[string]any{"hidden_act": "gelu"}, []string{`hidden_act "gelu"`}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig(edit(t, tc.fixture, tc.kv))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if got := errors.Is(err, ErrUnsupported); got != tc.unsupp {
				t.Errorf("errors.Is(ErrUnsupported) = %v, want %v (%v)", got, tc.unsupp, err)
			}
		})
	}
}

func TestLoadConfigNamesFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, ConfigFile)
	if err := os.WriteFile(p, []byte(`{"model_type": "qwen3", `), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(dir)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "invalid JSON") {
		t.Errorf("error %v should name %s and invalid JSON", err, p)
	}
	if _, err := LoadConfig(filepath.Join(dir, "nope")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestConfigDefaults(t *testing.T) {
	cases := []struct {
		name         string
		fixture      string
		kv           map[string]any
		headDim, kv_ int
		eps, theta   float64
	}{
		// transformers: LlamaConfig/Qwen2Config derive head_dim, Qwen3Config defaults it to 128.
		{"llama derives head_dim", "llama-3.2-1b.json", map[string]any{"rope_scaling": nil, "head_dim": nil, "num_key_value_heads": nil, "rms_norm_eps": nil, "rope_theta": nil}, 64, 32, 1e-6, 10000},
		{"qwen2 derives head_dim", "qwen2.5-0.5b.json", nil, 64, 2, 1e-6, 1e6},
		{"qwen3 head_dim 128", "qwen3-0.6b.json", map[string]any{"head_dim": nil, "hidden_size": 512}, 128, 8, 1e-6, 1e6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig(edit(t, tc.fixture, tc.kv))
			if err != nil {
				t.Fatal(err)
			}
			if c.HeadDim != tc.headDim || c.NumKeyValueHeads != tc.kv_ || c.RMSNormEps != tc.eps || c.RopeTheta != tc.theta {
				t.Errorf("head_dim %d kv %d eps %g theta %g, want %d %d %g %g", c.HeadDim, c.NumKeyValueHeads, c.RMSNormEps, c.RopeTheta, tc.headDim, tc.kv_, tc.eps, tc.theta)
			}
		})
	}
}

func TestRopeScaling(t *testing.T) {
	cases := []struct {
		name string
		rs   any
		want *RopeScaling
	}{
		{"default", map[string]any{"rope_type": "default"}, nil},
		{"legacy type key", map[string]any{"type": "linear", "factor": 4}, &RopeScaling{Type: "linear", Factor: 4}},
		{"yarn", map[string]any{"rope_type": "yarn", "factor": 4, "original_max_position_embeddings": 32768, "beta_fast": 32, "extra": 1},
			&RopeScaling{Type: "yarn", Factor: 4, OriginalMaxPositionEmbeddings: 32768, BetaFast: 32, Extra: map[string]json.RawMessage{"extra": json.RawMessage("1")}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig(edit(t, "qwen3-0.6b.json", map[string]any{"rope_scaling": tc.rs}))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.RopeScaling, tc.want) {
				t.Errorf("got %+v, want %+v", c.RopeScaling, tc.want)
			}
			b, _ := json.Marshal(c)
			c2, err := ParseConfig(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c2.RopeScaling, tc.want) {
				t.Errorf("after round trip %+v, want %+v", c2.RopeScaling, tc.want)
			}
		})
	}
	// transformers v5 spelling: rope_parameters carries rope_theta.
	c, err := ParseConfig(edit(t, "qwen3-0.6b.json", map[string]any{"rope_theta": nil, "rope_scaling": nil, "rope_parameters": map[string]any{"rope_type": "default", "rope_theta": 5e6}}))
	if err != nil {
		t.Fatal(err)
	}
	if c.RopeTheta != 5e6 || c.RopeScaling != nil {
		t.Errorf("rope_parameters: theta %g scaling %v", c.RopeTheta, c.RopeScaling)
	}
}

func TestEOSList(t *testing.T) {
	c, err := ParseConfig(edit(t, "llama-3.2-1b.json", map[string]any{"rope_scaling": nil}))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.EOSTokenIDs, []int{128001, 128008, 128009}) {
		t.Errorf("eos = %v", c.EOSTokenIDs)
	}
	b, _ := json.Marshal(c)
	var m map[string]any
	json.Unmarshal(b, &m)
	if !reflect.DeepEqual(m["eos_token_id"], []any{128001.0, 128008.0, 128009.0}) {
		t.Errorf("written eos_token_id = %v", m["eos_token_id"])
	}
}

func TestTensorSpecs(t *testing.T) {
	specs := func(c Config) map[string][]int64 {
		m := map[string][]int64{}
		for _, s := range c.TensorSpecs() {
			if _, dup := m[s.Name]; dup {
				t.Errorf("duplicate %s", s.Name)
			}
			m[s.Name] = s.Shape
		}
		return m
	}
	tiny := Tiny()
	m := specs(tiny)
	want := map[string][]int64{
		"model.embed_tokens.weight":                      {2048, 64},
		"model.layers.1.self_attn.q_proj.weight":         {64, 64},
		"model.layers.1.self_attn.k_proj.weight":         {32, 64},
		"model.layers.1.self_attn.v_proj.weight":         {32, 64},
		"model.layers.1.self_attn.o_proj.weight":         {64, 64},
		"model.layers.1.self_attn.q_norm.weight":         {16},
		"model.layers.1.self_attn.k_norm.weight":         {16},
		"model.layers.0.input_layernorm.weight":          {64},
		"model.layers.0.post_attention_layernorm.weight": {64},
		"model.layers.0.mlp.gate_proj.weight":            {192, 64},
		"model.layers.0.mlp.up_proj.weight":              {192, 64},
		"model.layers.0.mlp.down_proj.weight":            {64, 192},
		"model.norm.weight":                              {64},
	}
	for k, v := range want {
		if !reflect.DeepEqual(m[k], v) {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	// 1 embedding + 2 layers * 11 + final norm; tied: no lm_head.
	if len(m) != 24 {
		t.Errorf("tiny has %d tensors, want 24", len(m))
	}
	if _, ok := m["lm_head.weight"]; ok {
		t.Error("tied tiny lists lm_head.weight")
	}

	untied := Tiny()
	untied.TieWordEmbeddings = false
	if s := specs(untied)["lm_head.weight"]; !reflect.DeepEqual(s, []int64{2048, 64}) {
		t.Errorf("untied lm_head.weight = %v", s)
	}

	q2 := Tiny()
	q2.ModelType, q2.Architectures = FamilyQwen2, []string{"Qwen2ForCausalLM"}
	m = specs(q2)
	if !reflect.DeepEqual(m["model.layers.0.self_attn.k_proj.bias"], []int64{32}) || m["model.layers.0.self_attn.q_proj.bias"] == nil {
		t.Error("qwen2 lacks q/k/v biases")
	}
	if m["model.layers.0.self_attn.o_proj.bias"] != nil || m["model.layers.0.self_attn.q_norm.weight"] != nil {
		t.Error("qwen2 lists o_proj.bias or q_norm")
	}

	ll := Tiny()
	ll.ModelType, ll.Architectures = FamilyLlama, []string{"LlamaForCausalLM"}
	if len(specs(ll)) != 1+2*9+1 {
		t.Errorf("llama has %d tensors, want 20", len(specs(ll)))
	}
	ll.AttentionBias = true
	if specs(ll)["model.layers.0.self_attn.o_proj.bias"] == nil {
		t.Error("llama attention_bias lacks o_proj.bias")
	}
}

func TestPresets(t *testing.T) {
	for _, name := range PresetNames() {
		c, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		// A preset written and reloaded is the same config.
		dir := t.TempDir()
		if err := WriteConfig(dir, c); err != nil {
			t.Fatal(err)
		}
		c2, err := LoadConfig(dir)
		if err != nil {
			t.Fatal(err)
		}
		c2.TransformersVersion = ""
		if !reflect.DeepEqual(c, c2) {
			t.Errorf("%s: reloaded %+v, want %+v", name, c2, c)
		}
	}
	if _, err := Preset("huge"); err == nil || !strings.Contains(err.Error(), `"huge"`) {
		t.Errorf("unknown preset: %v", err)
	}
}

func TestParamCount(t *testing.T) {
	// Hand computation for small: embedding V*H; per layer q (8*64)*512,
	// k and v (4*64)*512 each, o 512*(8*64), q_norm and k_norm 64 each,
	// two RMSNorms 512 each, gate/up 1536*512 each, down 512*1536; final norm 512.
	const H, F, V, L = 512, 1536, 32768, 8
	perLayer := 512*H + 2*256*H + H*512 + 2*64 + 2*H + 3*F*H
	want := int64(V*H + L*perLayer + H)
	if want != 41952768 {
		t.Fatalf("hand computation %d", want)
	}
	s := Small()
	if got := s.ParamCount(); got != want {
		t.Errorf("small ParamCount = %d, want %d", got, want)
	}
	ti := Tiny()
	// 2048*64 + 2*(64*64 + 2*32*64 + 64*64 + 2*16 + 2*64 + 3*192*64) + 64
	if got := ti.ParamCount(); got != 2048*64+2*(64*64+2*32*64+64*64+2*16+2*64+3*192*64)+64 {
		t.Errorf("tiny ParamCount = %d", got)
	}
}
