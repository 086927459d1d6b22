package qwen3

import (
	"fmt"

	"pz/export"
	"pz/models"
)

// Shared-prefix train graph: when several sequences of a batch start with
// the same prompt (the G completions of one GRPO group), the prompt runs
// through the decoder once and its keys and values are gathered to every
// completion row, with gradient. The result is exactly the plain graph's
// on the concatenated sequences: attention sees the same keys and values
// at the same positions, and the gradients of the shared keys/values are
// the sums over the rows that read them (Gather's VJP is a scatter-add).
//
// Layout. The prefix batch holds each distinct prefix once ([prompts,
// prefix], right-padded, with its own positions and mask); the suffix
// batch ([batch, seq]) holds one row per sequence, and prefix_index
// [batch] names the prefix row each suffix row continues. Log-probs are
// computed for suffix positions only, so the caller starts the suffix at
// the prompt's last token (whose target is the completion's first token)
// and the prefix is the prompt minus that token.
const (
	PrefixIDs           = "prefix_ids"            // int64 [prompts, prefix]
	PrefixPositionIDs   = "prefix_position_ids"   // int64 [prompts, prefix]
	PrefixAttentionMask = "prefix_attention_mask" // int64 [prompts, prefix] (1 = token)
	PrefixIndex         = "prefix_index"          // int64 [batch]: prefix row of each suffix row
)

// Symbolic dimension names of the prefix batch.
const (
	DimPrompts = "prompts"
	DimPrefix  = "prefix"
)

// PrefixForward is a built shared-prefix train graph; like Forward, the
// caller adds a loss on LogProbs ([batch, seq], suffix positions) and
// derives the gradients of Model.Params.
type PrefixForward struct {
	G                                *export.Graph
	Model                            *Model
	PrefixIDs, PrefixPos, PrefixMask *export.Value
	PrefixIndex                      *export.Value
	InputIDs, PositionIDs, Mask, Tgt *export.Value
	LogProbs, Entropy                *export.Value
	Positions                        *export.Value // ForwardOptions.LossPositions
	head                             *chunkedHead
}

// Grads returns the gradients of loss (built on LogProbs and Entropy)
// with respect to Model.Params.
func (f *PrefixForward) Grads(loss *export.Value) ([]*export.Value, error) {
	return gradients(f.G, f.Model, f.head, loss)
}

// BuildPrefixForward builds the shared-prefix train graph. The suffix
// inputs keep the plain graph's names (input_ids, position_ids,
// attention_mask, target_ids) so losses and feeds carry over.
func BuildPrefixForward(cfg *models.Config, opts ForwardOptions) (f *PrefixForward, err error) {
	if opts, err = opts.withDefaults(cfg, "qwen3_prefix_forward"); err != nil {
		return nil, err
	}
	err = export.Try(func() {
		g := export.NewGraph(opts.Name)
		f = &PrefixForward{G: g}
		pt := export.S(DimPrompts, DimPrefix)
		f.PrefixIDs = g.Input(PrefixIDs, export.Int64, pt)
		f.PrefixPos = g.Input(PrefixPositionIDs, export.Int64, pt)
		f.PrefixMask = g.Input(PrefixAttentionMask, export.Int64, pt)
		f.PrefixIndex = g.Input(PrefixIndex, export.Int64, export.S(DimBatch))
		f.InputIDs, f.PositionIDs, f.Mask, f.Tgt = trainInputs(g)
		m := Bind(g, cfg, opts.DType, opts.Weights)
		f.Model = m
		h := m.prefixHidden(g, f.PrefixIDs, f.PrefixPos, f.PrefixMask, f.PrefixIndex, f.InputIDs, f.PositionIDs, f.Mask)
		f.Positions = opts.positionsInput(g)
		f.LogProbs, f.Entropy, f.head = m.head(g, h, f.Tgt, f.Positions, opts.Entropy, opts.VocabChunk)
	})
	if err != nil {
		return nil, fmt.Errorf("build %s prefix graph: %w", cfg.ModelType, err)
	}
	return f, nil
}

// prefixHidden runs the prefix batch and the suffix batch through the
// decoder together: at every layer the prefix rows attend causally among
// themselves, and each suffix row attends to its prefix's keys/values
// (gathered by index) followed by its own, causally. It returns the
// suffix's final-normed hidden states [batch, seq, hidden].
func (m *Model) prefixHidden(g *export.Graph, pIDs, pPos, pMask, index, ids, pos, mask *export.Value) *export.Value {
	xp := m.embed(g, pIDs)
	xs := m.embed(g, ids)
	cosP, sinP := m.rope(g, pPos)
	cosS, sinS := m.rope(g, pos)
	allowP := m.causalMask(g, pMask, nil) // [prompts,1,1,prefix,prefix]
	// Suffix queries see every real prefix key, and their own keys causally.
	tq := g.Squeeze(g.Gather(g.ShapeOf(mask), g.Int64s(1), 0), 0)
	one := g.Const(export.TensorI64([]int64{}, []int64{1}))
	zero := g.Const(export.TensorI64([]int64{}, []int64{0}))
	rows := g.Reshape(g.GreaterOrEqual(g.Range(zero, tq, one, mask.Shape()[1]), zero), 1, 1, 1, -1, 1) // [1,1,1,seq,1] all true
	prefixKeys := g.Unsqueeze(g.Gather(g.Cast(pMask, export.Bool), index, 0), 1, 2, 3)                 // [batch,1,1,1,prefix]
	allowS := g.Concat(-1, g.And(prefixKeys, rows), m.causalMask(g, mask, nil))                        // [batch,1,1,seq,prefix+seq]
	last := len(m.Layers) - 1
	for i, l := range m.Layers {
		qp, kp, vp := l.Attn.qkv(g, l.AttnNorm.Forward(g, xp), cosP, sinP)
		qs, ks, vs := l.Attn.qkv(g, l.AttnNorm.Forward(g, xs), cosS, sinS)
		k := g.Concat(2, g.Gather(kp, index, 0), ks) // [batch,kvh,prefix+seq,d]
		v := g.Concat(2, g.Gather(vp, index, 0), vs)
		xs = g.Add(xs, l.Attn.O.Forward(g, l.Attn.attend(g, qs, k, v, allowS)))
		xs = g.Add(xs, l.MLP.Forward(g, l.MLPNorm.Forward(g, xs)))
		if i < last { // the last layer's prefix output feeds nothing
			xp = g.Add(xp, l.Attn.O.Forward(g, l.Attn.attend(g, qp, kp, vp, allowP)))
			xp = g.Add(xp, l.MLP.Forward(g, l.MLPNorm.Forward(g, xp)))
		}
	}
	return m.Norm.Forward(g, xs)
}
