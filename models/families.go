package models

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// The two families beside the dense decoders: Qwen3-MoE (a Qwen3 whose
// MLPs are routed experts) and SmolLM3 (a Llama-style decoder with some
// layers' rotary embedding switched off, "NoPE").
const (
	FamilyQwen3MoE = "qwen3_moe"
	FamilySmolLM3  = "smollm3"
)

func init() {
	familyArchitecture[FamilyQwen3MoE] = "Qwen3MoeForCausalLM"
	familyArchitecture[FamilySmolLM3] = "SmolLM3ForCausalLM"
}

// otherMoE names model types that are mixtures of experts pz does not run,
// so their rejection says what they are rather than just "unsupported".
var otherMoE = map[string]string{
	"qwen2_moe":   "shared experts",
	"mixtral":     "Mixtral router",
	"deepseek_v2": "shared experts, grouped routing",
	"deepseek_v3": "shared experts, sigmoid router with bias",
	"olmoe":       "OLMoE",
	"granitemoe":  "Granite MoE",
	"llama4":      "shared expert, sigmoid router",
	"qwen3_next":  "shared experts, hybrid attention",
	"gpt_oss":     "gpt-oss router",
	"dbrx":        "DBRX",
}

// MoE is the routed-expert MLP of Qwen3-MoE (transformers'
// Qwen3MoeSparseMoeBlock): a router mlp.gate [experts, hidden], softmax
// over its logits, the top num_experts_per_tok experts of each token,
// their weights renormalised to sum to 1 when norm_topk_prob, and SwiGLU
// experts of width moe_intermediate_size. A layer is sparse unless listed
// in mlp_only_layers, and only where (layer+1) % decoder_sparse_step == 0;
// the other layers have the dense MLP of width intermediate_size.
type MoE struct {
	NumExperts          int
	NumExpertsPerTok    int
	MoEIntermediateSize int
	NormTopKProb        bool
	DecoderSparseStep   int
	MLPOnlyLayers       []int
	// RouterAuxLossCoef is the load-balancing loss weight transformers
	// applies only with output_router_logits; pz's learner leaves it off
	// unless asked (the method does not use it).
	RouterAuxLossCoef float64
	// expertsKey is the spelling the config used for the expert count:
	// "num_experts" (the hub's) or "num_local_experts"; written back as read.
	expertsKey string
}

// NoPE is SmolLM3's per-layer switch of rotary embeddings: no_rope_layers
// holds 1 (RoPE) or 0 (none) per layer; when absent, every
// no_rope_layer_interval-th layer (layers interval-1, 2·interval-1, ...)
// has none, as SmolLM3Config derives it.
type NoPE struct {
	Layers   []int
	Interval int
}

// variantKeys are keys of other MoE designs (shared experts, grouped or
// biased routers); a qwen3_moe config that switches one on is refused by
// name rather than run as if the key were absent.
var variantKeys = []struct {
	key, what string
	off       func(json.RawMessage) bool
}{
	{"shared_expert_intermediate_size", "shared experts", zeroOrNull},
	{"n_shared_experts", "shared experts", zeroOrNull},
	{"num_shared_experts", "shared experts", zeroOrNull},
	{"moe_shared_expert_intermediate_size", "shared experts", zeroOrNull},
	{"scoring_func", "a non-softmax router", stringIs("softmax")},
	{"router_type", "another router", stringIs("softmax", "topk")},
	{"topk_method", "grouped top-k routing", stringIs("greedy")},
	{"n_group", "grouped top-k routing", zeroOrNullOrOne},
	{"topk_group", "grouped top-k routing", zeroOrNullOrOne},
	{"routed_scaling_factor", "scaled routing weights", oneOrNull},
	{"router_jitter_noise", "router jitter", zeroOrNull},
	{"first_k_dense_replace", "leading dense layers (use mlp_only_layers)", zeroOrNull},
}

func zeroOrNull(v json.RawMessage) bool {
	var f *float64
	return json.Unmarshal(v, &f) == nil && (f == nil || *f == 0)
}

func zeroOrNullOrOne(v json.RawMessage) bool {
	var f *float64
	return json.Unmarshal(v, &f) == nil && (f == nil || *f == 0 || *f == 1)
}

