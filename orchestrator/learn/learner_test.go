package learn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"

	"pz/export"
	"pz/export/exporttest"
	rt "pz/export/ort"
	"pz/models"
	"pz/models/loss"
	"pz/models/qwen3"
)

func microConfig() *models.Config {
	c := models.Tiny()
	c.HiddenSize, c.IntermediateSize = 8, 12
	c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim = 1, 2, 1, 4
	c.VocabSize = 17
	return &c
}

func cloneWeights(w map[string][]float32) map[string][]float32 {
	out := map[string][]float32{}
	for k, v := range w {
		out[k] = append([]float32(nil), v...)
	}
	return out
}

func batch() []Sample {
	return []Sample{
		{PromptIDs: []int32{1, 2, 3}, CompletionIDs: []int32{4, 5}, Advantage: 1},
		{PromptIDs: []int32{1, 2, 3}, CompletionIDs: []int32{6, 7, 8, 9}, Advantage: -0.5},
		{PromptIDs: []int32{10, 11}, CompletionIDs: []int32{12}, Advantage: 0.75, LossMask: []int8{1}},
		{PromptIDs: []int32{10, 11, 13, 14}, CompletionIDs: []int32{15, 16, 0}, Advantage: -1.25, LossMask: []int8{1, 0, 1}},
	}
}

// objective is the token-mean policy loss with ratio 1 (no old log-probs):
// −(1/N) Σ_tokens A·log p, whose gradient equals the clipped surrogate's at
// ratio 1. It is evaluated in float64 through a separate forward graph.
func objective(t *testing.T, cfg *models.Config, w map[string][]float64, b []Sample) float64 {
	t.Helper()
	g := export.NewGraph("objective")
	feeds := map[string]*rt.Tensor{}
	m := qwen3.Bind(g, cfg, export.Float64, func(g *export.Graph, name string, shape []int64) *export.Value {
		feeds[name] = rt.F64(shape, w[name])
		return g.Input(name, export.Float64, export.StaticShape(shape))
	})
	total, N := 0.0, 0
	for _, s := range b {
		for j := range s.CompletionIDs {
			if s.LossMask == nil || s.LossMask[j] != 0 {
				N++
			}
		}
	}
	var parts []*export.Value
	for i, s := range b {
		seq := append(append([]int32{}, s.PromptIDs...), s.CompletionIDs...)
		n := len(seq) - 1
		ids, pos, mask, tgt := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		wt := make([]float64, n)
		for k := range n {
			ids[k], pos[k], mask[k], tgt[k] = int64(seq[k]), int64(k), 1, int64(seq[k+1])
			if j := k + 1 - len(s.PromptIDs); j >= 0 && (s.LossMask == nil || s.LossMask[j] != 0) {
				wt[k] = -float64(s.Advantage) / float64(N)
			}
		}
		c := func(v []int64) *export.Value { return g.Const(export.TensorI64([]int64{1, int64(n)}, v)) }
		lp, _ := m.TargetLogProbs(g, c(ids), c(pos), c(mask), c(tgt), false)
		parts = append(parts, g.ReduceSum(g.Mul(lp, g.Const(export.TensorF64([]int64{1, int64(n)}, wt))), nil, false))
		_ = i
	}
	sum := parts[0]
	for _, p := range parts[1:] {
		sum = g.Add(sum, p)
	}
	g.Output("loss", sum)
	out := exporttest.Run(t, g, feeds)
	total = out["loss"].Data.([]float64)[0]
	return total
}

// TestSGDStepIsMinusGradient: with SGD, lr 1, no clipping and no decay,
// one step must move the weights by exactly −∇(token-mean clipped loss);
// the gradient is checked against central finite differences of the loss
// computed independently in float64. It runs with the full-vocabulary
// head, and with the chunked one (hand-written backward) at a chunk size
// that does not divide the vocabulary.
func TestSGDStepIsMinusGradient(t *testing.T) {
	for _, chunk := range []int{-1, 5} {
		t.Run(fmt.Sprintf("vocab_chunk=%d", chunk), func(t *testing.T) { testSGDStep(t, chunk) })
	}
}

