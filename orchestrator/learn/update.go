package learn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Old log-probs, truncated importance sampling and PPO-style updates over
// one rollout batch.
//
// The clipped ratio π_θ/π_old only moves away from 1 once θ has changed
// since π_old was taken: with one optimizer step per rollout batch and old
// log-probs from the learner, clip-higher never acts. verl runs
// ppo_epochs passes over each batch, each split into mini-batches of
// ppo_mini_batch_size rows (one optimizer step each), with π_old frozen
// before the first; Update does the same.

// UpdateOptions configure Update: Epochs passes over a rollout batch, each
// cut into MiniBatches optimizer steps (verl's ppo_epochs and the batch
// over ppo_mini_batch_size).
type UpdateOptions struct {
	Epochs      int `json:"epochs,omitempty"`       // default 1
	MiniBatches int `json:"mini_batches,omitempty"` // default 1
	// Seed shuffles the rows across mini-batches (a new order each epoch
	// and round), so that rows that arrive grouped — a step's generator
	// rows, then its predictor rows — are spread over the mini-batches.
	Seed uint64 `json:"seed,omitempty"`
}

func (o UpdateOptions) withDefaults() UpdateOptions {
	o.Epochs, o.MiniBatches = max(o.Epochs, 1), max(o.MiniBatches, 1)
	return o
}

// Updates is the number of optimizer steps one rollout batch makes.
func (o UpdateOptions) Updates() int {
	o = o.withDefaults()
	return o.Epochs * o.MiniBatches
}

// Validate checks the options against the most rows a batch can have
// (0: unknown).
func (o UpdateOptions) Validate(rows int) error {
	switch {
	case o.Epochs < 0:
		return fmt.Errorf("--ppo-epochs %d: must be >= 1", o.Epochs)
	case o.MiniBatches < 0:
		return fmt.Errorf("--mini-batches %d: must be >= 1", o.MiniBatches)
	case rows > 0 && o.MiniBatches > rows:
		return fmt.Errorf("--mini-batches %d is larger than the %d rows of a step: some optimizer steps would have no rows", o.MiniBatches, rows)
	}
	return nil
}

