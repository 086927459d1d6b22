package qwen3

import (
	"fmt"

	"pz/export"
	"pz/models"
)

// Train-graph tensor names.
const (
	InputIDs      = "input_ids"      // int64 [batch, seq]
	PositionIDs   = "position_ids"   // int64 [batch, seq]
	AttentionMask = "attention_mask" // int64 [batch, seq] (1 = token, 0 = padding); decode: [batch, past+seq]
	TargetIDs     = "target_ids"     // int64 [batch, seq]: the token whose log-prob is wanted at each position
	LogProbs      = "logprobs"       // [batch, seq]: log p(target_ids[t] | ids[<=t])
	Entropy       = "entropy"        // [batch, seq]: entropy of the next-token distribution
	Logits        = "logits"
)

// Symbolic dimension names.
const (
	DimBatch = "batch"
	DimSeq   = "seq"
	DimPast  = "past"
	DimTotal = "total"
)

// ForwardOptions configures the train flavour.
type ForwardOptions struct {
	// DType is the compute dtype: Float32, or Float64 for gradient checks.
	DType export.DType
	// Weights supplies weights; nil means graph inputs of DType.
	Weights WeightSource
	// Entropy adds the per-position entropy output.
	Entropy bool
	// Name names the graph.
	Name string
	// LossPositions adds the loss_positions input and computes log-probs
	// (and the entropy) only there: LogProbs is then [tokens] (head.go).
	LossPositions bool
	// VocabChunk > 0 takes the log-softmax over chunks of that many
	// vocabulary rows with a hand-written backward pass that never holds
	// [positions, vocab] (head.go); train graphs must then take their
	// gradients from Grads. Ignored with Entropy.
	VocabChunk int
}

// Forward is a built (not yet finished) train graph: callers add a loss on
// LogProbs, derive gradients with G.Grad(loss, Model.Params...) and mark
// outputs before G.Build.
type Forward struct {
	G                                *export.Graph
	Model                            *Model
	InputIDs, PositionIDs, Mask, Tgt *export.Value
	LogProbs, Entropy                *export.Value
	// Positions is the loss_positions input (ForwardOptions.LossPositions).
	Positions *export.Value
	head      *chunkedHead
}

// Grads returns the gradients of loss (built on LogProbs and Entropy)
// with respect to Model.Params.
func (f *Forward) Grads(loss *export.Value) ([]*export.Value, error) {
	return gradients(f.G, f.Model, f.head, loss)
}

// BuildForward builds the full-sequence forward pass: per-token log-probs
// of the targets (and optionally entropy) for right- or left-padded
// batches. Padding positions produce finite values the caller masks out.
func BuildForward(cfg *models.Config, opts ForwardOptions) (f *Forward, err error) {
	if opts, err = opts.withDefaults(cfg, "qwen3_forward"); err != nil {
		return nil, err
	}
	err = export.Try(func() {
		g := export.NewGraph(opts.Name)
		f = &Forward{G: g}
		f.InputIDs, f.PositionIDs, f.Mask, f.Tgt = trainInputs(g)
		m := Bind(g, cfg, opts.DType, opts.Weights)
		f.Model = m
		f.Positions = opts.positionsInput(g)
		h := m.Hidden(g, f.InputIDs, f.PositionIDs, m.causalMask(g, f.Mask, nil))
		f.LogProbs, f.Entropy, f.head = m.head(g, h, f.Tgt, f.Positions, opts.Entropy, opts.VocabChunk)
	})
	if err != nil {
		return nil, fmt.Errorf("build %s graph: %w", cfg.ModelType, err)
	}
	return f, nil
}

// TargetLogProbs is the train flavour's body: log p(tgt[t] | ids[<=t]) for
// every position, and the next-token entropy when withEntropy is set.
func (m *Model) TargetLogProbs(g *export.Graph, ids, pos, mask, tgt *export.Value, withEntropy bool) (logprobs, entropy *export.Value) {
	h := m.Hidden(g, ids, pos, m.causalMask(g, mask, nil))
	return m.targetLogProbs(g, h, tgt, withEntropy)
}

