package learn

import (
	"context"
	"math"
	"strings"
	"testing"

	"pz/export"
	"pz/export/exporttest"
	rt "pz/export/ort"
	"pz/models"
	"pz/models/qwen3"
)

// microMoE is a one-layer Qwen3-MoE (4 experts, top 2) for learner tests.
func microMoE() *models.Config {
	c := models.TinyMoE()
	m := microConfig()
	c.HiddenSize, c.VocabSize = m.HiddenSize, m.VocabSize
	c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim = 1, 2, 1, 4
	c.MoE.NumExperts, c.MoE.NumExpertsPerTok, c.MoE.MoEIntermediateSize = 4, 2, 6
	return &c
}

// TestRouterAuxLossTerm: with SGD at lr 1, turning the aux loss on moves
// the weights by exactly −coef·∇aux more, ∇aux taken from a separate graph
// over the same right-padded batch (qwen3.Model.RouterAuxLoss, itself
// checked by finite differences); off by default; refused where it cannot
// apply.
func TestRouterAuxLossTerm(t *testing.T) {
	cfg := microMoE()
	w0 := qwen3.RandomWeights(cfg, 3, 0.5)
	const coef = 0.3
	step := func(c float64) (map[string][]float32, Metrics) {
		l, err := New(exporttest.Runtime(t), cfg, cloneWeights(w0), Options{Optimizer: "sgd", LR: 1, DType: export.Float64, RouterAuxLossCoef: c})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		m, err := l.Step(context.Background(), batch())
		if err != nil {
			t.Fatal(err)
		}
		return l.Weights(), m
	}
	off, m0 := step(0)
	on, m1 := step(coef)
	if m0.RouterAuxLoss != 0 || !(m1.RouterAuxLoss > 0) {
		t.Errorf("router_aux_loss metric off %g, on %g", m0.RouterAuxLoss, m1.RouterAuxLoss)
	}

	// ∇aux over the batch as the learner packs it: prompt + completion
	// minus its last token, right-padded.
	b := batch()
	T := 0
	for _, s := range b {
		T = max(T, len(s.PromptIDs)+len(s.CompletionIDs)-1)
	}
	var ids, pos, mask []int64
	for _, s := range b {
		seq := append(append([]int32{}, s.PromptIDs...), s.CompletionIDs...)
		for k := range T {
			if k < len(seq)-1 {
				ids, pos, mask = append(ids, int64(seq[k])), append(pos, int64(k)), append(mask, 1)
			} else {
				ids, pos, mask = append(ids, 0), append(pos, 0), append(mask, 0)
			}
		}
	}
	g := export.NewGraph("aux_grad")
	feeds := map[string]*rt.Tensor{}
	m := qwen3.Bind(g, cfg, export.Float64, func(g *export.Graph, name string, shape []int64) *export.Value {
		d := make([]float64, len(w0[name]))
		for i, v := range w0[name] {
			d[i] = float64(v)
		}
		feeds[name] = rt.F64(shape, d)
		return g.Input(name, export.Float64, export.StaticShape(shape))
	})
	c := func(v []int64) *export.Value { return g.Const(export.TensorI64([]int64{int64(len(b)), int64(T)}, v)) }
	m.TargetLogProbs(g, c(ids), c(pos), c(mask), c(ids), false)
	aux := m.RouterAuxLoss(g, c(mask))
	g.Output("aux", aux)
	specs := cfg.TensorSpecs()
	for i, d := range g.Grad(aux, m.Params...) {
		g.Output("grad/"+specs[i].Name, d)
	}
	out := exporttest.Run(t, g, feeds)
	if a := out["aux"].Data.([]float64)[0]; math.Abs(a-m1.RouterAuxLoss) > 1e-9 {
		t.Errorf("learner's aux loss %g, separate graph's %g", m1.RouterAuxLoss, a)
	}
	worst, big := 0.0, 0.0
	for _, s := range specs {
		gr := out["grad/"+s.Name].Data.([]float64)
		for i := range gr {
			want := -coef * gr[i]
			got := float64(on[s.Name][i]) - float64(off[s.Name][i])
			worst = max(worst, math.Abs(got-want))
			big = max(big, math.Abs(want))
		}
	}
	if worst > 1e-6 || big < 1e-4 {
		t.Errorf("update difference off by %.3g from −coef·∇aux (largest term %.3g)", worst, big)
	}

	for _, bad := range []struct {
		cfg  *models.Config
		opts Options
		want string
	}{
		{microConfig(), Options{RouterAuxLossCoef: 0.01}, `model_type "qwen3", which has no router`},
		{cfg, Options{RouterAuxLossCoef: 0.01, SharedPrefix: true}, "shared-prefix"},
		{cfg, Options{RouterAuxLossCoef: -1}, "must not be negative"},
	} {
		if _, err := New(exporttest.Runtime(t), bad.cfg, qwen3.RandomWeights(bad.cfg, 1, 0.1), bad.opts); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("error %v, want %q", err, bad.want)
		}
	}
}