func testSGDStep(t *testing.T, chunk int) {
	cfg := microConfig()
	w0 := qwen3.RandomWeights(cfg, 3, 0.5)
	l, err := New(exporttest.Runtime(t), cfg, cloneWeights(w0), Options{Optimizer: "sgd", LR: 1, VocabChunk: chunk})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Step(context.Background(), batch()); err != nil {
		t.Fatal(err)
	}
	w1 := l.Weights()
	w64 := map[string][]float64{}
	for k, v := range w0 {
		w64[k] = make([]float64, len(v))
		for i, x := range v {
			w64[k][i] = float64(x)
		}
	}
	const h = 1e-5
	checked := 0
	for _, name := range []string{"model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight",
		"model.layers.0.self_attn.k_norm.weight", "model.layers.0.mlp.down_proj.weight", "model.norm.weight"} {
		for _, i := range []int{0, len(w0[name]) / 2, len(w0[name]) - 1} {
			orig := w64[name][i]
			w64[name][i] = orig + h
			lp := objective(t, cfg, w64, batch())
			w64[name][i] = orig - h
			lm := objective(t, cfg, w64, batch())
			w64[name][i] = orig
			fd := (lp - lm) / (2 * h)
			got := float64(w0[name][i] - w1[name][i]) // = g
			if math.Abs(got-fd) > 1e-5+1e-3*math.Abs(fd) {
				t.Errorf("%s[%d]: update %.8g, finite-difference gradient %.8g", name, i, got, fd)
			}
			checked++
		}
	}
	t.Logf("checked %d weights", checked)
}

// TestMicroBatchesDoNotChangeTheStep: the denominator spans the whole
// batch, so splitting it into micro-batches gives the same update.
func TestMicroBatchesDoNotChangeTheStep(t *testing.T) {
	cfg := microConfig()
	w0 := qwen3.RandomWeights(cfg, 4, 0.5)
	run := func(tokens int) map[string][]float32 {
		l, err := New(exporttest.Runtime(t), cfg, cloneWeights(w0), Options{LR: 1e-2, MicroBatchTokens: tokens})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		m, err := l.Step(context.Background(), batch())
		if err != nil {
			t.Fatal(err)
		}
		if tokens == 1 && m.MicroBatch != 4 {
			t.Errorf("%d micro-batches, want 4", m.MicroBatch)
		}
		return l.Weights()
	}
	one, many := run(1<<20), run(1)
	for k, a := range one {
		for i := range a {
			if d := math.Abs(float64(a[i] - many[k][i])); d > 1e-6 {
				t.Fatalf("%s[%d]: %g vs %g", k, i, a[i], many[k][i])
			}
		}
	}
}

func TestNonFiniteStepIsSkipped(t *testing.T) {
	cfg := microConfig()
	w0 := qwen3.RandomWeights(cfg, 5, 0.5)
	l, err := New(exporttest.Runtime(t), cfg, cloneWeights(w0), Options{LR: 1e-2})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	b := batch()
	b[1].Advantage = float32(math.NaN())
	m, err := l.Step(context.Background(), b)
	if !errors.Is(err, ErrNonFinite) || m.Skipped == "" {
		t.Fatalf("err %v, skipped %q", err, m.Skipped)
	}
	for k, v := range l.Weights() {
		for i := range v {
			if v[i] != w0[k][i] {
				t.Fatalf("%s changed after a skipped step", k)
			}
		}
	}
	if l.StepCount() != 0 {
		t.Errorf("step count %d", l.StepCount())
	}
}

func TestBadSamples(t *testing.T) {
	cfg := microConfig()
	l, err := New(exporttest.Runtime(t), cfg, qwen3.RandomWeights(cfg, 5, 0.5), Options{LR: 1e-2})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, b := range [][]Sample{
		{{PromptIDs: []int32{1}, CompletionIDs: []int32{99}}},
		{{PromptIDs: []int32{1}, CompletionIDs: []int32{2, 3}, OldLogProbs: []float32{-1}}},
	} {
		if _, err := l.Step(context.Background(), b); err == nil {
			t.Errorf("no error for %+v", b)
		}
	}
}

func TestLRSchedule(t *testing.T) {
	o := Options{LR: 1, Schedule: "cosine", WarmupSteps: 2, TotalSteps: 12, MinLRRatio: 0.1}
	cases := map[int64]float64{0: 0.5, 1: 1, 2: 1, 7: 0.1 + 0.9*0.5, 12: 0.1, 20: 0.1}
	for step, want := range cases {
		if got := o.LRAt(step); math.Abs(got-want) > 1e-12 {
			t.Errorf("lr at %d = %g, want %g", step, got, want)
		}
	}
}

