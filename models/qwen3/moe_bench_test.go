package qwen3

import (
	"context"
	"fmt"
	"testing"

	"pz/export"
	"pz/export/exporttest"
	"pz/models"
)

// BenchmarkMoEForms times the two MoE forms on the tiny-moe preset, back
// to back: the train graph's forward and backward at batch 8 × 64
// ("train"), and its forward alone at batch 1 × 1 and 8 × 1 (the work of
// a decode step's MLPs, without the cache). Read the dense/sparse ratio.
//
//	go test ./models/qwen3 -run '^$' -bench MoEForms -benchtime 20x
func BenchmarkMoEForms(b *testing.B) {
	cfg := models.TinyMoE()
	w := RandomWeights(&cfg, 1, 0.02)
	for _, shape := range []struct {
		name  string
		B, T  int
		train bool
	}{{"train/8x64", 8, 64, true}, {"step/1x1", 1, 1, false}, {"step/8x1", 8, 1, false}} {
		for _, sparse := range []bool{false, true} {
			form := map[bool]string{false: "dense", true: "sparse"}[sparse]
			b.Run(fmt.Sprintf("%s/%s", shape.name, form), func(b *testing.B) {
				g := export.NewGraph("moe_bench")
				ids, pos, mask, tgt := trainInputs(g)
				m := Bind(g, &cfg, export.Float32, WeightsAsInputs(export.Float32))
				m.SetMoESparse(sparse)
				lp, _ := m.TargetLogProbs(g, ids, pos, mask, tgt, false)
				g.Output(LogProbs, lp)
				if shape.train {
					for i, d := range g.Grad(g.ReduceSum(lp, nil, false), m.Params...) {
						g.Output(fmt.Sprintf("grad_%d", i), d)
					}
				}
				sess := exporttest.Session(b, g)
				feeds := weightFeeds(&cfg, w)
				n := shape.B * shape.T
				fi, fp, fm := make([]int64, n), make([]int64, n), make([]int64, n)
				for i := range n {
					fi[i], fp[i], fm[i] = int64(i*7919%cfg.VocabSize), int64(i%shape.T), 1
				}
				feeds[InputIDs], feeds[PositionIDs] = i64t(shape.B, shape.T, fi), i64t(shape.B, shape.T, fp)
				feeds[AttentionMask], feeds[TargetIDs] = i64t(shape.B, shape.T, fm), i64t(shape.B, shape.T, fi)
				run := func() {
					if _, err := sess.Run(context.Background(), feeds); err != nil {
						b.Fatal(err)
					}
				}
				run()
				for b.Loop() {
					run()
				}
			})
		}
	}
}
