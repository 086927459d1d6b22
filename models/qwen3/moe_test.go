package qwen3

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"pz/export"
	"pz/export/exporttest"
	"pz/models"
)

// microMoE is a Qwen3-MoE small enough to finite-difference every weight:
// layer 0 routed (4 experts, top 2), layer 1 dense (mlp_only_layers).
func microMoE(norm bool) *models.Config {
	c := models.TinyMoE()
	m := micro(models.FamilyQwen3)
	c.HiddenSize, c.IntermediateSize, c.VocabSize = m.HiddenSize, m.IntermediateSize, m.VocabSize
	c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim = 2, 2, 1, 4
	c.RopeTheta = m.RopeTheta
	c.MoE.NumExperts, c.MoE.NumExpertsPerTok, c.MoE.MoEIntermediateSize = 4, 2, 6
	c.MoE.NormTopKProb = norm
	c.MoE.MLPOnlyLayers = []int{1}
	return &c
}

// TestMoEGradientFiniteDifferences checks the MoE train graph against
// finite differences of every weight, router and experts included, in both
// forms and with and without renormalised top-k weights (the sparse form's
// ScatterND rule has its own check in export). The top-k choice
// is piecewise constant, so the check holds away from ties; a token whose
// k-th and (k+1)-th probabilities were within the finite-difference step
// would show as a jump far outside the tolerance.
func TestMoEGradientFiniteDifferences(t *testing.T) {
	// The engine's form (sparse, renormalised) and the other of each.
	for _, c := range []struct{ norm, sparse bool }{{true, true}, {false, false}} {
		t.Run(fmt.Sprintf("norm=%v/sparse=%v", c.norm, c.sparse), func(t *testing.T) {
			cfg := microMoE(c.norm)
			worst := gradCheckModel(t, "moe_grad", cfg, 7, func(m *Model) { m.SetMoESparse(c.sparse) })
			t.Logf("max relative error %.2g over every weight", worst)
		})
	}
}

// TestSmolLM3GradientFiniteDifferences: the same check on a SmolLM3 whose
// second layer has no RoPE.
func TestSmolLM3GradientFiniteDifferences(t *testing.T) {
	cfg := micro(models.FamilySmolLM3)
	cfg.Architectures = []string{"SmolLM3ForCausalLM"}
	cfg.NoPE = models.NoPE{Layers: []int{1, 0}, Interval: 4}
	worst := gradCheckModel(t, "smollm3_grad", cfg, 7, nil)
	t.Logf("max relative error %.2g over every weight", worst)
}

// TestMoESparseMatchesDense checks the gathered form against the dense
// masked reference on the tiny-moe preset (float32 train graph, a padded
// batch), with and without renormalisation, and that routing really is
// sparse: NormTopK changes the result.
func TestMoESparseMatchesDense(t *testing.T) {
	rows := [][]int64{{5, 17, 250, 3, 99, 42, 7, 8, 1}, {8, 8, 120, 6, 13}}
	var byNorm [][]float64
	for _, norm := range []bool{true, false} {
		cfg := models.TinyMoE()
		cfg.VocabSize = 300
		cfg.MoE.NormTopKProb = norm
		w := RandomWeights(&cfg, 5, 0.2)
		var got [2][]float64
		for i, sparse := range []bool{false, true} {
			got[i] = moeLogProbs(t, &cfg, w, sparse, rows)
		}
		if err := exporttest.AllClose(got[1], got[0], 1e-5, 1e-5); err != nil {
			t.Errorf("norm=%v: sparse vs dense: %v", norm, err)
		}
		byNorm = append(byNorm, got[0])
	}
	if exporttest.AllClose(byNorm[0], byNorm[1], 1e-3, 1e-3) == nil {
		t.Error("norm_topk_prob changes nothing: are only k experts weighted?")
	}
}

