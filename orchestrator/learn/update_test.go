package learn

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"pz/export/exporttest"
	"pz/models/qwen3"
)

// learnerOld returns the learner's own log-probs of each completion token
// under its current weights.
func learnerOld(t *testing.T, l *Learner, b []Sample) [][]float32 {
	t.Helper()
	fr, err := l.freezeOld(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]float32, len(fr))
	for i, s := range fr {
		out[i] = s.OldLogProbs
	}
	return out
}

// TestTISWeightsTheLoss: with --tis-cap and the rollout's log-probs (no
// --recompute-old), the learner's old log-probs are its own, so the ratio
// is 1 and the token-mean loss is −(1/N) Σ A·min(exp(old_learner −
// old_rollout), cap). The rollout's log-probs are set to the learner's
// minus δ, δ alternating 1 (weight e, capped to 2) and −0.5 (weight
// e^−0.5), so the expected loss is computed by hand here.
func TestTISWeightsTheLoss(t *testing.T) {
	cfg := microConfig()
	const tisCap = 2
	l, err := New(exporttest.Runtime(t), cfg, qwen3.RandomWeights(cfg, 6, 0.5), Options{Optimizer: "sgd", LR: 1e-3, TISCap: tisCap})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	b := batch()
	mine := learnerOld(t, l, b)
	want, n := 0.0, 0
	for i := range b {
		b[i].OldLogProbs = make([]float32, len(mine[i]))
		for j := range mine[i] {
			delta := 1.0
			if j%2 == 1 {
				delta = -0.5
			}
			b[i].OldLogProbs[j] = mine[i][j] - float32(delta)
			if b[i].LossMask == nil || b[i].LossMask[j] != 0 {
				want += -float64(b[i].Advantage) * math.Min(math.Exp(delta), tisCap)
				n++
			}
		}
	}
	want /= float64(n)
	m, err := l.Step(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(m.PGLoss-want) > 1e-4*math.Max(1, math.Abs(want)) {
		t.Errorf("pg loss %.7g, want %.7g (TIS-weighted by hand)", m.PGLoss, want)
	}
	if got := TISWeight(-1, -2, 2); math.Abs(got-2) > 0 {
		t.Errorf("TISWeight(-1, -2, 2) = %g, want the cap 2", got)
	}
	if got := TISWeight(-2, -1.5, 2); math.Abs(got-math.Exp(-0.5)) > 1e-15 {
		t.Errorf("TISWeight(-2, -1.5, 2) = %g, want e^-0.5", got)
	}
}

// TestTISNeedsRolloutLogProbs: TIS on rows without the rollout's log-probs
// is an error naming the flag, not a silent no-op.
func TestTISNeedsRolloutLogProbs(t *testing.T) {
	cfg := microConfig()
	l, err := New(exporttest.Runtime(t), cfg, qwen3.RandomWeights(cfg, 6, 0.5), Options{LR: 1e-3, TISCap: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = l.Step(context.Background(), batch())
	if err == nil || !strings.Contains(err.Error(), "--tis-cap") {
		t.Fatalf("err %v, want one naming --tis-cap", err)
	}
	if _, err := l.Update(context.Background(), batch(), UpdateOptions{Epochs: 2}, 0); err == nil || !strings.Contains(err.Error(), "--tis-cap") {
		t.Fatalf("Update: err %v, want one naming --tis-cap", err)
	}
}

// TestClipActsWithTwoEpochs: with old log-probs from the learner, one
// update per batch keeps the ratio at 1 (clip fraction 0, as two separate
// Steps show); Update with two epochs freezes the old policy before the
// first, so the second update's ratios have moved and some are clipped.
func TestClipActsWithTwoEpochs(t *testing.T) {
	cfg := microConfig()
	w0 := qwen3.RandomWeights(cfg, 7, 0.5)
	newL := func() *Learner {
		l, err := New(exporttest.Runtime(t), cfg, cloneWeights(w0), Options{LR: 0.05})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}
	l := newL()
	for range 2 {
		m, err := l.Step(context.Background(), batch())
		if err != nil {
			t.Fatal(err)
		}
		if m.ClipFrac != 0 {
			t.Fatalf("a fresh recompute gave clip fraction %g, want 0", m.ClipFrac)
		}
	}
	l = newL()
	ms, err := l.Update(context.Background(), batch(), UpdateOptions{Epochs: 2}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || l.StepCount() != 2 {
		t.Fatalf("%d metrics, %d steps; want 2 and 2", len(ms), l.StepCount())
	}
	if ms[0].ClipFrac != 0 || !(ms[1].ClipFrac > 0) {
		t.Errorf("clip fractions %g, %g; want 0 then > 0", ms[0].ClipFrac, ms[1].ClipFrac)
	}
	if c := Combine(ms); c.ClipFrac != (ms[0].ClipFrac+ms[1].ClipFrac)/2 || c.Tokens != ms[0].Tokens+ms[1].Tokens {
		t.Errorf("Combine: %+v", c)
	}
}

// TestUpdateMiniBatches: mini-batches make one optimizer step each, an
// empty one is skipped (and still counted), and bad options name the flag.
func TestUpdateMiniBatches(t *testing.T) {
	cfg := microConfig()
	l, err := New(exporttest.Runtime(t), cfg, qwen3.RandomWeights(cfg, 8, 0.5), Options{LR: 1e-3})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ms, err := l.Update(context.Background(), batch()[:1], UpdateOptions{MiniBatches: 2, Seed: 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || l.StepCount() != 2 || (ms[0].Skipped == "") == (ms[1].Skipped == "") {
		t.Fatalf("metrics %+v, step count %d: want one applied and one skipped update", ms, l.StepCount())
	}
	for _, c := range []struct {
		o    UpdateOptions
		rows int
		flag string
	}{{UpdateOptions{MiniBatches: 9}, 8, "--mini-batches 9"}, {UpdateOptions{Epochs: -1}, 8, "--ppo-epochs"}} {
		if err := c.o.Validate(c.rows); err == nil || !strings.Contains(err.Error(), c.flag) {
			t.Errorf("%+v with %d rows: %v, want an error naming %s", c.o, c.rows, err, c.flag)
		}
	}
}

// TestMiniBatchOrder: each row lands in exactly one mini-batch, sizes
// differ by at most one, the order is a function of the seed, and rows
// that arrive grouped (4 generator rows, then 4 predictor rows) are mixed.
func TestMiniBatchOrder(t *testing.T) {
	if got := MiniBatchOrder(5, 1, 3, 0, 0); !slices.Equal(got[0], []int{0, 1, 2, 3, 4}) {
		t.Errorf("one mini-batch reordered the rows: %v", got)
	}
	mixed, total := 0, 0
	for seed := range uint64(20) {
		got := MiniBatchOrder(8, 2, seed, 5, 1)
		var all []int
		for _, mb := range got {
			if len(mb) != 4 {
				t.Fatalf("seed %d: sizes %v", seed, got)
			}
			all = append(all, mb...)
			total++
			if slices.IndexFunc(mb, func(i int) bool { return i < 4 }) >= 0 && slices.IndexFunc(mb, func(i int) bool { return i >= 4 }) >= 0 {
				mixed++
			}
		}
		slices.Sort(all)
		if !slices.Equal(all, seq(8)) {
			t.Fatalf("seed %d: rows %v", seed, all)
		}
		if again := MiniBatchOrder(8, 2, seed, 5, 1); !slices.EqualFunc(got, again, slices.Equal) {
			t.Fatalf("seed %d: not reproducible", seed)
		}
	}
	if mixed*2 < total {
		t.Errorf("only %d of %d mini-batches mix the two halves", mixed, total)
	}
	a, b := MiniBatchOrder(8, 2, 1, 0, 0), MiniBatchOrder(8, 2, 1, 0, 1)
	if slices.EqualFunc(a, b, slices.Equal) {
		t.Errorf("epochs 0 and 1 have the same order %v", a)
	}
}
