package qwen3

import (
	"pz/export"
)

// The train graph's vocabulary head: hidden states → log p(target) (and
// the entropy). Two options of ForwardOptions shrink what it holds in
// memory, which on a GRPO step is dominated by [positions, vocab] tensors
// (8 × 512 × 32,768 float32 = 512 MiB each on the small preset, and the
// plain head keeps five of them alive around the backward pass):
//
//   - LossPositions: the graph reads loss_positions, the flat indices
//     b·seq + t of the positions whose log-prob is wanted (a batch's
//     completion tokens), and gathers their hidden states before the
//     lm_head, so prompt and padding positions cost no vocabulary work.
//   - VocabChunk: the log-softmax is taken over vocabulary chunks of that
//     many rows of the lm_head, and the backward pass is written here by
//     hand (Grads): it keeps only each position's log-sum-exp from the
//     forward pass and recomputes each chunk's logits, one chunk at a
//     time, so no [positions, vocab] tensor ever exists. The price is one
//     more lm_head MatMul (the recompute).

// Train-graph input of the completion-positions head.
const (
	LossPositions = "loss_positions" // int64 [tokens]: flat indices b·seq + t
	DimTokens     = "tokens"
)

// chunkedHead is what the hand-written backward pass of the chunked head
// needs from its forward pass.
type chunkedHead struct {
	h      *export.Value   // [n, hidden] hidden states of the scored positions
	w      *export.Value   // [vocab, hidden] lm_head (the embedding when tied)
	chunks []*export.Value // w split into [chunk, hidden] row blocks
	wt     *export.Value   // [n, hidden] the targets' lm_head rows
	tgt    *export.Value   // [n] int64
	lse    *export.Value   // [n, 1] log-sum-exp of each position's logits
	lp     *export.Value   // [n] the log-probs the loss reads
}

// head projects the final hidden states h [b, t, hidden] onto the
// vocabulary per the options and returns log p(tgt) and the entropy
// ([b, t], or [tokens] with positions), and the chunked head if one was
// built. positions is nil for every position.
func (m *Model) head(g *export.Graph, h, tgt, positions *export.Value, withEntropy bool, vocabChunk int) (lp, ent *export.Value, ch *chunkedHead) {
	if positions != nil {
		hid := int64(m.Config.HiddenSize)
		h = g.Gather(g.Reshape(h, -1, hid), positions, 0) // [n, hidden]
		tgt = g.Gather(g.Reshape(tgt, -1), positions, 0)  // [n]
	}
	if vocabChunk <= 0 || vocabChunk >= m.Config.VocabSize || withEntropy {
		// The entropy needs every probability in the forward pass anyway:
		// such graphs take the plain head.
		lp, ent = m.targetLogProbs(g, h, tgt, withEntropy)
		return lp, ent, nil
	}
	if positions != nil {
		ch = m.chunkedLogProbs(g, h, tgt, vocabChunk)
		return ch.lp, nil, ch
	}
	bt := tgt // [b, t]
	ch = m.chunkedLogProbs(g, g.Reshape(h, -1, int64(m.Config.HiddenSize)), g.Reshape(tgt, -1), vocabChunk)
	return g.ReshapeLike(ch.lp, bt), nil, ch
}

// chunkedLogProbs is the forward pass of the chunked head over h [n,
// hidden]: per chunk its logits, their max and log-sum-exp; the chunks'
// log-sum-exps combined; the target logit as the dot product of h with
// the target's lm_head row.
func (m *Model) chunkedLogProbs(g *export.Graph, h, tgt *export.Value, chunk int) *chunkedHead {
	ch := &chunkedHead{h: h, w: m.LMHead, tgt: tgt}
	var sizes []int64
	for v := 0; v < m.Config.VocabSize; v += chunk {
		sizes = append(sizes, int64(min(chunk, m.Config.VocabSize-v)))
	}
	ch.chunks = g.Split(m.LMHead, 0, sizes...)
	x := h
	lses := make([]*export.Value, len(ch.chunks))
	for c, wc := range ch.chunks {
		l := g.MatMul(x, g.Transpose(wc, 1, 0)) // [n, chunk]
		mx := g.StopGradient(g.ReduceMax(l, []int64{-1}, true))
		lses[c] = g.Add(mx, g.Log(g.ReduceSum(g.Exp(g.Sub(l, mx)), []int64{-1}, true))) // [n,1]
		x = after(g, h, lses[c])
	}
	all := g.Concat(-1, lses...) // [n, chunks]
	mx := g.StopGradient(g.ReduceMax(all, []int64{-1}, true))
	ch.lse = g.Add(mx, g.Log(g.ReduceSum(g.Exp(g.Sub(all, mx)), []int64{-1}, true))) // [n,1]
	ch.wt = g.Gather(m.LMHead, tgt, 0)                                               // [n, hidden]
	tl := g.ReduceSum(g.Mul(h, ch.wt), []int64{-1}, true)                            // [n,1]
	ch.lp = g.Squeeze(g.Sub(tl, ch.lse), -1)
	return ch
}

