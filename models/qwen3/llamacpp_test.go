package qwen3

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"pz/export/exporttest"
	"pz/models"
)

// llamaGolden is models/qwen3/testdata/llamacpp-PRESET.json, written by
// scripts/llamacpp/make-golden.sh: llama.cpp's log-probs of random id
// sequences under the preset's config and goldenWeights, exported to GGUF
// by `pz export --gguf`.
type llamaGolden struct {
	Preset   string  `json:"preset"`
	Seed     uint64  `json:"seed"`
	Std      float64 `json:"std"`
	NormGain float64 `json:"norm_gain"`
	// RouterGain scales MoE routers (scripts/llamacpp/mkmodel scaleRouters).
	RouterGain float64        `json:"router_gain"`
	Config     *models.Config `json:"config"`
	Sequences  []struct {
		IDs      []int64   `json:"ids"`
		LogProbs []float64 `json:"logprobs"`
	} `json:"sequences"`
	Generator map[string]string `json:"generator"`
	// Greedy is llama.cpp's greedy continuation of the first sequence's
	// first PromptLen ids (families_golden_test.go).
	Greedy *struct {
		PromptLen int     `json:"prompt_len"`
		NewTokens int     `json:"new_tokens"`
		Tokens    []int64 `json:"tokens"`
	} `json:"greedy"`
}

// Tolerance per log-prob: llamaAtol + llamaRtol·|log-prob|. pz and
// llama.cpp run the same float32 math in different orders, so they differ
// by float32 rounding, which grows with the logits' size (log-probs of a
// 32,768-token vocabulary are around -13). Reached (max |diff|, rms):
// tiny 2.3e-6, 6.9e-7; small 1.9e-5, 5.8e-6 (max relative 2.2e-6). That is
// rounding and nothing else: pz's own float32 graph differs from its
// float64 graph by as much (tiny 2.0e-6, small 2.1e-5), and llama.cpp is
// as close to that float64 graph (tiny 1.2e-6, small 2.0e-5). A wrong
// convention is off by 1e-3 to 3 (TestLlamaCppGoldenCatchesConventions).
const (
	llamaAtol = 1e-5
	llamaRtol = 4e-6
)

func loadLlamaGolden(t *testing.T, preset string) (*models.Config, *llamaGolden) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "llamacpp-"+preset+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var gold llamaGolden
	if err := json.Unmarshal(b, &gold); err != nil {
		t.Fatalf("golden %s: %v", preset, err)
	}
	cfg, err := models.Preset(preset)
	if err != nil {
		t.Fatal(err)
	}
	// Compare as written to JSON (which fills defaults such as
	// transformers_version on both sides).
	now, _ := json.Marshal(cfg)
	was, _ := json.Marshal(gold.Config)
	if string(now) != string(was) {
		t.Fatalf("preset %s changed since the golden was made:\n now %s\n was %s\nregenerate with scripts/llamacpp/make-golden.sh", preset, now, was)
	}
	return cfg, &gold
}

// TestLlamaCppGolden checks the train graph's log-probs against llama.cpp
// (an implementation written elsewhere, run from the GGUF file that
// `pz export --gguf` writes) on the tiny and small presets, sequences of
// up to 200 tokens.
func TestLlamaCppGolden(t *testing.T) {
	for _, preset := range []string{"tiny", "small", "tiny-moe", "tiny-smollm3"} {
		t.Run(preset, func(t *testing.T) {
			if preset == "small" && testing.Short() {
				t.Skip("small preset (42M parameters) skipped under -short; tiny covers the same code")
			}
			cfg, gold := loadLlamaGolden(t, preset)
			d := llamaCppDiff(t, cfg, goldenWeights(cfg, gold), gold)
			if d.ratio > 1 {
				t.Errorf("%s: %s exceeds the tolerance %.0e + %.0e·|log-prob|", preset, d, llamaAtol, llamaRtol)
			}
			t.Logf("%s: %d log-probs, max |pz - llama.cpp| %.2g, rms %.2g (%s)", preset, d.n, d.worst, d.rms, gold.Generator["llama_cpp"])
		})
	}
}

