package qwen3

import (
	"fmt"
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
