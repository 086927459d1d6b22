package loss

import (
	"math"
	"testing"

	"pz/export"
	"pz/export/exporttest"
	"pz/export/ort"
)

// reference is the clipped surrogate written out in plain Go from the
// formulas (PPO with clip-higher and dual-clip, k3 KL, entropy bonus).
func reference(lp, old, adv, w, ref, ent, ec []float64, o PolicyOptions) (loss, clipFrac float64) {
	for i := range lp {
		r := math.Exp(lp[i] - old[i])
		pg1 := -adv[i] * r
		pg2 := -adv[i] * math.Min(math.Max(r, 1-o.ClipLow), 1+o.ClipHigh)
		pg := math.Max(pg1, pg2)
		if pg2 > pg1 {
			clipFrac += w[i]
		}
		if o.DualClip > 0 && adv[i] < 0 {
			pg = math.Min(pg, -adv[i]*o.DualClip)
		}
		l := pg
		if o.KL == KL3 {
			d := ref[i] - lp[i]
			l += o.KLCoef * (math.Exp(d) - d - 1)
		}
		l -= o.EntropyCoef * ent[i]
		if o.EntropyPerToken {
			l -= ec[i] * ent[i]
		}
		loss += w[i] * l
	}
	return loss, clipFrac
}

func TestPolicyAgainstReference(t *testing.T) {
	lp := []float64{-1.0, -2.0, -0.5, -3.0, -1.2, -0.1}
	old := []float64{-1.5, -1.0, -0.5, -2.0, -1.25, -2.0}
	adv := []float64{1, 1, -1, -1, 0.5, -2}
	w := []float64{0.25, 0.25, 0.25, 0.25, 0, 0.5}
	ref := []float64{-1.1, -2.2, -0.4, -2.9, -1, -0.3}
	ent := []float64{1, 2, 0.5, 0.1, 3, 0.7}
	ec := []float64{0.2, 0.2, 0.2, 0, 0, 0} // a bonus on the first row only
	for _, o := range []PolicyOptions{
		DefaultPolicy(),
		{ClipLow: 0.2, ClipHigh: 0.28, DualClip: 3},
		{ClipLow: 0.1, ClipHigh: 0.1, KL: KL3, KLCoef: 0.5, EntropyCoef: 0.01},
		{ClipLow: 0.2, ClipHigh: 0.28, EntropyPerToken: true},
		{ClipLow: 0.2, ClipHigh: 0.28, EntropyCoef: 0.01, EntropyPerToken: true},
	} {
		g := export.NewGraph("policy")
		sh := export.S(2, 3)
		lpv := g.Input("logprobs", export.Float64, sh)
		ev := g.Input("entropy", export.Float64, sh)
		in := DeclareInputs(g, lpv, ev, o)
		out, err := Policy(g, in, o)
		if err != nil {
			t.Fatal(err)
		}
		g.Output("loss", out[Loss])
		g.Output("clipfrac", out[ClipFrac])
		feeds := map[string]*ort.Tensor{"logprobs": ort.F64([]int64{2, 3}, lp), "entropy": ort.F64([]int64{2, 3}, ent),
			OldLogProbs: ort.F64([]int64{2, 3}, old), Advantages: ort.F64([]int64{2, 3}, adv), TokenWeights: ort.F64([]int64{2, 3}, w)}
		if o.KL != KLNone {
			feeds[RefLogProbs] = ort.F64([]int64{2, 3}, ref)
		}
		if o.EntropyPerToken {
			feeds[EntropyCoefs] = ort.F64([]int64{2, 3}, ec)
		}
		res := exporttest.Run(t, g, feeds)
		wantLoss, wantClip := reference(lp, old, adv, w, ref, ent, ec, o)
		if got := res["loss"].Data.([]float64)[0]; math.Abs(got-wantLoss) > 1e-12 {
			t.Errorf("%+v: loss %.15g, want %.15g", o, got, wantLoss)
		}
		if got := res["clipfrac"].Data.([]float64)[0]; math.Abs(got-wantClip) > 1e-12 {
			t.Errorf("%+v: clip fraction %g, want %g", o, got, wantClip)
		}
	}
}

// TestPolicyGradient checks d loss / d logprobs by finite differences
// (ratios kept away from the clip boundaries, where the loss has kinks).
func TestPolicyGradient(t *testing.T) {
	o := PolicyOptions{ClipLow: 0.2, ClipHigh: 0.28, DualClip: 3, KL: KL3, KLCoef: 0.3, EntropyCoef: 0.05, EntropyPerToken: true}
	lp := []float64{-1.0, -2.0, -0.5, -3.0, -1.2, -0.1}
	inputs := []exporttest.Input{
		{Name: "logprobs", Shape: []int64{2, 3}, Data: lp},
		{Name: "entropy", Shape: []int64{2, 3}, Lo: 0.1, Hi: 2},
	}
	exporttest.GradCheck(t, "policy_grad", 5, inputs, func(g *export.Graph, xs []*export.Value) *export.Value {
		c := func(v ...float64) *export.Value { return g.Const(export.TensorF64([]int64{2, 3}, v)) }
		in := Inputs{LogProbs: xs[0], Entropy: xs[1],
			// ratios: e^0.5 (clipped high for A>0), e^-1, 1, e^-1 (A<0, dual-capped), ~1, e^1.9
			Old:          c(-1.5, -1.0, -0.55, -2.0, -1.25, -2.0),
			Adv:          c(1, 1, -1, -1, 0.5, -2),
			Weights:      c(0.25, 0.25, 0.25, 0.25, 0.1, 0.5),
			Ref:          c(-1.1, -2.2, -0.4, -2.9, -1, -0.3),
			EntropyCoefs: c(0.3, 0.3, 0.3, 0, 0, 0)}
		out, err := Policy(g, in, o)
		if err != nil {
			panic(err)
		}
		return out[Loss]
	})
}
