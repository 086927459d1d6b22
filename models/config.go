// Package models holds model configurations, the canonical Hugging Face
// tensor layout of the supported architectures and tiny presets.
package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"pz/internal/atomicfile"
)

// ConfigFile is the name of the Hugging Face model configuration file.
const ConfigFile = "config.json"

// TransformersVersion is written as "transformers_version" when a config
// carries none; transformers only uses it to warn about version skew.
const TransformersVersion = "4.51.0"

// Model families (config.json "model_type") supported by pz.
const (
	FamilyQwen3 = "qwen3"
	FamilyQwen2 = "qwen2"
	FamilyLlama = "llama"
)

// ErrUnsupported marks a config that is well formed but describes a model pz
// cannot run yet (an MoE family, an enabled sliding window, ...).
var ErrUnsupported = errors.New("not supported yet")

var familyArchitecture = map[string]string{
	FamilyQwen3: "Qwen3ForCausalLM",
	FamilyQwen2: "Qwen2ForCausalLM",
	FamilyLlama: "LlamaForCausalLM",
}

// RopeScaling is the "rope_scaling" object of a config. Only "linear" and
// "yarn" are accepted; "default" or null mean no scaling (a nil pointer).
type RopeScaling struct {
	Type                          string  `json:"rope_type"`
	Factor                        float64 `json:"factor"`
	OriginalMaxPositionEmbeddings int     `json:"original_max_position_embeddings,omitempty"`
	BetaFast                      float64 `json:"beta_fast,omitempty"`
	BetaSlow                      float64 `json:"beta_slow,omitempty"`
	AttentionFactor               float64 `json:"attention_factor,omitempty"`
	// Extra keeps keys pz does not interpret, for round trips.
	Extra map[string]json.RawMessage `json:"-"`
}

// Config is a typed Hugging Face config.json for the dense Qwen3, Qwen2 and
// Llama decoder families, Qwen3-MoE and SmolLM3. Unknown keys are kept in Extra and written back.
type Config struct {
	Architectures         []string     `json:"architectures"`
	ModelType             string       `json:"model_type"`
	HiddenSize            int          `json:"hidden_size"`
	IntermediateSize      int          `json:"intermediate_size"`
	NumHiddenLayers       int          `json:"num_hidden_layers"`
	NumAttentionHeads     int          `json:"num_attention_heads"`
	NumKeyValueHeads      int          `json:"num_key_value_heads"`
	HeadDim               int          `json:"head_dim"`
	RMSNormEps            float64      `json:"rms_norm_eps"`
	RopeTheta             float64      `json:"rope_theta"`
	RopeScaling           *RopeScaling `json:"rope_scaling"`
	VocabSize             int          `json:"vocab_size"`
	MaxPositionEmbeddings int          `json:"max_position_embeddings"`
	TieWordEmbeddings     bool         `json:"tie_word_embeddings"`
	// BOSTokenID is nil when the config has none (null or absent).
	BOSTokenID *int `json:"bos_token_id"`
	// EOSTokenIDs holds "eos_token_id", which may be an int or a list.
	EOSTokenIDs []int `json:"eos_token_id"`
	// TorchDType is "float32", "bfloat16" or "float16".
	TorchDType    string `json:"torch_dtype"`
	AttentionBias bool   `json:"attention_bias"`
	MLPBias       bool   `json:"mlp_bias"`
	HiddenAct     string `json:"hidden_act"`
	// UseSlidingWindow and SlidingWindow are parsed so that an enabled
	// window is rejected; pz attends over the full context.
	UseSlidingWindow    bool   `json:"use_sliding_window"`
	SlidingWindow       *int   `json:"sliding_window"`
	TransformersVersion string `json:"transformers_version"`
	// MoE and NoPE hold the Qwen3-MoE and SmolLM3 keys (families.go).
	MoE  MoE  `json:"-"`
	NoPE NoPE `json:"-"`

	// Extra keeps every key not listed above, for round trips.
	Extra map[string]json.RawMessage `json:"-"`

	// derivedHeadDim is set when head_dim was absent and computed as
	// hidden_size / num_attention_heads, which must then divide exactly.
	derivedHeadDim bool
}

