package exporttest

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"pz/export"
	"pz/export/ort"
)

// AnchorCeiling is ONNX Runtime's 1024³ fp32 MatMul rate (B constant, 2
// intra-op threads) when design/PERF-ANCHORS.md measured llama.cpp and
// PyTorch on this kind of machine: 460.6 GFLOP/s.
const AnchorCeiling = 460.6e9

// Ceiling measures the same MatMul now, in FLOP/s, for about d (at least
// three runs after a warm-up). The virtual machines pz is benchmarked on
// drift by up to ~2× over a day; a benchmark that reports its throughput
// over this figure (and the anchors' ratio scaled by AnchorCeiling/Ceiling)
// can be read against anchors taken on another day. It is a
// compute-bound probe: memory-bound work (batch-1 decode, elementwise ops)
// need not drift by the same factor.
func Ceiling(tb testing.TB, threads int, d time.Duration) float64 {
	tb.Helper()
	const n = 1024
	rng := rand.New(rand.NewPCG(1, 2))
	data := func() []float32 {
		v := make([]float32, n*n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	g := export.NewGraph("ceiling")
	a := g.Input("a", export.Float32, export.S(n, n))
	g.Output("y", g.MatMul(a, g.Initializer("b", export.TensorF32([]int64{n, n}, data()))))
	m, err := g.Build()
	if err != nil {
		tb.Fatal(err)
	}
	b, err := m.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	s, err := Runtime(tb).NewSession(b, ort.SessionOptions{Name: "ceiling", IntraOpThreads: threads})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	feeds := map[string]*ort.Tensor{"a": ort.F32([]int64{n, n}, data())}
	out := map[string]*ort.Tensor{"y": ort.Zeros(ort.Float32, n, n)}
	ctx := context.Background()
	if err := s.RunInto(ctx, feeds, out); err != nil { // prepacking, arena
		tb.Fatal(err)
	}
	// The best of short runs: the probe asks what the machine can do now,
	// and a run hit by a neighbour's burst says nothing about that.
	best := 0.0
	for start, runs := time.Now(), 0; runs < 3 || time.Since(start) < d; runs++ {
		t0 := time.Now()
		if err := s.RunInto(ctx, feeds, out); err != nil {
			tb.Fatal(err)
		}
		best = max(best, 2*n*n*n/time.Since(t0).Seconds())
	}
	return best
}
