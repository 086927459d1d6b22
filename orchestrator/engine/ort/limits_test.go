package ort

import (
	"context"
	"strings"
	"testing"

	"pz/export/exporttest"
	"pz/models"
	"pz/models/qwen3"
	"pz/orchestrator"
	"pz/orchestrator/sample"
)

// qwen3_4B is Qwen3-4B-Base's config.json (the sizes that matter here).
func qwen3_4B() *models.Config {
	c := models.Tiny()
	c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers = 2560, 9728, 36
	c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim = 32, 8, 128
	c.VocabSize, c.MaxPositionEmbeddings = 151936, 32768
	return &c
}

func TestResolveWeightMode(t *testing.T) {
	tiny := models.Tiny()
	for _, c := range []struct {
		cfg     *models.Config
		mode    WeightMode
		want    WeightMode
		wantErr string
	}{
		{&tiny, "", WeightsInitializers, ""},
		{&tiny, WeightsAuto, WeightsInitializers, ""},
		{&tiny, WeightsInputs, WeightsInputs, ""},
		{qwen3_4B(), "", WeightsInputs, ""},
		{qwen3_4B(), WeightsAuto, WeightsInputs, ""},
		{qwen3_4B(), WeightsInitializers, "", "16.09 GB"},
		{&tiny, "bogus", "", `"bogus"`},
	} {
		got, err := ResolveWeightMode(c.cfg, c.mode)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%d params, %q: %v, want an error with %q", c.cfg.ParamCount(), c.mode, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%d params, %q: %q, %v; want %q", c.cfg.ParamCount(), c.mode, got, err, c.want)
		}
	}
}

// TestVocabLimitAndBannedIDs: a random model over 120 ids samples ids up
// to 119; with the tokenizer's 16 ids as the limit and 3 and 5 undefined,
// no sampler (temperature, top-k, greedy) draws an id at or past 16, or
// 3 or 5.
func TestVocabLimitAndBannedIDs(t *testing.T) {
	cfg := models.Tiny()
	cfg.VocabSize = 120
	w := qwen3.RandomWeights(&cfg, 21, 0.3)
	rq := []orchestrator.GenRequest{
		{Prompt: []int32{5, 9, 33, 7}, N: 8, Seed: 1, Sampling: sample.Options{Temperature: 1.5}, MaxNewTokens: 20},
		{Prompt: []int32{1, 2}, N: 4, Seed: 2, Sampling: sample.Options{Temperature: 1, TopK: 50}, MaxNewTokens: 20},
		{Prompt: []int32{100, 3}, N: 1, Sampling: sample.Options{}, MaxNewTokens: 20},
	}
	draw := func(o Options) map[int32]bool {
		o.IntraOpThreads, o.EOS = 1, []int32{-1}
		e, err := New(exporttest.Runtime(t), &cfg, w, o)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		res, err := e.Generate(context.Background(), rq)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int32]bool{}
		for _, r := range res {
			for _, c := range r.Completions {
				for _, id := range c.IDs {
					seen[id] = true
				}
			}
		}
		return seen
	}
	free := draw(Options{})
	past := 0
	for id := range free {
		if id >= 16 {
			past++
		}
	}
	if past == 0 {
		t.Fatal("without a limit no id >= 16 was drawn: the test would prove nothing")
	}
	for id := range draw(Options{VocabLimit: 16, Banned: []int32{3, 5}}) {
		if id >= 16 || id == 3 || id == 5 {
			t.Errorf("drew id %d", id)
		}
	}
}

type fakeVocab []string

func (f fakeVocab) VocabSize() int              { return len(f) }
func (f fakeVocab) TokenString(id int32) string { return f[id] }

func TestVocabMask(t *testing.T) {
	limit, banned, err := VocabMask(8, fakeVocab{"a", "", "c", "d", ""})
	if err != nil || limit != 5 || len(banned) != 2 || banned[0] != 1 || banned[1] != 4 {
		t.Errorf("limit %d, banned %v, %v; want 5, [1 4]", limit, banned, err)
	}
	if limit, _, err := VocabMask(3, fakeVocab{"a", "b", "c"}); err != nil || limit != 0 {
		t.Errorf("dense: limit %d, %v; want 0 (no limit)", limit, err)
	}
	if _, _, err := VocabMask(2, fakeVocab{"a", "b", "c"}); err == nil || !strings.Contains(err.Error(), "3 ids") {
		t.Errorf("tokenizer larger than the model: %v", err)
	}
}
