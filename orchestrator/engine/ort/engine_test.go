package ort

import (
	"context"
	"math"
	"slices"
	"testing"

	"pz/export/exporttest"
	"pz/models"
	"pz/models/qwen3"
	"pz/orchestrator"
	"pz/orchestrator/sample"
)

func testEngine(t *testing.T, mode WeightMode, maxBatch int) (*Engine, *models.Config) {
	t.Helper()
	return testEngineOps(t, mode, maxBatch, false)
}

// testEngineOps builds an engine decoding with the fused graph, or with
// its standard-op twin.
func testEngineOps(t *testing.T, mode WeightMode, maxBatch int, standard bool) (*Engine, *models.Config) {
	t.Helper()
	cfg := models.Tiny()
	cfg.VocabSize = 120
	e, err := New(exporttest.Runtime(t), &cfg, qwen3.RandomWeights(&cfg, 21, 0.3),
		Options{Weights: mode, MaxBatch: maxBatch, IntraOpThreads: 1, StandardOps: standard})
	if err != nil {
		t.Fatal(err)
	}
	if e.fused == standard {
		t.Fatalf("engine decodes fused=%v, want %v", e.fused, !standard)
	}
	t.Cleanup(func() { e.Close() })
	return e, &cfg
}

var flavours = []struct {
	name     string
	standard bool
}{{"fused", false}, {"standard", true}}

func reqs() []orchestrator.GenRequest {
	s := sample.Options{Temperature: 1}
	return []orchestrator.GenRequest{
		{Prompt: []int32{5, 9, 33, 7, 81}, N: 3, Seed: 10, Sampling: s, MaxNewTokens: 12},
		{Prompt: []int32{17, 2}, N: 2, Seed: 20, Sampling: sample.Options{Temperature: 0.7, TopK: 20}, MaxNewTokens: 7},
		{Prompt: []int32{100, 101, 102}, N: 1, Seed: 30, Sampling: sample.Options{}, MaxNewTokens: 5},
		// Enough rows for sampleRows to split them between goroutines.
		{Prompt: []int32{7, 7, 7, 1}, N: 8, Seed: 40, Sampling: sample.Options{Temperature: 1.2, TopP: 0.9}, MaxNewTokens: 9},
	}
}

// checkAgainstScore: the policy log-probs recorded while generating (with
// left padding, shared-prefill fan-out, the KV cache and row compaction)
// equal the train graph's log-probs of the same sequences.
func checkAgainstScore(t *testing.T, e *Engine, rq []orchestrator.GenRequest, res []orchestrator.GenResult) {
	t.Helper()
	var sr []orchestrator.ScoreRequest
	var comps []orchestrator.Completion
	for i, r := range res {
		for _, c := range r.Completions {
			sr = append(sr, orchestrator.ScoreRequest{IDs: slices.Concat(rq[i].Prompt, c.IDs), From: len(rq[i].Prompt)})
			comps = append(comps, c)
		}
	}
	sc, err := e.Score(context.Background(), sr)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, c := range comps {
		if len(sc[i].LogProbs) != len(c.IDs) || len(c.PolicyLogProbs) != len(c.IDs) {
			t.Fatalf("completion %d: %d ids, %d policy log-probs, %d scored", i, len(c.IDs), len(c.PolicyLogProbs), len(sc[i].LogProbs))
		}
		for j := range c.IDs {
			d := math.Abs(float64(sc[i].LogProbs[j] - c.PolicyLogProbs[j]))
			worst = max(worst, d)
			if d > 1e-4 {
				t.Errorf("completion %d token %d: generated with log-prob %.6f, scored %.6f", i, j, c.PolicyLogProbs[j], sc[i].LogProbs[j])
			}
		}
	}
	t.Logf("max |Δ log-prob| generate vs score: %.2g", worst)
}

func TestGenerateMatchesScore(t *testing.T) {
	for _, mode := range []WeightMode{WeightsInitializers, WeightsInputs} {
		for _, fl := range flavours {
			t.Run(string(mode)+"/"+fl.name, func(t *testing.T) {
				testGenerateMatchesScore(t, mode, fl.standard)
			})
		}
	}
}

// TestFlavoursAgree: the fused decode graph and its standard-op twin
// sample the same tokens with the same log-probs (design/STYLE.md point 6).
func TestFlavoursAgree(t *testing.T) {
	fused, _ := testEngineOps(t, WeightsInitializers, 4, false)
	std, _ := testEngineOps(t, WeightsInitializers, 4, true)
	rq := reqs()
	a, err := fused.Generate(context.Background(), rq)
	if err != nil {
		t.Fatal(err)
	}
	b, err := std.Generate(context.Background(), rq)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i := range rq {
		for j, c := range a[i].Completions {
			d := b[i].Completions[j]
			if !slices.Equal(c.IDs, d.IDs) || c.Finish != d.Finish {
				t.Fatalf("request %d sample %d: fused %v (%s), standard %v (%s)", i, j, c.IDs, c.Finish, d.IDs, d.Finish)
			}
			for k := range c.PolicyLogProbs {
				worst = max(worst, math.Abs(float64(c.PolicyLogProbs[k]-d.PolicyLogProbs[k])))
			}
		}
	}
	if worst > 1e-4 {
		t.Errorf("policy log-probs differ by up to %.2g", worst)
	}
	t.Logf("max |Δ log-prob| fused vs standard: %.2g", worst)
}