func oneOrNull(v json.RawMessage) bool {
	var f *float64
	return json.Unmarshal(v, &f) == nil && (f == nil || *f == 1)
}

func stringIs(ok ...string) func(json.RawMessage) bool {
	return func(v json.RawMessage) bool {
		var s *string
		return json.Unmarshal(v, &s) == nil && (s == nil || slices.Contains(ok, *s))
	}
}

// unmarshalFamily reads the keys of the MoE and NoPE families out of raw
// (deleting them, so they are not kept twice) and applies the family
// defaults transformers applies to absent keys. It runs before the common
// keys are read.
func (c *Config) unmarshalFamily(raw map[string]json.RawMessage) error {
	var mt string
	if v, ok := raw["model_type"]; ok {
		_ = json.Unmarshal(v, &mt) // a bad model_type is reported by the common code
	}
	switch mt {
	case FamilyQwen3MoE:
		return c.unmarshalMoE(raw)
	case FamilySmolLM3:
		return c.unmarshalNoPE(raw)
	}
	return nil
}

func (c *Config) unmarshalMoE(raw map[string]json.RawMessage) error {
	for _, k := range variantKeys {
		if v, ok := raw[k.key]; ok && !k.off(v) {
			return fmt.Errorf("field %s (%s): %s is %w (pz runs Qwen3-MoE's softmax top-k router without shared experts)", k.key, v, k.what, ErrUnsupported)
		}
	}
	m := MoE{NumExperts: 128, NumExpertsPerTok: 8, MoEIntermediateSize: 768, DecoderSparseStep: 1,
		RouterAuxLossCoef: 0.001, expertsKey: "num_experts"} // Qwen3MoeConfig's defaults
	_, hasNE := raw["num_experts"]
	_, hasNLE := raw["num_local_experts"]
	if hasNE && hasNLE && string(raw["num_experts"]) != string(raw["num_local_experts"]) {
		return fmt.Errorf("fields num_experts (%s) and num_local_experts (%s) disagree", raw["num_experts"], raw["num_local_experts"])
	}
	if !hasNE && hasNLE {
		m.expertsKey = "num_local_experts"
	}
	if _, err := field(raw, m.expertsKey, &m.NumExperts); err != nil {
		return err
	}
	delete(raw, "num_experts")
	delete(raw, "num_local_experts")
	for _, f := range []struct {
		key string
		dst any
	}{
		{"moe_intermediate_size", &m.MoEIntermediateSize},
		{"num_experts_per_tok", &m.NumExpertsPerTok},
		{"norm_topk_prob", &m.NormTopKProb},
		{"decoder_sparse_step", &m.DecoderSparseStep},
		{"mlp_only_layers", &m.MLPOnlyLayers},
		{"router_aux_loss_coef", &m.RouterAuxLossCoef},
	} {
		if _, err := field(raw, f.key, f.dst); err != nil {
			return err
		}
	}
	c.MoE = m
	return nil
}

func (c *Config) unmarshalNoPE(raw map[string]json.RawMessage) error {
	n := NoPE{Interval: 4} // SmolLM3Config's default
	if _, err := field(raw, "no_rope_layer_interval", &n.Interval); err != nil {
		return err
	}
	if _, err := field(raw, "no_rope_layers", &n.Layers); err != nil {
		return err
	}
	c.NoPE = n
	if _, ok := raw["tie_word_embeddings"]; !ok {
		c.TieWordEmbeddings = true // SmolLM3Config defaults to tied embeddings
	}
	return nil
}

// marshalFamily adds the family keys to a config.json object being written.
func (c *Config) marshalFamily(m map[string]any) {
	switch c.ModelType {
	case FamilyQwen3MoE:
		k := c.MoE.expertsKey
		if k == "" {
			k = "num_experts"
		}
		m[k] = c.MoE.NumExperts
		m["num_experts_per_tok"] = c.MoE.NumExpertsPerTok
		m["moe_intermediate_size"] = c.MoE.MoEIntermediateSize
		m["norm_topk_prob"] = c.MoE.NormTopKProb
		m["decoder_sparse_step"] = c.MoE.DecoderSparseStep
		only := c.MoE.MLPOnlyLayers
		if only == nil {
			only = []int{}
		}
		m["mlp_only_layers"] = only
		m["router_aux_loss_coef"] = c.MoE.RouterAuxLossCoef
	case FamilySmolLM3:
		m["no_rope_layer_interval"] = c.NoPE.Interval
		m["no_rope_layers"] = c.noRoPELayers()
	}
}