// LoadConfig reads and validates config.json from path, which is either the
// file or the model folder holding it.
func LoadConfig(path string) (*Config, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, ConfigFile)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig decodes and validates a config.json document.
func ParseConfig(b []byte) (*Config, error) {
	if !json.Valid(b) {
		var v any
		return nil, fmt.Errorf("invalid JSON: %w", json.Unmarshal(b, &v))
	}
	c := &Config{}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// field decodes raw[key] into dst when present and not null; it deletes the
// key from raw and reports whether a value was set.
func field(raw map[string]json.RawMessage, key string, dst any) (bool, error) {
	v, ok := raw[key]
	delete(raw, key)
	if !ok || string(v) == "null" {
		return false, nil
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return false, fmt.Errorf("field %s: %w", key, err)
	}
	return true, nil
}

// UnmarshalJSON decodes a config.json object, applying the defaults the
// transformers config classes apply to absent keys.
func (c *Config) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	if raw == nil {
		return errors.New("invalid JSON: not an object")
	}
	*c = Config{}
	if err := c.unmarshalFamily(raw); err != nil {
		return err
	}
	var err error
	set := func(key string, dst any) bool {
		if err != nil {
			return false
		}
		ok, e := field(raw, key, dst)
		err = e
		return ok
	}
	set("architectures", &c.Architectures)
	set("model_type", &c.ModelType)
	set("hidden_size", &c.HiddenSize)
	set("intermediate_size", &c.IntermediateSize)
	set("num_hidden_layers", &c.NumHiddenLayers)
	set("num_attention_heads", &c.NumAttentionHeads)
	hasKV := set("num_key_value_heads", &c.NumKeyValueHeads)
	hasHD := set("head_dim", &c.HeadDim)
	hasEps := set("rms_norm_eps", &c.RMSNormEps)
	hasTheta := set("rope_theta", &c.RopeTheta)
	var rs map[string]json.RawMessage
	hasRS := set("rope_scaling", &rs)
	var rp map[string]json.RawMessage
	hasRP := set("rope_parameters", &rp) // transformers v5 spelling
	set("vocab_size", &c.VocabSize)
	set("max_position_embeddings", &c.MaxPositionEmbeddings)
	set("tie_word_embeddings", &c.TieWordEmbeddings)
	set("bos_token_id", &c.BOSTokenID)
	var eos json.RawMessage
	hasEOS := set("eos_token_id", &eos)
	hasDT := set("torch_dtype", &c.TorchDType)
	if !hasDT {
		set("dtype", &c.TorchDType) // transformers v5 spelling
	} else {
		delete(raw, "dtype")
	}
	set("attention_bias", &c.AttentionBias)
	set("mlp_bias", &c.MLPBias)
	set("hidden_act", &c.HiddenAct)
	set("use_sliding_window", &c.UseSlidingWindow)
	set("sliding_window", &c.SlidingWindow)
	set("transformers_version", &c.TransformersVersion)
	if err != nil {
		return err
	}
	if hasEOS {
		var one int
		if e := json.Unmarshal(eos, &one); e == nil {
			c.EOSTokenIDs = []int{one}
		} else if e := json.Unmarshal(eos, &c.EOSTokenIDs); e != nil {
			return fmt.Errorf("field eos_token_id: want an int or a list of ints, got %s", eos)
		}
	}
	if hasRP {
		if hasRS {
			// Both spellings: interpret rope_scaling, keep rope_parameters as is.
			raw["rope_parameters"], _ = json.Marshal(rp)
		} else {
			// v5 folds rope_theta into rope_parameters; the rest is the scaling.
			var theta float64
			ok, e := field(rp, "rope_theta", &theta)
			if e != nil {
				return fmt.Errorf("field rope_parameters: %w", e)
			}
			if ok && !hasTheta {
				c.RopeTheta, hasTheta = theta, true
			}
			rs, hasRS = rp, true
		}
	}
	if hasRS {
		if c.RopeScaling, err = parseRopeScaling(rs); err != nil {
			return err
		}
	}
	// Defaults of LlamaConfig, Qwen2Config and Qwen3Config for absent keys.
	if !hasKV {
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	if !hasHD && c.NumAttentionHeads > 0 {
		// transformers' Qwen3Config defaults head_dim to 128; Llama and Qwen2
		// derive it from hidden_size / num_attention_heads.
		if c.ModelType == FamilyQwen3 {
			c.HeadDim = 128
		} else {
			c.HeadDim = c.HiddenSize / c.NumAttentionHeads
			c.derivedHeadDim = true
		}
	}
	if !hasEps {
		c.RMSNormEps = 1e-6
	}
	if !hasTheta {
		c.RopeTheta = 10000
	}
	if c.HiddenAct == "" {
		c.HiddenAct = "silu"
	}
	if len(raw) > 0 {
		c.Extra = raw
	}
	return nil
}

func parseRopeScaling(rs map[string]json.RawMessage) (*RopeScaling, error) {
	if rs == nil {
		return nil, nil
	}
	s := &RopeScaling{}
	var kind, legacy string
	if _, err := field(rs, "rope_type", &kind); err != nil {
		return nil, fmt.Errorf("rope_scaling: %w", err)
	}
	if _, err := field(rs, "type", &legacy); err != nil {
		return nil, fmt.Errorf("rope_scaling: %w", err)
	}
	if kind == "" {
		kind = legacy
	}
	switch kind {
	case "", "default":
		return nil, nil
	case "linear", "yarn":
	default:
		return nil, fmt.Errorf("rope_scaling: rope_type %q is %w (want linear or yarn)", kind, ErrUnsupported)
	}
	s.Type = kind
	for _, f := range []struct {
		key string
		dst any
	}{
		{"factor", &s.Factor},
		{"original_max_position_embeddings", &s.OriginalMaxPositionEmbeddings},
		{"beta_fast", &s.BetaFast},
		{"beta_slow", &s.BetaSlow},
		{"attention_factor", &s.AttentionFactor},
	} {
		if _, err := field(rs, f.key, f.dst); err != nil {
			return nil, fmt.Errorf("rope_scaling: %w", err)
		}
	}
	if len(rs) > 0 {
		s.Extra = rs
	}
	return s, nil
}

// MarshalJSON writes an HF-compatible config.json object (keys sorted, as
// transformers writes them), including the unknown keys kept in Extra.
func (c *Config) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(c.Extra)+32)
	for k, v := range c.Extra {
		m[k] = v
	}
	arch := c.Architectures
	if len(arch) == 0 {
		if a, ok := familyArchitecture[c.ModelType]; ok {
			arch = []string{a}
		}
	}
	m["architectures"] = arch
	m["model_type"] = c.ModelType
	m["hidden_size"] = c.HiddenSize
	m["intermediate_size"] = c.IntermediateSize
	m["num_hidden_layers"] = c.NumHiddenLayers
	m["num_attention_heads"] = c.NumAttentionHeads
	m["num_key_value_heads"] = c.NumKeyValueHeads
	m["head_dim"] = c.HeadDim
	m["rms_norm_eps"] = c.RMSNormEps
	m["rope_theta"] = c.RopeTheta
	if c.RopeScaling == nil {
		m["rope_scaling"] = nil
	} else {
		rs := make(map[string]any, len(c.RopeScaling.Extra)+8)
		for k, v := range c.RopeScaling.Extra {
			rs[k] = v
		}
		rs["rope_type"] = c.RopeScaling.Type
		rs["type"] = c.RopeScaling.Type // older transformers read "type"
		rs["factor"] = c.RopeScaling.Factor
		if c.RopeScaling.OriginalMaxPositionEmbeddings != 0 {
			rs["original_max_position_embeddings"] = c.RopeScaling.OriginalMaxPositionEmbeddings
		}
		if c.RopeScaling.BetaFast != 0 {
			rs["beta_fast"] = c.RopeScaling.BetaFast
		}
		if c.RopeScaling.BetaSlow != 0 {
			rs["beta_slow"] = c.RopeScaling.BetaSlow
		}
		if c.RopeScaling.AttentionFactor != 0 {
			rs["attention_factor"] = c.RopeScaling.AttentionFactor
		}
		m["rope_scaling"] = rs
	}
	m["vocab_size"] = c.VocabSize
	m["max_position_embeddings"] = c.MaxPositionEmbeddings
	m["tie_word_embeddings"] = c.TieWordEmbeddings
	m["bos_token_id"] = c.BOSTokenID
	switch len(c.EOSTokenIDs) {
	case 0:
		m["eos_token_id"] = nil
	case 1:
		m["eos_token_id"] = c.EOSTokenIDs[0]
	default:
		m["eos_token_id"] = c.EOSTokenIDs
	}
	if c.TorchDType == "" {
		m["torch_dtype"] = "float32"
	} else {
		m["torch_dtype"] = c.TorchDType
	}
	m["attention_bias"] = c.AttentionBias
	if c.ModelType == FamilyLlama || c.ModelType == FamilySmolLM3 || c.MLPBias {
		m["mlp_bias"] = c.MLPBias
	}
	m["hidden_act"] = c.HiddenAct
	if c.ModelType != FamilyLlama || c.UseSlidingWindow {
		m["use_sliding_window"] = c.UseSlidingWindow
		m["sliding_window"] = c.SlidingWindow
	}
	tv := c.TransformersVersion
	if tv == "" {
		tv = TransformersVersion
	}
	m["transformers_version"] = tv
	c.marshalFamily(m)
	return json.Marshal(m)
}

