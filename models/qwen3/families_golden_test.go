package qwen3

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"pz/export/exporttest"
	"pz/export/ort"
	"pz/models"
)

// TestLlamaCppGreedy checks pz's decode graph (prefill, then one token at
// a time through the KV cache) against llama.cpp's greedy continuation
// recorded in the tiny-moe and tiny-smollm3 goldens.
func TestLlamaCppGreedy(t *testing.T) {
	for _, preset := range []string{"tiny-moe", "tiny-smollm3"} {
		t.Run(preset, func(t *testing.T) {
			cfg, gold := loadLlamaGolden(t, preset)
			if gold.Greedy == nil || len(gold.Greedy.Tokens) == 0 {
				t.Fatal("golden has no greedy continuation")
			}
			got := greedyDecode(t, cfg, goldenWeights(cfg, gold), gold.Sequences[0].IDs[:gold.Greedy.PromptLen], gold.Greedy.NewTokens)
			if !slices.Equal(got, gold.Greedy.Tokens) {
				t.Errorf("greedy tokens\n pz        %v\n llama.cpp %v", got, gold.Greedy.Tokens)
			}
		})
	}
}

// greedyDecode continues prompt by n argmax tokens (lowest id on a tie)
// with the standard decode graph and its KV cache.
func greedyDecode(t *testing.T, cfg *models.Config, w map[string][]float32, prompt []int64, n int) []int64 {
	t.Helper()
	dm, err := BuildDecode(cfg, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := dm.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	sess, err := exporttest.Runtime(t).NewSession(b, ort.SessionOptions{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	feeds := weightFeeds(cfg, w)
	empty := []int64{1, int64(cfg.NumKeyValueHeads), 0, int64(cfg.HeadDim)}
	for l := range cfg.NumHiddenLayers {
		feeds[PastKey(l)], feeds[PastValue(l)] = ort.F32(empty, nil), ort.F32(empty, nil)
	}
	ids, total := prompt, 0
	var out []int64
	for range n {
		pos, mask := make([]int64, len(ids)), make([]int64, total+len(ids))
		for j := range pos {
			pos[j] = int64(total + j)
		}
		for j := range mask {
			mask[j] = 1
		}
		total += len(ids)
		feeds[InputIDs], feeds[PositionIDs], feeds[AttentionMask] = i64t(1, len(ids), ids), i64t(1, len(ids), pos), i64t(1, total, mask)
		res, err := sess.Run(context.Background(), feeds)
		if err != nil {
			t.Fatal(err)
		}
		logits := res[Logits].Data.([]float32)
		best := 0
		for i, v := range logits {
			if v > logits[best] {
				best = i
			}
		}
		out = append(out, int64(best))
		ids = []int64{int64(best)}
		for l := range cfg.NumHiddenLayers {
			feeds[PastKey(l)], feeds[PastValue(l)] = res[PresentKey(l)], res[PresentValue(l)]
		}
	}
	return out
}

// TestLlamaCppFamilyGoldensCatchErrors shows the new families' goldens can
// fail: each plausible mistake, simulated by a change of config or
// weights, must miss llama.cpp by far more than the tolerance.
func TestLlamaCppFamilyGoldensCatchErrors(t *testing.T) {
	cases := []struct {
		preset, name string
		mutate       func(c *models.Config, w map[string][]float32)
	}{
		{"tiny-smollm3", "RoPE on every layer (NoPE ignored)", func(c *models.Config, _ map[string][]float32) {
			c.NoPE = models.NoPE{Layers: []int{1, 1, 1, 1}, Interval: 4}
		}},
		{"tiny-smollm3", "NoPE on the first layer instead of the fourth", func(c *models.Config, _ map[string][]float32) {
			c.NoPE = models.NoPE{Layers: []int{0, 1, 1, 1}, Interval: 4}
		}},
		{"tiny-moe", "top-k weights not renormalised", func(c *models.Config, _ map[string][]float32) { c.MoE.NormTopKProb = false }},
		{"tiny-moe", "top-1 instead of top-2", func(c *models.Config, _ map[string][]float32) { c.MoE.NumExpertsPerTok = 1 }},
		{"tiny-moe", "top-3 instead of top-2", func(c *models.Config, _ map[string][]float32) { c.MoE.NumExpertsPerTok = 3 }},
		{"tiny-moe", "router rows of experts 0 and 1 swapped", func(c *models.Config, w map[string][]float32) {
			for l := range c.NumHiddenLayers {
				r := w[models.RouterName(l)]
				H := c.HiddenSize
				for j := range H {
					r[j], r[H+j] = r[H+j], r[j]
				}
			}
		}},
		{"tiny-moe", "gate_proj and up_proj of each expert swapped", func(c *models.Config, w map[string][]float32) {
			for l := range c.NumHiddenLayers {
				for e := range c.MoE.NumExperts {
					g, u := models.ExpertName(l, e, "gate_proj"), models.ExpertName(l, e, "up_proj")
					w[g], w[u] = w[u], w[g]
				}
			}
		}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%s", tc.preset, tc.name), func(t *testing.T) {
			cfg, gold := loadLlamaGolden(t, tc.preset)
			mustMissGolden(t, cfg, gold, tc.mutate)
		})
	}
}
