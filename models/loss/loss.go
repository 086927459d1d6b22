// Package loss builds the training objectives on top of a model's
// per-token log-probs: the GRPO/PPO clipped policy surrogate (with
// clip-higher, optional dual-clip, KL to a reference and entropy bonus) and
// plain next-token cross-entropy for pretraining.
//
// Every objective is a weighted sum over tokens: loss = Σ w_t · ℓ_t. The
// per-token weights are a graph input computed by the learner over the
// whole batch, so one graph serves every aggregation mode (token-mean,
// seq-mean-token-mean, seq-mean-token-sum-norm) and the denominator spans
// all micro-batches; the loss mask, filtered rows and the truncated
// importance-sampling correction (a constant per token) fold into the
// weights too. Gradients summed over micro-batches are then exactly the
// full batch's gradient.
package loss

import (
	"fmt"

	"pz/export"
)

// Input names of the policy loss graph, all [batch, seq] like the model's
// log-probs. Weights of padding and prompt positions are 0.
const (
	OldLogProbs  = "old_logprobs"  // log-probs under the policy that sampled
	Advantages   = "advantages"    // per-token advantage (a row's, broadcast)
	TokenWeights = "token_weights" // aggregation weight of each token
	RefLogProbs  = "ref_logprobs"  // reference policy (KL), when enabled
	// EntropyCoefs is a per-token entropy-bonus coefficient, added to
	// EntropyCoef (with PolicyOptions.EntropyPerToken): how a bonus reaches
	// only some rows, e.g. the generator role's.
	EntropyCoefs = "entropy_coefs"
)

// Output names.
const (
	Loss        = "loss"
	PGLoss      = "pg_loss"
	ClipFrac    = "clip_frac"    // weighted share of tokens where clipping bit
	ApproxKL    = "approx_kl"    // weighted mean of old − new log-prob
	KLLoss      = "kl_loss"      // weighted KL to the reference
	EntropyMean = "entropy_mean" // weighted mean entropy
)

// KLKind names the KL estimator (Schulman's k1/k2/k3).
type KLKind string

// KL estimators.
const (
	KLNone KLKind = ""
	KL1    KLKind = "k1"
	KL2    KLKind = "k2"
	KL3    KLKind = "k3"
)

// PolicyOptions configures the clipped surrogate.
type PolicyOptions struct {
	// ClipLow and ClipHigh bound the ratio to [1−ClipLow, 1+ClipHigh]
	// (clip-higher: DAPO's 0.2 / 0.28).
	ClipLow, ClipHigh float64
	// DualClip > 1 caps the loss of negative-advantage tokens at
	// −A·DualClip (Ye et al.); 0 disables it.
	DualClip float64
	// KL adds KLCoef·KL(π‖π_ref) with the given estimator (needs the
	// ref_logprobs input); KLNone disables it.
	KL     KLKind
	KLCoef float64
	// EntropyCoef > 0 subtracts EntropyCoef·entropy (needs the entropy).
	EntropyCoef float64
	// EntropyPerToken adds the entropy_coefs input: token t's bonus is
	// (EntropyCoef + entropy_coefs_t)·entropy_t (needs the entropy).
	EntropyPerToken bool
}

// DefaultPolicy is DAPO-style clip-higher with no KL and no entropy bonus.
func DefaultPolicy() PolicyOptions { return PolicyOptions{ClipLow: 0.2, ClipHigh: 0.28} }

// Validate checks the options.
func (o PolicyOptions) Validate() error {
	switch {
	case o.ClipLow <= 0 || o.ClipLow >= 1:
		return fmt.Errorf("clip_low %g must be in (0, 1)", o.ClipLow)
	case o.ClipHigh <= 0:
		return fmt.Errorf("clip_high %g must be > 0", o.ClipHigh)
	case o.DualClip != 0 && o.DualClip <= 1:
		return fmt.Errorf("dual_clip %g must be > 1 (or 0 to disable)", o.DualClip)
	case o.KL != KLNone && o.KL != KL1 && o.KL != KL2 && o.KL != KL3:
		return fmt.Errorf("kl estimator %q (want k1, k2 or k3)", o.KL)
	case o.KLCoef < 0 || o.EntropyCoef < 0:
		return fmt.Errorf("kl_coef and entropy_coef must be >= 0")
	}
	return nil
}

