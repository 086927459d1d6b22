package learn

import (
	"testing"

	"pz/models"
)

// BenchmarkTrainStepMoE: one GRPO step (AdamW, batch 8 × 64) of tiny-moe
// against a dense Qwen3 of the same active parameters per token
// (intermediate_size = top-k × expert width), one thread, back to back.
//
//	go test ./orchestrator/learn -run '^$' -bench TrainStepMoE -benchtime 5x
func BenchmarkTrainStepMoE(b *testing.B) {
	moe := models.TinyMoE()
	dense := models.Tiny()
	dense.TieWordEmbeddings = moe.TieWordEmbeddings
	dense.IntermediateSize = moe.MoE.NumExpertsPerTok * moe.MoE.MoEIntermediateSize
	for _, m := range []struct {
		name string
		cfg  models.Config
	}{{"dense", dense}, {"moe", moe}} {
		b.Run(m.name, func(b *testing.B) {
			benchTrainStep(b, &m.cfg, 8, 64, Options{Objective: GRPO, IntraOpThreads: 1})
		})
	}
}