// targetLogProbs projects hidden states [b, t, hidden] onto the vocabulary
// and returns log p(tgt) [b, t] (and the entropy). Without the entropy
// the log-softmax's only use is the pick of the targets, whose gradient
// export's autodiff forms in three full-vocabulary passes (softmax minus
// the scattered one-hot) instead of six.
func (m *Model) targetLogProbs(g *export.Graph, h, tgt *export.Value, withEntropy bool) (logprobs, entropy *export.Value) {
	lsm := g.LogSoftmax(m.logits(g, h), -1) // [b,t,V]
	logprobs = g.Squeeze(g.GatherElements(lsm, g.Unsqueeze(tgt, -1), -1), -1)
	if withEntropy {
		entropy = g.Neg(g.ReduceSum(g.Mul(g.Exp(lsm), lsm), []int64{-1}, false))
	}
	return logprobs, entropy
}

// withDefaults fills unset options (float32, weights as inputs, name) and
// checks that the config's RoPE can be built.
func (o ForwardOptions) withDefaults(cfg *models.Config, name string) (ForwardOptions, error) {
	if o.DType == 0 {
		o.DType = export.Float32
	}
	if o.Weights == nil {
		o.Weights = WeightsAsInputs(o.DType)
	}
	if o.Name == "" {
		o.Name = name
	}
	_, err := invFreq(cfg)
	return o, err
}

// positionsInput declares loss_positions when the options ask for it.
func (o ForwardOptions) positionsInput(g *export.Graph) *export.Value {
	if !o.LossPositions {
		return nil
	}
	return g.Input(LossPositions, export.Int64, export.S(DimTokens))
}

// trainInputs declares the [batch, seq] inputs of a train graph.
func trainInputs(g *export.Graph) (ids, pos, mask, tgt *export.Value) {
	bt := export.S(DimBatch, DimSeq)
	return g.Input(InputIDs, export.Int64, bt), g.Input(PositionIDs, export.Int64, bt),
		g.Input(AttentionMask, export.Int64, bt), g.Input(TargetIDs, export.Int64, bt)
}

// Hidden runs the decoder stack over a full sequence with no cache and
// returns the final-normed hidden states [b, t, hidden].
func (m *Model) Hidden(g *export.Graph, ids, pos, allowed *export.Value) *export.Value {
	x := m.embed(g, ids)
	cos, sin := m.rope(g, pos)
	for _, l := range m.Layers {
		q, k, v := l.Attn.qkv(g, l.AttnNorm.Forward(g, x), cos, sin)
		x = g.Add(x, l.Attn.O.Forward(g, l.Attn.attend(g, q, k, v, allowed)))
		x = g.Add(x, l.MLP.Forward(g, l.MLPNorm.Forward(g, x)))
	}
	return m.Norm.Forward(g, x)
}

// causalMask is the bool mask [b, 1, 1, tq, tk] of which keys each query
// may attend: keys that are real tokens (mask == 1) at or before the
// query's slot. The tk key slots are those of mask; the queries are the
// last tq of them, starting at slot past (a 0-d int64; nil means 0, the
// no-cache case where tq == tk).
func (m *Model) causalMask(g *export.Graph, mask, past *export.Value) *export.Value {
	total := g.Squeeze(g.Gather(g.ShapeOf(mask), g.Int64s(1), 0), 0) // 0-d: key slots
	one := g.Const(export.TensorI64([]int64{}, []int64{1}))
	zero := g.Const(export.TensorI64([]int64{}, []int64{0}))
	kIdx := g.Range(zero, total, one, mask.Shape()[1]) // [tk]
	qIdx := kIdx
	if past != nil {
		qIdx = g.Range(past, total, one, export.Dim{Name: DimSeq})
	}
	causal := g.LessOrEqual(g.Unsqueeze(kIdx, 0), g.Unsqueeze(qIdx, 1)) // [tq,tk]
	valid := g.Unsqueeze(g.Cast(mask, export.Bool), 1, 2, 3)            // [b,1,1,1,tk]
	return g.And(valid, causal)
}