// validateFamily checks the family keys; errors name the field.
func (c *Config) validateFamily() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch c.ModelType {
	case FamilyQwen3MoE:
		m := c.MoE
		k := m.expertsKey
		if k == "" {
			k = "num_experts"
		}
		if m.NumExperts <= 0 {
			bad("%s (%d) must be positive", k, m.NumExperts)
		}
		if m.NumExpertsPerTok <= 0 || (m.NumExperts > 0 && m.NumExpertsPerTok > m.NumExperts) {
			bad("num_experts_per_tok (%d) must be in [1, %s %d]", m.NumExpertsPerTok, k, m.NumExperts)
		}
		if m.MoEIntermediateSize <= 0 {
			bad("moe_intermediate_size (%d) must be positive", m.MoEIntermediateSize)
		}
		if m.DecoderSparseStep <= 0 {
			bad("decoder_sparse_step (%d) must be positive", m.DecoderSparseStep)
		}
		for _, l := range m.MLPOnlyLayers {
			if l < 0 || l >= c.NumHiddenLayers {
				bad("mlp_only_layers: layer %d is not in [0, num_hidden_layers %d)", l, c.NumHiddenLayers)
			}
		}
		if m.RouterAuxLossCoef < 0 {
			bad("router_aux_loss_coef (%g) must not be negative", m.RouterAuxLossCoef)
		}
	case FamilySmolLM3:
		if c.NoPE.Layers != nil {
			if len(c.NoPE.Layers) != c.NumHiddenLayers {
				bad("no_rope_layers has %d entries, want num_hidden_layers %d", len(c.NoPE.Layers), c.NumHiddenLayers)
			}
			for i, v := range c.NoPE.Layers {
				if v != 0 && v != 1 {
					bad("no_rope_layers[%d] is %d, want 1 (RoPE) or 0 (none)", i, v)
				}
			}
		} else if c.NoPE.Interval <= 0 {
			bad("no_rope_layer_interval (%d) must be positive", c.NoPE.Interval)
		}
	}
	return errs
}

// noRoPELayers is no_rope_layers, derived from the interval when absent.
func (c *Config) noRoPELayers() []int {
	if c.NoPE.Layers != nil {
		return c.NoPE.Layers
	}
	out := make([]int, c.NumHiddenLayers)
	for i := range out {
		out[i] = 1
		if c.NoPE.Interval > 0 && (i+1)%c.NoPE.Interval == 0 {
			out[i] = 0
		}
	}
	return out
}

// UseRoPE reports whether layer i rotates its queries and keys: always,
// except on SmolLM3's NoPE layers.
func (c *Config) UseRoPE(i int) bool {
	if c.ModelType != FamilySmolLM3 {
		return true
	}
	l := c.noRoPELayers()
	return i >= len(l) || l[i] != 0
}

// IsMoE reports whether the config is a mixture of experts.
func (c *Config) IsMoE() bool { return c.ModelType == FamilyQwen3MoE }

// SparseLayer reports whether layer i has routed experts (transformers'
// Qwen3MoeDecoderLayer rule) rather than the dense MLP.
func (c *Config) SparseLayer(i int) bool {
	m := c.MoE
	return c.IsMoE() && m.NumExperts > 0 && !slices.Contains(m.MLPOnlyLayers, i) &&
		m.DecoderSparseStep > 0 && (i+1)%m.DecoderSparseStep == 0
}

// RouterName and ExpertName are the HF names of layer i's router weight
// and of expert e's projection proj (gate_proj, up_proj or down_proj).
func RouterName(i int) string { return fmt.Sprintf("model.layers.%d.mlp.gate.weight", i) }

// ExpertName is the HF name of expert e's projection proj in layer i.
func ExpertName(i, e int, proj string) string {
	return fmt.Sprintf("model.layers.%d.mlp.experts.%d.%s.weight", i, e, proj)
}

