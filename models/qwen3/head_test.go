package qwen3

import (
	"fmt"
	"math"
	"testing"

	"pz/export"
	"pz/export/exporttest"
	"pz/export/ort"
	"pz/models"
)

// headRun is the loss Σ w·log p and its gradients of one train graph.
type headRun struct {
	loss  float64
	lp    []float64 // at the scored positions, in positions order
	grads map[string][]float64
}

// runHead builds the train graph with opts, its loss Σ_k wts[k]·lp at the
// positions pos (flat b·seq + t) and the gradients of every weight, in
// float64 through ORT.
func runHead(t *testing.T, cfg *models.Config, w map[string][]float32, opts ForwardOptions, ids, posIDs, mask, tgt []int64, pos []int64, wts []float64) headRun {
	t.Helper()
	opts.DType = export.Float64
	f, err := BuildForward(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	g := f.G
	var lp *export.Value
	var wv *export.Value
	if opts.LossPositions {
		lp = f.LogProbs
		wv = g.Const(export.TensorF64([]int64{int64(len(pos))}, wts))
	} else {
		// Full graph: weights scattered to [b, t], log-probs gathered back.
		full := make([]float64, len(ids))
		for k, p := range pos {
			full[p] = wts[k]
		}
		wv = g.Const(export.TensorF64([]int64{2, int64(len(ids) / 2)}, full))
		lp = f.LogProbs
	}
	loss := g.ReduceSum(g.Mul(lp, wv), nil, false)
	grads, err := f.Grads(loss)
	if err != nil {
		t.Fatal(err)
	}
	g.Output("loss", loss)
	g.Output("lp", lp)
	for i, s := range cfg.TensorSpecs() {
		g.Output("grad/"+s.Name, grads[i])
	}
	feeds := map[string]*ort.Tensor{
		InputIDs: i64t(2, len(ids)/2, ids), PositionIDs: i64t(2, len(ids)/2, posIDs),
		AttentionMask: i64t(2, len(ids)/2, mask), TargetIDs: i64t(2, len(ids)/2, tgt),
	}
	if opts.LossPositions {
		feeds[LossPositions] = ort.I64([]int64{int64(len(pos))}, pos)
	}
	for _, s := range cfg.TensorSpecs() {
		d := make([]float64, len(w[s.Name]))
		for i, v := range w[s.Name] {
			d[i] = float64(v)
		}
		feeds[s.Name] = ort.F64(s.Shape, d)
	}
	out := exporttest.Run(t, g, feeds)
	r := headRun{loss: out["loss"].Data.([]float64)[0], grads: map[string][]float64{}}
	all := out["lp"].Data.([]float64)
	if opts.LossPositions {
		r.lp = all
	} else {
		for _, p := range pos {
			r.lp = append(r.lp, all[p])
		}
	}
	for _, s := range cfg.TensorSpecs() {
		r.grads[s.Name] = out["grad/"+s.Name].Data.([]float64)
	}
	return r
}

// TestHeadVariantsMatchFullGraph: the completion-positions head and the
// chunked head (hand-written backward, logits recomputed per chunk; chunk
// sizes that do and do not divide the vocabulary) give the full graph's
// log-probs, loss and every weight's gradient, tied and untied, to float64
// rounding. The full graph is checked against finite differences by
// TestGradientFiniteDifferences.
func TestHeadVariantsMatchFullGraph(t *testing.T) {
	// Row 1 is right-padded after 3 tokens; positions skip row 0's first
	// two (a prompt) and the padding, and one target repeats (row 0's 9 and
	// row 1's 9) so the scatter-add of the target rows is exercised.
	ids := []int64{1, 5, 7, 2, 3, 12, 4, 0}
	posIDs := []int64{0, 1, 2, 3, 0, 1, 2, 0}
	mask := []int64{1, 1, 1, 1, 1, 1, 1, 0}
	tgt := []int64{5, 7, 2, 9, 12, 9, 11, 0}
	pos := []int64{2, 3, 4, 5, 6}
	wts := []float64{0.3, -1.1, 0.7, 0.25, -0.6}
	for _, tied := range []bool{true, false} {
		cfg := micro(models.FamilyQwen3)
		cfg.TieWordEmbeddings = tied
		w := RandomWeights(cfg, 11, 0.5)
		ref := runHead(t, cfg, w, ForwardOptions{}, ids, posIDs, mask, tgt, pos, wts)
		for _, o := range []ForwardOptions{
			{LossPositions: true},
			{VocabChunk: 5},
			{LossPositions: true, VocabChunk: 5},
			{LossPositions: true, VocabChunk: 4},
			{LossPositions: true, VocabChunk: 1},
		} {
			t.Run(fmt.Sprintf("tied=%t/positions=%t/chunk=%d", tied, o.LossPositions, o.VocabChunk), func(t *testing.T) {
				got := runHead(t, cfg, w, o, ids, posIDs, mask, tgt, pos, wts)
				near := func(what string, a, b float64) {
					if math.Abs(a-b) > 1e-12+1e-10*math.Abs(b) {
						t.Errorf("%s: %.15g, full graph %.15g", what, a, b)
					}
				}
				near("loss", got.loss, ref.loss)
				for k := range pos {
					near(fmt.Sprintf("logprob %d", k), got.lp[k], ref.lp[k])
				}
				for name, want := range ref.grads {
					for i := range want {
						near(fmt.Sprintf("grad %s[%d]", name, i), got.grads[name][i], want[i])
					}
				}
			})
		}
	}
}

// TestChunkedHeadNeedsNoFullVocabTensor: with positions and chunks the
// train graph holds no [positions, vocab] tensor, the point of it; the
// plain head does (a check that the test can fail).
func TestChunkedHeadNeedsNoFullVocabTensor(t *testing.T) {
	cfg := micro(models.FamilyQwen3)
	for _, c := range []struct {
		opts ForwardOptions
		want bool
	}{{ForwardOptions{LossPositions: true}, true}, {ForwardOptions{LossPositions: true, VocabChunk: 5}, false}} {
		f, err := BuildForward(cfg, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		loss := f.G.ReduceSum(f.LogProbs, nil, false)
		if _, err := f.Grads(loss); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, n := range f.G.Nodes() {
			for _, o := range n.Outputs {
				if sh := o.Shape(); len(sh) > 0 && sh[len(sh)-1].Static() && sh[len(sh)-1].Size == int64(cfg.VocabSize) && n.Op != "Split" && n.Op != "Concat" && n.Op != "ScatterND" {
					found = found || o.Rank() == 2 && !sh[0].Static()
				}
			}
		}
		if found != c.want {
			t.Errorf("chunk %d: a [tokens, vocab] tensor: %t, want %t", c.opts.VocabChunk, found, c.want)
		}
	}
}
