package ort

import (
	"fmt"
	"testing"

	"pz/models"
	"pz/orchestrator"
)

// denseTwinOfMoE is a dense Qwen3 with tiny-moe's attention, vocabulary
// and active MLP parameters per token: intermediate_size = top-k × the
// experts' width (the MoE adds only its router), untied like tiny-moe.
func denseTwinOfMoE() models.Config {
	m := models.TinyMoE()
	c := models.Tiny()
	c.TieWordEmbeddings = m.TieWordEmbeddings
	c.IntermediateSize = m.MoE.NumExpertsPerTok * m.MoE.MoEIntermediateSize
	return c
}

// BenchmarkDecodeMoE: greedy decode of 64 new tokens after an 8-token
// prompt, tiny-moe against its dense twin of the same active parameter
// count, at batch 1 and 8, one thread (run the two back to back and read
// the ratio: the machine is shared).
//
//	go test ./orchestrator/engine/ort -run '^$' -bench DecodeMoE -benchtime 5x
func BenchmarkDecodeMoE(b *testing.B) {
	for _, m := range []struct {
		name string
		cfg  models.Config
	}{{"dense", denseTwinOfMoE()}, {"moe", models.TinyMoE()}} {
		for _, batch := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/batch=%d", m.name, batch), func(b *testing.B) {
				e := benchEngine(b, &m.cfg, Options{IntraOpThreads: 1, Weights: benchMode(b)})
				reqs := []orchestrator.GenRequest{{Prompt: benchPrompt(&m.cfg, 8, 0), N: batch, MaxNewTokens: 64}}
				runGenerate(b, e, reqs, func() float64 { return float64(batch * 64) }, 0)
			})
		}
	}
}