// mlpSpecs lists layer i's MLP tensors (p is the layer's name prefix):
// the dense SwiGLU, or the router and every expert's SwiGLU.
func (c *Config) mlpSpecs(i int, p string) []TensorSpec {
	H := int64(c.HiddenSize)
	if !c.SparseLayer(i) {
		F := int64(c.IntermediateSize)
		return []TensorSpec{{p + "mlp.gate_proj.weight", []int64{F, H}}, {p + "mlp.up_proj.weight", []int64{F, H}},
			{p + "mlp.down_proj.weight", []int64{H, F}}}
	}
	E, F := c.MoE.NumExperts, int64(c.MoE.MoEIntermediateSize)
	specs := make([]TensorSpec, 0, 1+3*E)
	specs = append(specs, TensorSpec{RouterName(i), []int64{int64(E), H}})
	for e := range E {
		specs = append(specs, TensorSpec{ExpertName(i, e, "gate_proj"), []int64{F, H}},
			TensorSpec{ExpertName(i, e, "up_proj"), []int64{F, H}},
			TensorSpec{ExpertName(i, e, "down_proj"), []int64{H, F}})
	}
	return specs
}

// CheckExperts compares a sparse config's expert count with the tensor
// names a checkpoint holds, so a disagreement is one error naming the
// field and a tensor rather than a list of every missing or unexpected
// expert. It also names transformers' fused expert layout, which pz does
// not read.
func (c *Config) CheckExperts(names []string) error {
	if !c.IsMoE() {
		return nil
	}
	k := c.MoE.expertsKey
	if k == "" {
		k = "num_experts"
	}
	for _, n := range names {
		if strings.HasSuffix(n, ".mlp.experts.gate_up_proj") || strings.HasSuffix(n, ".mlp.experts.down_proj") {
			return fmt.Errorf("tensor %s: fused expert layout is %w (want mlp.experts.<e>.{gate,up,down}_proj.weight)", n, ErrUnsupported)
		}
	}
	for i := range c.NumHiddenLayers {
		if !c.SparseLayer(i) {
			continue
		}
		p := fmt.Sprintf("model.layers.%d.mlp.experts.", i)
		most := -1
		var at string
		for _, n := range names {
			var e int
			if rest, ok := strings.CutPrefix(n, p); ok {
				if _, err := fmt.Sscanf(rest, "%d.", &e); err == nil && e > most {
					most, at = e, n
				}
			}
		}
		if most >= c.MoE.NumExperts {
			return fmt.Errorf("%s %d (config) disagrees with the tensors: layer %d has expert %d (%s)", k, c.MoE.NumExperts, i, most, at)
		}
		if most >= 0 && most < c.MoE.NumExperts-1 {
			return fmt.Errorf("%s %d (config) disagrees with the tensors: layer %d has experts 0..%d only (%s is missing)", k, c.MoE.NumExperts, i, most, ExpertName(i, most+1, "gate_proj"))
		}
	}
	return nil
}

// TinyMoE is the Qwen3-MoE test and demo preset: tiny's attention and
// vocabulary with 8 experts of width 32 per layer, 2 chosen per token and
// renormalised (as Qwen3-30B-A3B's norm_topk_prob), untied embeddings.
// Its active MLP parameters per token (router 8·64 + 2 experts · 3·32·64)
// match a dense tiny with intermediate_size 64 plus the router.
func TinyMoE() Config {
	c := Tiny()
	c.Architectures = []string{familyArchitecture[FamilyQwen3MoE]}
	c.ModelType = FamilyQwen3MoE
	c.TieWordEmbeddings = false
	c.MoE = MoE{NumExperts: 8, NumExpertsPerTok: 2, MoEIntermediateSize: 32, NormTopKProb: true,
		DecoderSparseStep: 1, MLPOnlyLayers: []int{}, RouterAuxLossCoef: 0.001, expertsKey: "num_experts"}
	return c
}

// TinySmolLM3 is the SmolLM3 test and demo preset: 4 layers (the fourth
// without RoPE, SmolLM3's every-4th NoPE rule), tiny's widths, no q/k
// norms, tied embeddings.
func TinySmolLM3() Config {
	c := Tiny()
	c.Architectures = []string{familyArchitecture[FamilySmolLM3]}
	c.ModelType = FamilySmolLM3
	c.NumHiddenLayers = 4
	c.RopeTheta = 5e6
	c.NoPE = NoPE{Layers: []int{1, 1, 1, 0}, Interval: 4}
	return c
}