// Inputs are the tensors the policy loss reads besides the model's own.
type Inputs struct {
	LogProbs, Entropy      *export.Value // from the model; Entropy may be nil
	Old, Adv, Weights, Ref *export.Value // Ref only with a KL term
	EntropyCoefs           *export.Value // only with EntropyPerToken
}

// DeclareInputs adds the loss's graph inputs (named by the constants
// above), shaped like the model's log-probs.
func DeclareInputs(g *export.Graph, logprobs, entropy *export.Value, o PolicyOptions) Inputs {
	dt, sh := logprobs.DType(), logprobs.Shape()
	in := Inputs{LogProbs: logprobs, Entropy: entropy,
		Old: g.Input(OldLogProbs, dt, sh), Adv: g.Input(Advantages, dt, sh), Weights: g.Input(TokenWeights, dt, sh)}
	if o.KL != KLNone {
		in.Ref = g.Input(RefLogProbs, dt, sh)
	}
	if o.EntropyPerToken {
		in.EntropyCoefs = g.Input(EntropyCoefs, dt, sh)
	}
	return in
}

// Policy adds the clipped policy-gradient loss to g and returns the scalar
// loss with its metrics (named by the constants above; the caller marks
// the ones it wants as outputs).
func Policy(g *export.Graph, in Inputs, o PolicyOptions) (map[string]*export.Value, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	out := map[string]*export.Value{}
	err := export.Try(func() {
		dt := in.LogProbs.DType()
		adv, w := in.Adv, in.Weights
		c := func(x float64) *export.Value { return g.Scalar(dt, x) }
		wsum := func(x *export.Value) *export.Value { return g.ReduceSum(g.Mul(x, w), nil, false) }

		logRatio := g.Sub(in.LogProbs, in.Old)
		ratio := g.Exp(logRatio)
		pg1 := g.Neg(g.Mul(adv, ratio))
		pg2 := g.Neg(g.Mul(adv, g.Clip(ratio, c(1-o.ClipLow), c(1+o.ClipHigh))))
		pg := g.Max(pg1, pg2)
		out[ClipFrac] = g.StopGradient(wsum(g.Cast(g.Greater(pg2, pg1), dt)))
		if o.DualClip > 0 {
			// For A < 0 the loss is capped at −A·c.
			capped := g.Min(pg, g.Neg(g.Mul(adv, c(o.DualClip))))
			pg = g.Where(g.Less(adv, c(0)), capped, pg)
		}
		loss := wsum(pg)
		out[PGLoss] = loss
		out[ApproxKL] = g.StopGradient(wsum(g.Neg(logRatio)))
		if o.KL != KLNone {
			if in.Ref == nil {
				panic(&export.Error{Msg: "KL term needs the reference log-probs"})
			}
			d := g.Sub(in.Ref, in.LogProbs) // log π_ref − log π
			var kl *export.Value
			switch o.KL {
			case KL1:
				kl = g.Neg(d)
			case KL2:
				kl = g.Mul(c(0.5), g.Mul(d, d))
			case KL3:
				kl = g.Sub(g.Sub(g.Exp(d), d), c(1))
			}
			out[KLLoss] = wsum(kl)
			loss = g.Add(loss, g.Mul(c(o.KLCoef), out[KLLoss]))
		}
		if in.Entropy != nil {
			out[EntropyMean] = wsum(in.Entropy)
			if o.EntropyCoef > 0 {
				loss = g.Sub(loss, g.Mul(c(o.EntropyCoef), out[EntropyMean]))
			}
			if o.EntropyPerToken {
				if in.EntropyCoefs == nil {
					panic(&export.Error{Msg: "per-token entropy bonus needs the entropy_coefs input"})
				}
				loss = g.Sub(loss, wsum(g.Mul(in.EntropyCoefs, in.Entropy)))
			}
		} else if o.EntropyCoef > 0 || o.EntropyPerToken {
			panic(&export.Error{Msg: "entropy bonus needs the model's entropy output"})
		}
		out[Loss] = loss
	})
	return out, err
}

// NextToken is the cross-entropy loss −Σ w_t · log p(target_t): with
// weights 1/N over real tokens it is the mean next-token loss.
func NextToken(g *export.Graph, logprobs, weights *export.Value) (loss *export.Value, err error) {
	err = export.Try(func() { loss = g.Neg(g.ReduceSum(g.Mul(logprobs, weights), nil, false)) })
	return loss, err
}
