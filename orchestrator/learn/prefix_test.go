package learn

import (
	"context"
	"fmt"
	"math"
	"testing"

	"pz/export"
	"pz/export/exporttest"
	"pz/models/qwen3"
)

// groupBatch has GRPO-style groups (several completions of one prompt, of
// different lengths, some tokens masked), a group of one, and a one-token
// prompt (which takes the plain path).
func groupBatch() []Sample {
	return []Sample{
		{PromptIDs: []int32{1, 2, 3}, CompletionIDs: []int32{4, 5}, Advantage: 1},
		{PromptIDs: []int32{10, 11, 13, 14, 2}, CompletionIDs: []int32{15, 16, 0}, Advantage: -1.25, LossMask: []int8{1, 0, 1}},
		{PromptIDs: []int32{1, 2, 3}, CompletionIDs: []int32{6, 7, 8, 9}, Advantage: -0.5},
		{PromptIDs: []int32{10, 11, 13, 14, 2}, CompletionIDs: []int32{3}, Advantage: 0.5},
		{PromptIDs: []int32{1, 2, 3}, CompletionIDs: []int32{12}, Advantage: 0.25},
		{PromptIDs: []int32{7}, CompletionIDs: []int32{8, 9}, Advantage: 2},
		{PromptIDs: []int32{10, 11}, CompletionIDs: []int32{12, 5}, Advantage: 0.75},
		{PromptIDs: []int32{10, 11, 13, 14, 2}, CompletionIDs: []int32{16, 16, 1, 4}, Advantage: 0.3},
	}
}

// TestSharedPrefixStepEqualsPlain: with SGD and lr 1 the update is −∇loss;
// running each group's prompt once (its keys/values gathered to the
// completions) must give the plain batch's gradient, in float64 to 1e-9
// and in float32 to 1e-6, with one micro-batch or many.
func TestSharedPrefixStepEqualsPlain(t *testing.T) {
	cfg := microConfig()
	cfg.NumHiddenLayers = 2
	w0 := qwen3.RandomWeights(cfg, 11, 0.5)
	for _, c := range []struct {
		dt     export.DType
		tokens int
		tol    float64
	}{{export.Float64, 1 << 20, 1e-9}, {export.Float64, 12, 1e-9}, {export.Float32, 1 << 20, 1e-6}} {
		t.Run(fmt.Sprintf("%v/tokens=%d", c.dt, c.tokens), func(t *testing.T) {
			run := func(shared bool) (map[string][]float32, Metrics) {
				l, err := New(exporttest.Runtime(t), cfg, cloneWeights(w0), Options{Optimizer: "sgd", LR: 1,
					DType: c.dt, MicroBatchTokens: c.tokens, SharedPrefix: shared})
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
				m, err := l.Step(context.Background(), groupBatch())
				if err != nil {
					t.Fatal(err)
				}
				return l.Weights(), m
			}
			plain, mp := run(false)
			shared, ms := run(true)
			if math.Abs(mp.Loss-ms.Loss) > c.tol || mp.Tokens != ms.Tokens {
				t.Errorf("loss %.12g (%d tokens) plain, %.12g (%d tokens) shared", mp.Loss, mp.Tokens, ms.Loss, ms.Tokens)
			}
			moved := 0.0
			for k, a := range plain {
				for i := range a {
					moved = math.Max(moved, math.Abs(float64(a[i]-w0[k][i])))
					if d := math.Abs(float64(a[i] - shared[k][i])); d > c.tol*math.Max(1, math.Abs(float64(a[i]))) {
						t.Fatalf("%s[%d]: %.9g plain, %.9g shared (update %.3g)", k, i, a[i], shared[k][i], a[i]-w0[k][i])
					}
				}
			}
			if moved < 1e-4 {
				t.Fatalf("the step moved no weight by more than %g", moved)
			}
			t.Logf("micro-batches: %d plain, %d shared; largest update %.3g", mp.MicroBatch, ms.MicroBatch, moved)
		})
	}
}

// TestPackPrefix checks the layout of a shared-prefix micro-batch by hand.
func TestPackPrefix(t *testing.T) {
	l := &Learner{opts: Options{MicroBatchTokens: 1 << 20}}
	b := groupBatch()
	ws, _ := (&Learner{opts: Options{Aggregation: TokenMean}}).weightsFor(b)
	mbs := l.packPrefix(b, ws, []int{0, 2, 4, 6})
	if len(mbs) != 1 {
		t.Fatalf("%d micro-batches", len(mbs))
	}
	p := mbs[0]
	if p.Pn != 2 || p.Tp != 2 || p.B != 4 || p.T != 4 {
		t.Fatalf("Pn %d Tp %d B %d T %d", p.Pn, p.Tp, p.B, p.T)
	}
	want := map[string][]int64{
		"pids": {1, 2, 10, 0}, "pmask": {1, 1, 1, 0}, "pindex": {0, 0, 0, 1},
		"ids": {3, 4, 0, 0, 3, 6, 7, 8, 3, 0, 0, 0, 11, 12, 0, 0},
		"pos": {2, 3, 0, 0, 2, 3, 4, 5, 2, 0, 0, 0, 1, 2, 0, 0},
		"tgt": {4, 5, 0, 0, 6, 7, 8, 9, 12, 0, 0, 0, 12, 5, 0, 0},
	}
	got := map[string][]int64{"pids": p.pids, "pmask": p.pmask, "pindex": p.pindex, "ids": p.ids, "pos": p.pos, "tgt": p.tgt}
	for k, w := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(w) {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}
}