// Validate checks the config in one place; errors name the field at fault.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	switch c.ModelType {
	case FamilyQwen3, FamilyQwen2, FamilyLlama, FamilyQwen3MoE, FamilySmolLM3:
	case "":
		bad("model_type: missing (want qwen3, qwen3_moe, qwen2, llama or smollm3)")
	default:
		if what, ok := otherMoE[c.ModelType]; ok {
			bad("model_type %q is a mixture of experts (%s) that is %w (pz runs qwen3_moe)", c.ModelType, what, ErrUnsupported)
		} else {
			bad("model_type %q is %w (want qwen3, qwen3_moe, qwen2, llama or smollm3)", c.ModelType, ErrUnsupported)
		}
	}
	errs = append(errs, c.validateFamily()...)
	if want, ok := familyArchitecture[c.ModelType]; ok {
		for _, a := range c.Architectures {
			if a != want {
				bad("architectures: %q does not match model_type %q (want %s)", a, c.ModelType, want)
			}
		}
	}
	positive := []struct {
		name string
		v    int
	}{
		{"hidden_size", c.HiddenSize},
		{"intermediate_size", c.IntermediateSize},
		{"num_hidden_layers", c.NumHiddenLayers},
		{"num_attention_heads", c.NumAttentionHeads},
		{"num_key_value_heads", c.NumKeyValueHeads},
		{"head_dim", c.HeadDim},
		{"vocab_size", c.VocabSize},
		{"max_position_embeddings", c.MaxPositionEmbeddings},
	}
	for _, p := range positive {
		if p.v <= 0 {
			bad("%s (%d) must be positive", p.name, p.v)
		}
	}
	if c.derivedHeadDim && c.NumAttentionHeads > 0 && c.HiddenSize%c.NumAttentionHeads != 0 {
		bad("hidden_size (%d) must be divisible by num_attention_heads (%d)", c.HiddenSize, c.NumAttentionHeads)
	}
	if c.NumAttentionHeads > 0 && c.NumKeyValueHeads > 0 && c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
		bad("num_attention_heads (%d) must be a multiple of num_key_value_heads (%d)", c.NumAttentionHeads, c.NumKeyValueHeads)
	}
	if c.HeadDim%2 != 0 {
		bad("head_dim (%d) must be even for rotary embeddings", c.HeadDim)
	}
	if !(c.RMSNormEps > 0) {
		bad("rms_norm_eps (%g) must be positive", c.RMSNormEps)
	}
	if !(c.RopeTheta > 0) {
		bad("rope_theta (%g) must be positive", c.RopeTheta)
	}
	if s := c.RopeScaling; s != nil {
		switch s.Type {
		case "linear", "yarn":
		default:
			bad("rope_scaling: rope_type %q is %w (want linear or yarn)", s.Type, ErrUnsupported)
		}
		if !(s.Factor >= 1) {
			bad("rope_scaling.factor (%g) must be at least 1", s.Factor)
		}
	}
	checkID := func(name string, id int) {
		if id < 0 || (c.VocabSize > 0 && id >= c.VocabSize) {
			bad("%s (%d) must be in [0, vocab_size %d)", name, id, c.VocabSize)
		}
	}
	if c.BOSTokenID != nil {
		checkID("bos_token_id", *c.BOSTokenID)
	}
	for _, id := range c.EOSTokenIDs {
		checkID("eos_token_id", id)
	}
	switch c.TorchDType {
	case "float32", "bfloat16", "float16", "":
	default:
		bad("torch_dtype %q must be float32, bfloat16 or float16", c.TorchDType)
	}
	if c.HiddenAct != "silu" {
		bad("hidden_act %q is %w (want silu)", c.HiddenAct, ErrUnsupported)
	}
	if c.MLPBias {
		bad("mlp_bias true is %w", ErrUnsupported)
	}
	if c.UseSlidingWindow {
		w := "null"
		if c.SlidingWindow != nil {
			w = fmt.Sprint(*c.SlidingWindow)
		}
		bad("use_sliding_window true (sliding_window %s) is %w: pz attends over the full context", w, ErrUnsupported)
	}
	return errors.Join(errs...)
}