// TestRowEntropyBonus: a per-row entropy bonus (Sample.EntropyCoef with
// EntropyPerToken) is linear in the rows it covers: with SGD at lr 1 the
// updates of "bonus on rows {0,2}" and "bonus on rows {1,3}" sum to the
// update of the global bonus plus the update with none; the shared-prefix
// path gives the plain path's update; and the bonus changes the update.
func TestRowEntropyBonus(t *testing.T) {
	cfg := microConfig()
	w0 := qwen3.RandomWeights(cfg, 6, 0.5)
	const c = 0.3
	run := func(global float64, rows []int, shared bool) map[string][]float32 {
		t.Helper()
		o := Options{Optimizer: "sgd", LR: 1, DType: export.Float64, SharedPrefix: shared}
		o.Policy = loss.DefaultPolicy()
		o.Policy.EntropyCoef = global
		o.Policy.EntropyPerToken = rows != nil
		l, err := New(exporttest.Runtime(t), cfg, cloneWeights(w0), o)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		b := batch()
		for _, i := range rows {
			b[i].EntropyCoef = c
		}
		if _, err := l.Step(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		return l.Weights()
	}
	none, all := run(0, nil, false), run(c, nil, false)
	even, odd := run(0, []int{0, 2}, false), run(0, []int{1, 3}, false)
	evenShared := run(0, []int{0, 2}, true)
	moved := 0.0
	for k := range w0 {
		for i := range w0[k] {
			// Updates relative to w0: (even−w0) + (odd−w0) = (all−w0) + (none−w0).
			lhs := float64(even[k][i]) + float64(odd[k][i])
			rhs := float64(all[k][i]) + float64(none[k][i])
			if d := math.Abs(lhs - rhs); d > 1e-6 {
				t.Fatalf("%s[%d]: even+odd %.9g, all+none %.9g", k, i, lhs, rhs)
			}
			if d := math.Abs(float64(even[k][i] - evenShared[k][i])); d > 1e-6 {
				t.Fatalf("%s[%d]: shared-prefix %.9g, plain %.9g", k, i, evenShared[k][i], even[k][i])
			}
			moved = math.Max(moved, math.Abs(float64(even[k][i]-none[k][i])))
		}
	}
	if moved < 1e-4 {
		t.Errorf("the bonus on rows {0,2} moved no weight by more than %g", moved)
	}
}

// TestRecycleWeights: writing updates into the buffers of the weights two
// steps back gives bit-identical steps, leaves the previous version intact
// for one more step (the contract pz train's engine relies on), and does
// reuse the buffers.
func TestRecycleWeights(t *testing.T) {
	cfg := microConfig()
	w0 := qwen3.RandomWeights(cfg, 7, 0.5)
	run := func(recycle bool) (versions []map[string][]float32, intact bool, reused bool) {
		l, err := New(exporttest.Runtime(t), cfg, cloneWeights(w0), Options{LR: 1e-2, RecycleWeights: recycle})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		intact = true
		var prev map[string][]float32
		seen := map[*float32]bool{}
		for range 5 {
			if _, err := l.Step(context.Background(), batch()); err != nil {
				t.Fatal(err)
			}
			cur := l.Weights()
			// The version before this step must still read as it did.
			if prev != nil {
				for k, v := range prev {
					for i := range v {
						intact = intact && v[i] == versions[len(versions)-1][k][i]
					}
				}
			}
			name := "model.norm.weight"
			reused = reused || seen[&cur[name][0]]
			seen[&cur[name][0]] = true
			prev = cur
			versions = append(versions, cloneWeights(cur))
		}
		return versions, intact, reused
	}
	plain, _, plainReused := run(false)
	recycled, intact, reused := run(true)
	for s := range plain {
		for k, v := range plain[s] {
			for i := range v {
				if v[i] != recycled[s][k][i] {
					t.Fatalf("step %d %s[%d]: %g recycled, %g plain", s, k, i, recycled[s][k][i], v[i])
				}
			}
		}
	}
	if !intact {
		t.Error("the previous version changed during the next step")
	}
	if !reused || plainReused {
		t.Errorf("buffers reused: recycled %t (want true), plain %t (want false)", reused, plainReused)
	}
}