// TestLlamaCppGoldenCatchesConventions shows the golden can fail: each
// convention error is simulated by an equivalent change of the weights or
// config (pz run on the changed weights computes what a pz with that error
// would on the golden's), and must miss llama.cpp by far more than the
// tolerance.
func TestLlamaCppGoldenCatchesConventions(t *testing.T) {
	cfg, gold := loadLlamaGolden(t, "tiny")
	D, H, KV := cfg.HeadDim, cfg.NumAttentionHeads, cfg.NumKeyValueHeads
	// interleave maps rotate-half's pairs (i, i+D/2) onto adjacent dims
	// (2i, 2i+1): rotate-half on rows permuted by it is GPT-J-style RoPE.
	interleave := make([]int, D)
	for i := range D / 2 {
		interleave[i], interleave[i+D/2] = 2*i, 2*i+1
	}
	cases := []struct {
		name   string
		mutate func(c *models.Config, w map[string][]float32)
	}{
		{"RoPE pairs adjacent dims (GPT-J) instead of halves", func(c *models.Config, w map[string][]float32) {
			for l := range c.NumHiddenLayers {
				p := fmt.Sprintf("model.layers.%d.self_attn.", l)
				permuteRows(w[p+"q_proj.weight"], c.HiddenSize, H, interleave)
				permuteRows(w[p+"k_proj.weight"], c.HiddenSize, KV, interleave)
				permuteRows(w[p+"q_norm.weight"], 1, 1, interleave)
				permuteRows(w[p+"k_norm.weight"], 1, 1, interleave)
			}
		}},
		{"query head h uses key head h mod kv_heads, not h / group", func(c *models.Config, w map[string][]float32) {
			// Swapping query heads 1 and 2 (and o_proj's matching columns)
			// turns the grouping {0,1}{2,3} into {0,2}{1,3}.
			for l := range c.NumHiddenLayers {
				p := fmt.Sprintf("model.layers.%d.self_attn.", l)
				q, o := w[p+"q_proj.weight"], w[p+"o_proj.weight"]
				for r := range D * c.HiddenSize {
					q[D*c.HiddenSize+r], q[2*D*c.HiddenSize+r] = q[2*D*c.HiddenSize+r], q[D*c.HiddenSize+r]
				}
				for r := range c.HiddenSize {
					row := o[r*H*D : (r+1)*H*D]
					for i := range D {
						row[D+i], row[2*D+i] = row[2*D+i], row[D+i]
					}
				}
			}
		}},
		{"q_norm and k_norm swapped", func(c *models.Config, w map[string][]float32) {
			for l := range c.NumHiddenLayers {
				p := fmt.Sprintf("model.layers.%d.self_attn.", l)
				w[p+"q_norm.weight"], w[p+"k_norm.weight"] = w[p+"k_norm.weight"], w[p+"q_norm.weight"]
			}
		}},
		{"input_layernorm and post_attention_layernorm swapped", func(c *models.Config, w map[string][]float32) {
			for l := range c.NumHiddenLayers {
				p := fmt.Sprintf("model.layers.%d.", l)
				w[p+"input_layernorm.weight"], w[p+"post_attention_layernorm.weight"] = w[p+"post_attention_layernorm.weight"], w[p+"input_layernorm.weight"]
			}
		}},
		{"rms_norm_eps 1e-5 instead of 1e-6", func(c *models.Config, _ map[string][]float32) { c.RMSNormEps = 1e-5 }},
		{"rope_theta 1e4 instead of 1e6", func(c *models.Config, _ map[string][]float32) { c.RopeTheta = 1e4 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { mustMissGolden(t, cfg, gold, tc.mutate) })
	}
}

// mustMissGolden runs pz with the golden's config and weights changed by
// mutate and fails unless it misses llama.cpp by at least ten times the
// tolerance.
func mustMissGolden(t *testing.T, cfg *models.Config, gold *llamaGolden, mutate func(c *models.Config, w map[string][]float32)) {
	t.Helper()
	c := *cfg
	w := goldenWeights(&c, gold)
	mutate(&c, w)
	d := llamaCppDiff(t, &c, w, gold)
	if d.ratio < 10 {
		t.Errorf("%s: only %.3g times the tolerance; the golden would not catch this error", d, d.ratio)
	}
	t.Logf("max |diff| %.2g (%.3g times the tolerance)", d.worst, d.ratio)
}

// permuteRows reorders, within each of n blocks of len(perm) rows of
// width cols, row i to come from row perm[i].
func permuteRows(w []float32, cols, n int, perm []int) {
	d := len(perm)
	old := slices.Clone(w)
	for h := range n {
		for i, src := range perm {
			copy(w[(h*d+i)*cols:(h*d+i+1)*cols], old[(h*d+src)*cols:(h*d+src+1)*cols])
		}
	}
}

type llamaDiff struct {
	n          int
	worst, rms float64
	ratio      float64 // max |diff| / tolerance over all log-probs
	at         string  // where ratio is reached
}

func (d llamaDiff) String() string { return d.at }

// llamaCppDiff runs each golden sequence alone through the train graph
// (weights as graph inputs) and compares its log-probs with llama.cpp's.
func llamaCppDiff(t *testing.T, cfg *models.Config, w map[string][]float32, gold *llamaGolden) llamaDiff {
	t.Helper()
	fw, err := BuildForward(cfg, ForwardOptions{Name: "qwen3_llamacpp"})
	if err != nil {
		t.Fatal(err)
	}
	fw.G.Output(LogProbs, fw.LogProbs)
	sess := exporttest.Session(t, fw.G)
	var d llamaDiff
	for i, s := range gold.Sequences {
		n := len(s.IDs) - 1
		if len(s.LogProbs) != n {
			t.Fatalf("sequence %d: %d log-probs for %d ids", i, len(s.LogProbs), len(s.IDs))
		}
		pos, mask := make([]int64, n), make([]int64, n)
		for j := range n {
			pos[j], mask[j] = int64(j), 1
		}
		feeds := weightFeeds(cfg, w)
		feeds[InputIDs], feeds[PositionIDs] = i64t(1, n, s.IDs[:n]), i64t(1, n, pos)
		feeds[AttentionMask], feeds[TargetIDs] = i64t(1, n, mask), i64t(1, n, s.IDs[1:])
		out, err := sess.Run(context.Background(), feeds, LogProbs)
		if err != nil {
			t.Fatal(err)
		}
		lp := out[LogProbs].Data.([]float32)
		for j, want := range s.LogProbs {
			diff := math.Abs(float64(lp[j]) - want)
			if math.IsNaN(diff) {
				diff = math.Inf(1)
			}
			d.n++
			d.worst = max(d.worst, diff)
			d.rms += diff * diff
			if r := diff / (llamaAtol + llamaRtol*math.Abs(want)); r > d.ratio {
				d.ratio = r
				d.at = fmt.Sprintf("sequence %d (%d ids) position %d (target id %d): pz log-prob %.7f, llama.cpp %.7f, |diff| %.2g",
					i, len(s.IDs), j, s.IDs[j+1], lp[j], want, diff)
			}
		}
	}
	d.rms = math.Sqrt(d.rms / float64(d.n))
	return d
}

// goldenWeights regenerates the golden's weights: RandomWeights with the
// all-ones norm weights replaced by the ripple of scripts/llamacpp/mkmodel's
// perturbNorms (keep the two in step), so that the comparison also tells
// apart conventions that ones cannot (q/k norm before or after RoPE, q_norm
// vs k_norm, attn_norm vs ffn_norm).
func goldenWeights(cfg *models.Config, gold *llamaGolden) map[string][]float32 {
	w := RandomWeights(cfg, gold.Seed, gold.Std)
	for j, s := range cfg.TensorSpecs() {
		if !hasSuffix(s.Name, "norm.weight") {
			continue
		}
		for i := range w[s.Name] {
			w[s.Name][i] = float32(1 + gold.NormGain*math.Sin(0.7*float64(i+1)+float64(j)))
		}
	}
	if gold.RouterGain != 0 {
		for i := range cfg.NumHiddenLayers {
			for j := range w[models.RouterName(i)] {
				w[models.RouterName(i)][j] *= float32(gold.RouterGain)
			}
		}
	}
	return w
}
