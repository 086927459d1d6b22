// Command mkmodel writes the model folder and the token sequences from
// which scripts/llamacpp/make-golden.sh makes llama.cpp's reference
// log-probs: a preset's config with qwen3.RandomWeights(seed, std), the
// preset's tokenizer, and golden-meta.json naming the preset, seed, std,
// config and random id sequences of the given lengths. The Go test
// (models/qwen3/llamacpp_test.go) regenerates the same weights from the
// seed, so no weights are committed.
//
//	go run ./scripts/llamacpp/mkmodel -preset tiny -seed 1 -std 0.1 -lengths 16,48,64,200 -out DIR
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"pz/models"
	"pz/models/qwen3"
	"pz/models/tokenizer"
)

// Meta is golden-meta.json; make-golden.mjs adds the log-probs to it.
type Meta struct {
	Preset   string  `json:"preset"`
	Seed     uint64  `json:"seed"`
	Std      float64 `json:"std"`
	NormGain float64 `json:"norm_gain"`
	NormRule string  `json:"norm_rule"`
	// RouterGain scales MoE router weights (mlp.gate.weight) so that each
	// token's top-k experts win by a wide margin: pz and llama.cpp round
	// differently, and a near-tie could pick different experts.
	RouterGain float64 `json:"router_gain,omitempty"`
	// Greedy asks make-golden.mjs for llama.cpp's greedy continuation of
	// the first sequence's first PromptLen ids.
	Greedy    *greedySpec     `json:"greedy,omitempty"`
	Config    *models.Config  `json:"config"`
	Sequences []metaSequence  `json:"sequences"`
	Note      json.RawMessage `json:"note,omitempty"`
}

type greedySpec struct {
	PromptLen int     `json:"prompt_len"`
	NewTokens int     `json:"new_tokens"`
	Tokens    []int64 `json:"tokens,omitempty"` // filled by make-golden.mjs
}

type metaSequence struct {
	IDs []int64 `json:"ids"`
}

func main() {
	preset := flag.String("preset", "tiny", "model preset (tiny or small)")
	seed := flag.Uint64("seed", 1, "qwen3.RandomWeights seed (the sequences use seed+1000)")
	std := flag.Float64("std", 0.1, "qwen3.RandomWeights std")
	gain := flag.Float64("norm-gain", 0.2, "amplitude of the deterministic ripple put on the all-ones norm weights (see perturbNorms)")
	lengths := flag.String("lengths", "16,48,64,200", "comma-separated sequence lengths")
	tok := flag.String("tokenizer", "", "tokenizer.json(.gz) to ship in the folder (default models/presets/tokenizers/PRESET.json.gz)")
	vocab := flag.Int("vocab", 0, "vocabulary size (0: the preset's); e.g. the tokenizer's size to ship a larger one")
	out := flag.String("out", "", "model folder to write")
	routerGain := flag.Float64("router-gain", 0, "factor on MoE router weights (0: none); see Meta.RouterGain")
	greedy := flag.Int("greedy", 0, "new tokens of a greedy continuation to record (0: none)")
	flag.Parse()
	if err := run(*preset, *seed, *std, *gain, *routerGain, *greedy, *vocab, *lengths, *tok, *out); err != nil {
		fmt.Fprintln(os.Stderr, "mkmodel:", err)
		os.Exit(1)
	}
}

func run(preset string, seed uint64, std, gain, routerGain float64, greedy, vocab int, lengths, tokPath, out string) error {
	if out == "" {
		return fmt.Errorf("-out is required")
	}
	cfg, err := models.Preset(preset)
	if err != nil {
		return err
	}
	if vocab > 0 {
		cfg.VocabSize = vocab
	}
	if tokPath == "" {
		name, _, _ := strings.Cut(preset, "-") // tiny-moe and tiny-smollm3 ship tiny's
		tokPath = filepath.Join("models", "presets", "tokenizers", name+".json.gz")
	}
	t, err := tokenizer.Load(tokPath)
	if err != nil {
		return err
	}
	if t.VocabSize() > cfg.VocabSize {
		return fmt.Errorf("tokenizer %s: %d tokens exceed the vocab size %d", tokPath, t.VocabSize(), cfg.VocabSize)
	}
	w := qwen3.RandomWeights(cfg, seed, std)
	perturbNorms(cfg, w, gain)
	scaleRouters(cfg, w, routerGain)
	if err := models.SaveCheckpoint(out, cfg, w, models.SaveOptions{}); err != nil {
		return err
	}
	if err := t.Save(filepath.Join(out, "tokenizer.json")); err != nil {
		return err
	}
	meta := Meta{Preset: preset, Seed: seed, Std: std, NormGain: gain, NormRule: normRule, RouterGain: routerGain, Config: cfg}
	if greedy > 0 {
		meta.Greedy = &greedySpec{PromptLen: 8, NewTokens: greedy}
	}
	rng := rand.New(rand.NewPCG(seed+1000, 0))
	for _, f := range strings.Split(lengths, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 || n > cfg.MaxPositionEmbeddings {
			return fmt.Errorf("-lengths: bad length %q", f)
		}
		ids := make([]int64, n)
		for i := range ids {
			ids[i] = rng.Int64N(int64(cfg.VocabSize))
		}
		meta.Sequences = append(meta.Sequences, metaSequence{IDs: ids})
	}
	b, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "golden-meta.json"), b, 0o644)
}

// normRule describes perturbNorms in golden-meta.json.
const normRule = "weights named *norm.weight: w[i] = 1 + norm_gain*sin(0.7*(i+1) + j), j the tensor's index in Config.TensorSpecs()"

// perturbNorms replaces the all-ones RMSNorm weights of RandomWeights by a
// deterministic ripple around one, so that the golden also tells apart
// conventions that ones cannot: q/k norm before or after RoPE, q_norm vs
// k_norm, attn_norm vs ffn_norm. models/qwen3/llamacpp_test.go applies the
// same rule (keep the two in step).
func perturbNorms(cfg *models.Config, w map[string][]float32, gain float64) {
	for j, s := range cfg.TensorSpecs() {
		if !strings.HasSuffix(s.Name, "norm.weight") {
			continue
		}
		for i := range w[s.Name] {
			w[s.Name][i] = float32(1 + gain*math.Sin(0.7*float64(i+1)+float64(j)))
		}
	}
}

// scaleRouters multiplies every MoE router weight by gain (0 leaves them);
// models/qwen3/llamacpp_test.go applies the same rule.
func scaleRouters(cfg *models.Config, w map[string][]float32, gain float64) {
	if gain == 0 {
		return
	}
	for i := range cfg.NumHiddenLayers {
		if r, ok := w[models.RouterName(i)]; ok {
			for j := range r {
				r[j] *= float32(gain)
			}
		}
	}
}
