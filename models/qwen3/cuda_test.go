package qwen3

import (
	"context"
	"math"
	"testing"

	"pz/export/exporttest"
	"pz/export/ort"
	"pz/models"
)

// TestCUDAMatchesCPU runs the small preset's train-flavour forward graph
// (log-probs of 2 × 256 tokens) on the CPU and on the GPU with the same
// weights, in float32 and with TF32 MatMuls, and reports the largest
// log-prob difference. It runs only with PZ_DEVICE=cuda
// (scripts/gpu-bench.sh); float32 must agree to 1e-3 nats.
func TestCUDAMatchesCPU(t *testing.T) {
	rt := exporttest.Runtime(t)
	if rt.Device() != ort.DeviceCUDA {
		t.Skip("needs PZ_DEVICE=cuda and a GPU")
	}
	cfg := models.Small()
	f, err := BuildForward(&cfg, ForwardOptions{Name: "cuda_vs_cpu"})
	if err != nil {
		t.Fatal(err)
	}
	f.G.Output(LogProbs, f.LogProbs)
	m, err := f.G.Build()
	if err != nil {
		t.Fatal(err)
	}
	model, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	const B, T = 2, 256
	ids, pos, mask, tgt := make([]int64, B*T), make([]int64, B*T), make([]int64, B*T), make([]int64, B*T)
	for i := range ids {
		ids[i], pos[i], mask[i], tgt[i] = int64((i*7919+17)%cfg.VocabSize), int64(i%T), 1, int64((i*104729+5)%cfg.VocabSize)
	}
	feeds := weightFeeds(&cfg, RandomWeights(&cfg, 20261128, 0.02))
	feeds[InputIDs], feeds[PositionIDs], feeds[AttentionMask], feeds[TargetIDs] = i64t(B, T, ids), i64t(B, T, pos), i64t(B, T, mask), i64t(B, T, tgt)
	run := func(so ort.SessionOptions) []float32 {
		s, err := rt.NewSession(model, so)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		out, err := s.Run(context.Background(), feeds, LogProbs)
		if err != nil {
			t.Fatal(err)
		}
		return out[LogProbs].Float32s()
	}
	cpu := run(ort.SessionOptions{Name: "cpu", Device: ort.DeviceCPU})
	for _, c := range []struct {
		name string
		tf32 bool
		tol  float64
	}{{"fp32", false, 1e-3}, {"tf32", true, math.Inf(1)}} {
		gpu := run(ort.SessionOptions{Name: "cuda_" + c.name, Device: ort.DeviceCUDA, TF32: c.tf32})
		worst := 0.0
		for i := range cpu {
			worst = math.Max(worst, math.Abs(float64(gpu[i]-cpu[i])))
		}
		t.Logf("CUDA-CPU %s max |d logprob| %.3g", c.name, worst)
		if worst > c.tol {
			t.Errorf("%s: CUDA and CPU log-probs differ by %.3g (> %g)", c.name, worst, c.tol)
		}
	}
}