// MiniBatchOrder splits rows 0..n-1 into k mini-batches (sizes differ by
// at most one) after a shuffle seeded by (seed, round, epoch); k == 1
// keeps the order.
func MiniBatchOrder(n, k int, seed uint64, round int64, epoch int) [][]int {
	k = max(k, 1)
	idx := seq(n)
	if k > 1 {
		rng := rand.New(rand.NewPCG(seed, uint64(round)<<16^uint64(epoch)))
		rng.Shuffle(n, func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	}
	out := make([][]int, k)
	for b := range k {
		out[b] = idx[b*n/k : (b+1)*n/k]
	}
	return out
}

// Update runs o.Epochs × o.MiniBatches optimizer steps over one rollout
// batch (round numbers the batch for the shuffle). When the learner
// computes old log-probs (they are missing, RecomputeOld or TISCap), it
// computes them once, before the first update, so the later updates'
// ratios measure how far the policy has moved. Every update advances the
// step count by one: a skipped one (non-finite, or an empty mini-batch)
// calls SkipStep and says why in its Metrics. Only other errors are
// returned.
func (l *Learner) Update(ctx context.Context, batch []Sample, o UpdateOptions, round int64) ([]Metrics, error) {
	o = o.withDefaults()
	if err := o.Validate(0); err != nil {
		return nil, err
	}
	frozen := false
	if o.Updates() > 1 && len(batch) > 0 && l.opts.Objective == GRPO && l.recomputes(batch) {
		var err error
		if batch, err = l.freezeOld(ctx, batch); err != nil {
			return nil, err
		}
		frozen = true
	}
	var out []Metrics
	for e := range o.Epochs {
		for _, mb := range MiniBatchOrder(len(batch), o.MiniBatches, o.Seed, round, e) {
			rows := make([]Sample, len(mb))
			for i, k := range mb {
				rows[i] = batch[k]
			}
			m, err := l.step1(ctx, rows, frozen)
			if err != nil && !errors.Is(err, ErrNonFinite) {
				return out, err
			}
			if err != nil || m.Skipped != "" {
				l.SkipStep()
			}
			out = append(out, m)
		}
	}
	return out, nil
}

// recomputes says whether Step would compute old log-probs for batch.
func (l *Learner) recomputes(batch []Sample) bool {
	if l.opts.RecomputeOld || l.opts.TISCap > 0 {
		return true
	}
	for _, s := range batch {
		if s.OldLogProbs == nil {
			return true
		}
	}
	return false
}

// freezeOld returns copies of batch whose OldLogProbs are the learner's
// log-probs under the current weights and whose BehaviourLogProbs are the
// rollout's (nil when it gave none).
func (l *Learner) freezeOld(ctx context.Context, batch []Sample) ([]Sample, error) {
	if err := l.validate(batch); err != nil {
		return nil, fmt.Errorf("learn step %d: %w", l.step, err)
	}
	ws, _ := l.weightsFor(batch)
	out := make([]Sample, len(batch))
	for _, p := range l.pack(batch, ws, seq(len(batch))) {
		mine, err := l.recompute(ctx, p)
		if err != nil {
			return nil, err
		}
		for r, i := range p.rows {
			s := batch[i]
			s.BehaviourLogProbs = s.OldLogProbs
			s.OldLogProbs = make([]float32, len(s.CompletionIDs))
			for j := range s.CompletionIDs {
				s.OldLogProbs[j] = float32(mine[r*p.T+p.off[r]+j])
			}
			out[i] = s
		}
	}
	return out, nil
}

// rolloutLogProbs are the sampling engine's log-probs of s, if known.
func rolloutLogProbs(s *Sample, frozen bool) []float32 {
	if frozen {
		return s.BehaviourLogProbs
	}
	return s.OldLogProbs
}

// validateTIS refuses a TIS run on rows with no rollout log-probs: the
// weight min(exp(old_learner − old_rollout), cap) has nothing to compare.
func (l *Learner) validateTIS(batch []Sample, frozen bool) error {
	if l.opts.TISCap <= 0 || l.opts.Objective != GRPO {
		return nil
	}
	for i := range batch {
		if rolloutLogProbs(&batch[i], frozen) == nil {
			return fmt.Errorf("sample %d: --tis-cap needs the rollout's old_logprobs, and this row has none", i)
		}
	}
	return nil
}

// TISWeight is truncated importance sampling's per-token weight (verl's
// tis_imp_ratio_cap): min(exp(learner − rollout), cap), where learner and
// rollout are the old policy's log-prob of the token under the learner
// and under the sampling engine.
func TISWeight(learner, rollout, cap float64) float64 {
	return math.Min(math.Exp(learner-rollout), cap)
}

// fillOld sets the micro-batch's old log-probs: the rollout's, or the
// learner's own (recomputed now unless frozen), and applies the TIS
// weights.
func (l *Learner) fillOld(ctx context.Context, batch []Sample, p *packed, frozen bool) error {
	if l.opts.Objective != GRPO {
		return nil
	}
	if !frozen {
		need := l.opts.RecomputeOld || l.opts.TISCap > 0
		for _, i := range p.rows {
			need = need || batch[i].OldLogProbs == nil
		}
		if !need {
			return nil
		}
		mine, err := l.recompute(ctx, p)
		if err != nil {
			return err
		}
		for r, i := range p.rows {
			for j := range batch[i].CompletionIDs {
				k := r*p.T + p.off[r] + j
				p.old[k] = mine[k]
			}
		}
	}
	if l.opts.TISCap <= 0 {
		return nil
	}
	for r, i := range p.rows {
		ro := rolloutLogProbs(&batch[i], frozen)
		for j := range batch[i].CompletionIDs {
			k := r*p.T + p.off[r] + j
			p.w[k] *= TISWeight(p.old[k], float64(ro[j]), l.opts.TISCap)
		}
	}
	return nil
}

// Combine summarises the updates of one rollout batch: the first update's
// step, learning rate and rollout/learner mismatch (later updates compare
// against a policy that has moved), means of the losses, clip fraction,
// KL, entropy and gradient norm over the applied updates, sums of tokens,
// sequences, micro-batches and seconds. Skipped is set only when every
// update was skipped.
func Combine(ms []Metrics) Metrics {
	if len(ms) == 0 {
		return Metrics{}
	}
	if len(ms) == 1 {
		return ms[0]
	}
	out := Metrics{Step: ms[0].Step, LR: ms[0].LR, Mismatch: ms[0].Mismatch}
	n := 0
	for _, m := range ms {
		out.Tokens += m.Tokens
		out.Sequences += m.Sequences
		out.MicroBatch += m.MicroBatch
		out.Seconds += m.Seconds
		if m.Skipped != "" {
			continue
		}
		n++
		out.Loss += m.Loss
		out.PGLoss += m.PGLoss
		out.ClipFrac += m.ClipFrac
		out.ApproxKL += m.ApproxKL
		out.KLLoss += m.KLLoss
		out.Entropy += m.Entropy
		out.GradNorm += m.GradNorm
	}
	if n == 0 {
		out.Skipped = ms[0].Skipped
		return out
	}
	f := float64(n)
	out.Loss, out.PGLoss, out.ClipFrac, out.ApproxKL = out.Loss/f, out.PGLoss/f, out.ClipFrac/f, out.ApproxKL/f
	out.KLLoss, out.Entropy, out.GradNorm = out.KLLoss/f, out.Entropy/f, out.GradNorm/f
	if out.Seconds > 0 {
		out.TokPerSec = float64(out.Tokens) / out.Seconds
	}
	return out
}