// QKVBias reports whether q/k/v projections carry a bias: always for Qwen2,
// else as attention_bias says.
func (c *Config) QKVBias() bool { return c.ModelType == FamilyQwen2 || c.AttentionBias }

// OBias reports whether o_proj carries a bias (attention_bias for Llama and
// Qwen3; never for Qwen2).
func (c *Config) OBias() bool { return c.ModelType != FamilyQwen2 && c.AttentionBias }

// QKNorm reports whether attention applies RMSNorm to q and k per head (Qwen3).
func (c *Config) QKNorm() bool { return c.ModelType == FamilyQwen3 || c.ModelType == FamilyQwen3MoE }

// WriteConfig writes c as config.json into dir (atomically: temp file and
// rename), after validating it.
func WriteConfig(dir string, c *Config) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, ConfigFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %w", err)
	}
	return nil
}

// TensorSpec is one tensor a checkpoint must hold: its HF name and shape
// (row-major; Linear weights are [out, in]).
type TensorSpec struct {
	Name  string
	Shape []int64
}

// TensorSpecs lists every tensor of the model in HF naming, in a stable
// order (embedding, layers in order, final norm, lm_head). A loader checks
// each missing and each unexpected tensor against it.
func (c *Config) TensorSpecs() []TensorSpec {
	H, V := int64(c.HiddenSize), int64(c.VocabSize)
	D := int64(c.HeadDim)
	Q, KV := int64(c.NumAttentionHeads)*D, int64(c.NumKeyValueHeads)*D
	specs := []TensorSpec{{"model.embed_tokens.weight", []int64{V, H}}}
	for i := range c.NumHiddenLayers {
		p := fmt.Sprintf("model.layers.%d.", i)
		add := func(name string, shape ...int64) { specs = append(specs, TensorSpec{p + name, shape}) }
		add("input_layernorm.weight", H)
		add("self_attn.q_proj.weight", Q, H)
		add("self_attn.k_proj.weight", KV, H)
		add("self_attn.v_proj.weight", KV, H)
		if c.QKVBias() {
			add("self_attn.q_proj.bias", Q)
			add("self_attn.k_proj.bias", KV)
			add("self_attn.v_proj.bias", KV)
		}
		add("self_attn.o_proj.weight", H, Q)
		if c.OBias() {
			add("self_attn.o_proj.bias", H)
		}
		if c.QKNorm() {
			add("self_attn.q_norm.weight", D)
			add("self_attn.k_norm.weight", D)
		}
		add("post_attention_layernorm.weight", H)
		specs = append(specs, c.mlpSpecs(i, p)...)
	}
	specs = append(specs, TensorSpec{"model.norm.weight", []int64{H}})
	if !c.TieWordEmbeddings {
		specs = append(specs, TensorSpec{"lm_head.weight", []int64{V, H}})
	}
	return specs
}

// ParamCount is the number of parameters (tied embeddings counted once).
func (c *Config) ParamCount() int64 {
	var n int64
	for _, s := range c.TensorSpecs() {
		e := int64(1)
		for _, d := range s.Shape {
			e *= d
		}
		n += e
	}
	return n
}