// moeLogProbs runs the train graph in the given MoE form over rows
// (right-padded into one batch) and returns the real positions' log-probs.
func moeLogProbs(t *testing.T, cfg *models.Config, w map[string][]float32, sparse bool, rows [][]int64) []float64 {
	t.Helper()
	// BuildForward with the form picked between Bind and the layers.
	g := export.NewGraph("moe_form")
	ids, pos, mask, tgt := trainInputs(g)
	m := Bind(g, cfg, export.Float32, WeightsAsInputs(export.Float32))
	m.SetMoESparse(sparse)
	lp, _ := m.TargetLogProbs(g, ids, pos, mask, tgt, false)
	g.Output(LogProbs, lp)
	sess := exporttest.Session(t, g)
	return slices.Concat(trainLogProbs(t, sess, cfg, w, rows)...)
}

// TestRouterAuxLoss checks RouterAuxLoss against the load-balancing loss
// computed here in Go from the graph's router probabilities (top-k by
// sorting, padding left out, layers pooled), and its gradient against
// finite differences of every weight.
func TestRouterAuxLoss(t *testing.T) {
	cfg := microMoE(true)
	cfg.MoE.MLPOnlyLayers = nil // both layers routed: pooling matters
	w := RandomWeights(cfg, 9, 0.5)
	build := func(g *export.Graph, m *Model) (aux *export.Value, mask []int64) {
		i64 := func(v ...int64) *export.Value { return g.Const(export.TensorI64([]int64{2, 4}, v)) }
		mask = []int64{1, 1, 1, 1, 1, 1, 1, 0}
		mv := i64(mask...)
		m.TargetLogProbs(g, i64(1, 5, 7, 2, 3, 12, 4, 0), i64(0, 1, 2, 3, 0, 1, 2, 0), mv, i64(5, 7, 2, 9, 12, 4, 11, 0), false)
		return m.RouterAuxLoss(g, mv), mask
	}
	g := export.NewGraph("aux")
	m := Bind(g, cfg, export.Float32, WeightsAsInputs(export.Float32))
	aux, mask := build(g, m)
	g.Output("aux", aux)
	for i, r := range m.routing {
		g.Output(fmt.Sprintf("probs%d", i), r.probs)
	}
	out := exporttest.Run(t, g, weightFeeds(cfg, w))
	E, k := cfg.MoE.NumExperts, cfg.MoE.NumExpertsPerTok
	f, p := make([]float64, E), make([]float64, E)
	n := 0.0
	for i := range m.routing {
		probs := out[fmt.Sprintf("probs%d", i)].Data.([]float32)
		for tok, valid := range mask {
			if valid == 0 {
				continue
			}
			n++
			row := probs[tok*E : (tok+1)*E]
			order := make([]int, E)
			for e := range order {
				order[e] = e
			}
			slices.SortStableFunc(order, func(a, b int) int { return cmpDesc(row[a], row[b]) })
			for _, e := range order[:k] {
				f[e]++
			}
			for e := range E {
				p[e] += float64(row[e])
			}
		}
	}
	want := 0.0
	for e := range E {
		want += f[e] / n * p[e] / n
	}
	want *= float64(E)
	if got := float64(out["aux"].Data.([]float32)[0]); math.Abs(got-want) > 1e-6 {
		t.Errorf("aux loss %.7f, want %.7f", got, want)
	}

	var inputs []exporttest.Input
	for _, s := range cfg.TensorSpecs() {
		d := make([]float64, len(w[s.Name]))
		for i, v := range w[s.Name] {
			d[i] = float64(v)
		}
		inputs = append(inputs, exporttest.Input{Name: s.Name, Shape: s.Shape, Data: d})
	}
	worst := exporttest.GradCheck(t, "moe_aux_grad", 5, inputs, func(g *export.Graph, xs []*export.Value) *export.Value {
		byName := map[string]*export.Value{}
		for _, x := range xs {
			byName[x.Name()] = x
		}
		m := Bind(g, cfg, export.Float64, func(g *export.Graph, name string, shape []int64) *export.Value { return byName[name] })
		aux, _ := build(g, m)
		return aux
	})
	t.Logf("aux loss %.6f; max relative gradient error %.2g", want, worst)
}

func cmpDesc(a, b float32) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}