// after returns x + 0·(one element of each dep): the same values as x, but
// a node that reads it runs only once deps exist. ONNX Runtime runs a
// graph in a topological order of its own choosing; these edges make it
// handle the head's chunks one after the other, so that one chunk's
// [n, chunk] tensors are freed before the next chunk's are made (the
// recompute MatMuls would otherwise be free to run together, or early).
func after(g *export.Graph, x *export.Value, deps ...*export.Value) *export.Value {
	var s *export.Value
	for _, d := range deps {
		r := d.Rank()
		zeros, ones := make([]int64, r), make([]int64, r)
		for i := range ones {
			ones[i] = 1
		}
		e := g.ReduceSum(g.Slice(d, zeros, ones, nil, nil), nil, false)
		if s == nil {
			s = e
		} else {
			s = g.Add(s, e)
		}
	}
	return g.Add(x, g.Mul(g.StopGradient(s), g.ScalarLike(x, 0)))
}

// backward adds the chunked head's backward pass for the cotangent u [n]
// of its log-probs: with p = softmax(h·wᵀ),
//
//	d logit = u·(onehot(tgt) − p),  dh = d logit · w,  dw = d logitᵀ · h,
//
// the one-hot part through the target rows (a gather and a scatter-add)
// and the softmax part recomputed chunk by chunk from h and the stored
// log-sum-exp.
func (ch *chunkedHead) backward(g *export.Graph, u *export.Value) (dh, dw *export.Value) {
	u1 := g.Unsqueeze(u, -1) // [n,1]
	dh = g.Mul(u1, ch.wt)    // target part
	negU := g.Neg(u1)
	x := after(g, ch.h, u1)
	dws := make([]*export.Value, len(ch.chunks))
	for c, wc := range ch.chunks {
		l := g.MatMul(x, g.Transpose(wc, 1, 0))    // [n, chunk], recomputed
		dl := g.Mul(g.Exp(g.Sub(l, ch.lse)), negU) // −u·p
		dh = g.Add(dh, g.MatMul(dl, wc))
		dws[c] = g.MatMul(g.Transpose(dl, 1, 0), ch.h) // [chunk, hidden]
		x = after(g, ch.h, dh, dws[c])
	}
	dw = g.Concat(0, dws...)
	idx := g.Unsqueeze(g.Cast(ch.tgt, export.Int64), -1)
	dw = g.ScatterND(dw, idx, g.Mul(u1, ch.h), "add")
	return dh, dw
}

// gradients returns d loss / d params of a train graph whose vocabulary
// head is ch (nil: the plain head, left to autodiff). loss may depend on
// the model only through lp.
func gradients(g *export.Graph, m *Model, ch *chunkedHead, loss *export.Value) (grads []*export.Value, err error) {
	if ch == nil {
		return g.GradE(loss, m.Params...)
	}
	err = export.Try(func() {
		u := g.VJP([]*export.Value{loss}, []*export.Value{g.ScalarLike(loss, 1)}, []*export.Value{ch.lp})[0]
		dh, dw := ch.backward(g, u)
		// One sweep from the head's two inputs: the hidden states and the
		// lm_head weight (which, tied, also gets the embedding's gradient).
		grads = g.VJP([]*export.Value{ch.h, ch.w}, []*export.Value{dh, dw}, m.Params)
	})
	return grads, err
}