func testGenerateMatchesScore(t *testing.T, mode WeightMode, standard bool) {
	e, _ := testEngineOps(t, mode, 64, standard)
	rq := reqs()
	res, err := e.Generate(context.Background(), rq)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if len(r.Completions) != rq[i].N {
			t.Fatalf("request %d: %d completions", i, len(r.Completions))
		}
		for _, c := range r.Completions {
			if len(c.IDs) != rq[i].MaxNewTokens || c.Finish != orchestrator.FinishLength {
				t.Errorf("request %d: %d tokens, finish %s", i, len(c.IDs), c.Finish)
			}
		}
	}
	checkAgainstScore(t, e, rq, res)
}

// TestGenerateIsIndependentOfBatch: a request's completions depend only
// on its seed, not on what else is in the batch or the wave size.
func TestGenerateIsIndependentOfBatch(t *testing.T) {
	e, _ := testEngine(t, WeightsInitializers, 64)
	small, _ := testEngine(t, WeightsInitializers, 2)
	rq := reqs()
	all, err := e.Generate(context.Background(), rq)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rq {
		alone, err := small.Generate(context.Background(), rq[i:i+1])
		if err != nil {
			t.Fatal(err)
		}
		for j := range alone[0].Completions {
			if !slices.Equal(alone[0].Completions[j].IDs, all[i].Completions[j].IDs) {
				t.Errorf("request %d sample %d: %v alone, %v in a batch", i, j, alone[0].Completions[j].IDs, all[i].Completions[j].IDs)
			}
		}
	}
	// Samples of one prompt differ (the fan-out does not copy RNG streams).
	c := all[0].Completions
	if slices.Equal(c[0].IDs, c[1].IDs) && slices.Equal(c[1].IDs, c[2].IDs) {
		t.Errorf("three samples at temperature 1 are identical: %v", c[0].IDs)
	}
}

func TestGenerateStopsAtEOS(t *testing.T) {
	e, cfg := testEngine(t, WeightsInitializers, 64)
	greedy := []orchestrator.GenRequest{{Prompt: []int32{1, 2, 3}, N: 2, MaxNewTokens: 6}}
	res, err := e.Generate(context.Background(), greedy)
	if err != nil {
		t.Fatal(err)
	}
	ids := res[0].Completions[0].IDs
	if !slices.Equal(ids, res[0].Completions[1].IDs) {
		t.Fatalf("greedy samples differ: %v vs %v", ids, res[0].Completions[1].IDs)
	}
	// Make the third greedy token the end-of-sequence: generation stops there.
	e2, err := New(exporttest.Runtime(t), cfg, e.weights, Options{EOS: []int32{ids[2]}})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	res2, err := e2.Generate(context.Background(), greedy)
	if err != nil {
		t.Fatal(err)
	}
	c := res2[0].Completions[0]
	first := slices.Index(ids, ids[2])
	if c.Finish != orchestrator.FinishEOS || len(c.IDs) != first+1 {
		t.Errorf("got %v (%s), want %v ending at the EOS", c.IDs, c.Finish, ids[:first+1])
	}
}

func TestLoadWeights(t *testing.T) {
	for _, mode := range []WeightMode{WeightsInitializers, WeightsInputs} {
		t.Run(string(mode), func(t *testing.T) {
			e, cfg := testEngine(t, mode, 64)
			rq := reqs()
			before, _ := e.Generate(context.Background(), rq)
			if err := e.LoadWeights(context.Background(), qwen3.RandomWeights(cfg, 99, 0.3), 1); err != nil {
				t.Fatal(err)
			}
			after, err := e.Generate(context.Background(), rq)
			if err != nil {
				t.Fatal(err)
			}
			if slices.Equal(before[0].Completions[0].PolicyLogProbs, after[0].Completions[0].PolicyLogProbs) {
				t.Error("new weights did not change the policy")
			}
			checkAgainstScore(t, e, rq, after)
		})
	}
}

func TestBadRequests(t *testing.T) {
	e, _ := testEngine(t, WeightsInitializers, 64)
	for _, r := range []orchestrator.GenRequest{
		{Prompt: nil, N: 1, MaxNewTokens: 1},
		{Prompt: []int32{500}, N: 1, MaxNewTokens: 1},
		{Prompt: []int32{1}, N: 1, MaxNewTokens: 0},
		{Prompt: []int32{1}, N: 1, MaxNewTokens: 2, Sampling: sample.Options{Temperature: -1}},
		{Prompt: []int32{1}, N: 1, MaxNewTokens: 2, StopStrings: []string{"x"}},
	} {
		if _, err := e.Generate(context.Background(), []orchestrator.GenRequest{r}); err == nil {
			t.Errorf("no error for %+v", r)
		}
	}
	if _, err := e.Score(context.Background(), []orchestrator.ScoreRequest{{IDs: []int32{1, 999}, From: 1}}); err == nil {
		t.Error("no error for an id outside the vocabulary")
	}
}
