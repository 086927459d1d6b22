// Package samplegraph builds a small ONNX graph that draws the next token
// from a batch of logits where they were computed: on a GPU only the
// sampled ids and two log-probs per row come back, not [batch, vocab]
// logits. It follows orchestrator/sample's semantics so that one uniform
// number per row, drawn by the same seeded generator, picks the same token:
// temperature, then top-k, then top-p over what top-k kept, and the
// inverse CDF over the kept tokens, in vocabulary order when nothing is
// truncated and in rank order (best first) when something is. Sums are
// float64, as in the Go sampler, so the two disagree only where the target
// mass falls within rounding of a token boundary. Min-p is not built yet.
package samplegraph

import (
	"fmt"

	"pz/export"
)

// Graph tensor names.
const (
	Logits        = "logits"         // float32 [batch, vocab]
	Uniform       = "uniform"        // float64 [batch], in [0, 1): one draw per row
	Tokens        = "tokens"         // int64 [batch]
	LogProb       = "logprob"        // float32 [batch]: under the distribution drawn from
	PolicyLogProb = "policy_logprob" // float32 [batch]: raw log-softmax (temperature 1)
)

// Options are the sampler's, as in orchestrator/sample.Options (greedy,
// min-p and the vocabulary limit are the Go sampler's alone for now).
type Options struct {
	Temperature float64
	TopK        int
	TopP        float64
}

// Build returns the sampling graph for a vocabulary of vocab tokens.
func Build(vocab int, o Options) (*export.Model, error) {
	switch {
	case !(o.Temperature > 0):
		return nil, fmt.Errorf("sample graph: temperature %g must be > 0 (greedy is an ArgMax)", o.Temperature)
	case o.TopK < 0 || !(o.TopP >= 0 && o.TopP <= 1):
		return nil, fmt.Errorf("sample graph: top_k %d must be >= 0 and top_p %g in [0, 1]", o.TopK, o.TopP)
	}
	var m *export.Model
	err := export.Try(func() {
		g := export.NewGraph("sample")
		bv := export.S("batch", int64(vocab))
		x := g.Input(Logits, export.Float32, bv)
		u := g.Input(Uniform, export.Float64, export.S("batch"))
		mx := g.ReduceMax(x, []int64{-1}, true)
		d := g.Sub(x, mx)                                                               // [b,V], ≤ 0
		logZ := g.Log(g.ReduceSum(g.Cast(g.Exp(d), export.Float64), []int64{-1}, true)) // f64 [b,1]
		invT := 1 / o.Temperature
		k := o.TopK
		if k >= vocab {
			k = 0
		}
		truncated := k > 0 || (o.TopP > 0 && o.TopP < 1)
		dv, idx := d, (*export.Value)(nil) // the candidates, in the order the CDF walks
		if truncated {
			n := k
			if n == 0 {
				n = vocab
			}
			outs := g.Op("TopK", "", []*export.Value{d, g.Int64s(int64(n))},
				[]export.Attr{export.AInt("axis", -1), export.AInt("largest", 1), export.AInt("sorted", 1)},
				export.OutType{DType: export.Float32, Shape: export.S("batch", int64(n))},
				export.OutType{DType: export.Int64, Shape: export.S("batch", int64(n))})
			dv, idx = outs[0], outs[1]
		}
		dd := g.Cast(dv, export.Float64)
		w := g.Exp(g.Mul(dd, g.Scalar(export.Float64, invT))) // exp((x−max)/T)
		if o.TopP > 0 && o.TopP < 1 {
			// Keep the best tokens until their mass reaches top_p: a token
			// stays when the mass before it is below top_p.
			p := g.Div(w, g.ReduceSum(w, []int64{-1}, true))
			before := g.CumSum(p, -1, true, false)
			w = g.Where(g.Less(before, g.Scalar(export.Float64, o.TopP)), w, g.Scalar(export.Float64, 0))
		}
		c := g.CumSum(w, -1, false, false)
		n := c.Shape()[1].Size
		total := g.Slice(c, []int64{n - 1}, []int64{n}, []int64{1}, nil) // [b,1]
		target := g.Mul(g.Unsqueeze(u, -1), total)
		// The first candidate whose cumulative weight exceeds the target.
		j := g.ReduceSum(g.Cast(g.LessOrEqual(c, target), export.Int64), []int64{-1}, true) // [b,1]
		j = g.Min(j, g.Const(export.TensorI64([]int64{}, []int64{n - 1})))
		xt := g.GatherElements(dd, j, -1) // (x−max) of the token, f64 [b,1]
		tok := j
		if idx != nil {
			tok = g.GatherElements(idx, j, -1)
		}
		lp := g.Sub(g.Mul(xt, g.Scalar(export.Float64, invT)), g.Log(total))
		g.Output(Tokens, g.Squeeze(tok, -1))
		g.Output(LogProb, g.Squeeze(g.Cast(lp, export.Float32), -1))
		g.Output(PolicyLogProb, g.Squeeze(g.Cast(g.Sub(xt, logZ), export.Float32), -1))
		var err error
		if m, err = g.Build(); err != nil {
			panic(&export.Error{Msg: err.Error()})
		}
	})
	if err != nil {
		return nil, fmt.Errorf("sample graph: %w", err)
	}
	return m, nil
}
