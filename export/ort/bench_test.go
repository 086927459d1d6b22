package ort_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	ortgo "github.com/yalue/onnxruntime_go"

	"pz/export"
	"pz/export/ort"
)

// benchmarkSeed fixes the random weights of every benchmark.
const benchmarkSeed = 20261128

func benchRuntime(b *testing.B) *ort.Runtime {
	b.Helper()
	lib, err := ort.FindLibrary("")
	if err != nil {
		b.Skip(err)
	}
	rt, err := ort.Init(ort.Options{LibraryPath: lib})
	if err != nil {
		b.Fatal(err)
	}
	return rt
}

func randF32(rng *rand.Rand, n int64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = rng.Float32()*2 - 1
	}
	return x
}

// matmulModel builds y = a[m k] @ b[k n], with b an initializer (constant,
// so ORT prepacks it, as for weights in a forward pass) or a second input
// (as for activations and gradients in a backward pass).
func matmulModel(b *testing.B, m, k, n int64, bConst bool, rng *rand.Rand) ([]byte, map[string]*ort.Tensor) {
	b.Helper()
	g := export.NewGraph("matmul")
	a := g.Input("a", export.Float32, export.S(m, k))
	feeds := map[string]*ort.Tensor{"a": ort.F32([]int64{m, k}, randF32(rng, m*k))}
	var w *export.Value
	wData := randF32(rng, k*n)
	if bConst {
		w = g.Initializer("b", export.TensorF32([]int64{k, n}, wData))
	} else {
		w = g.Input("b", export.Float32, export.S(k, n))
		feeds["b"] = ort.F32([]int64{k, n}, wData)
	}
	g.Output("y", g.MatMul(a, w))
	mod, err := g.Build()
	if err != nil {
		b.Fatal(err)
	}
	onnx, err := mod.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	return onnx, feeds
}

// matmulShapes are the MatMuls of the configs PERF-ANCHORS.md measures, at
// 512 tokens (prefill) and at decode batch sizes.
var matmulShapes = []struct {
	name    string
	m, k, n int64
}{
	{"square_1024", 1024, 1024, 1024},
	// A 0.5B-class decoder layer (Qwen2.5-0.5B: hidden 896, FFN 4864,
	// 14 query heads and 2 KV heads of 64), 512 tokens.
	{"qwen0.5b_q_o_512", 512, 896, 896},
	{"qwen0.5b_kv_512", 512, 896, 128},
	{"qwen0.5b_gate_up_512", 512, 896, 4864},
	{"qwen0.5b_down_512", 512, 4864, 896},
	// The small preset (hidden 512, FFN 1536, 8/4 heads of 64, vocab 32768), 512 tokens.
	{"small_q_o_512", 512, 512, 512},
	{"small_kv_512", 512, 512, 256},
	{"small_gate_up_512", 512, 512, 1536},
	{"small_down_512", 512, 1536, 512},
	{"small_lm_head_512", 512, 512, 32768},
	// Decode-sized: the 0.5B gate/up projection at batch 1, 8 and 32.
	{"qwen0.5b_gate_up_m1", 1, 896, 4864},
	{"qwen0.5b_gate_up_m8", 8, 896, 4864},
	{"qwen0.5b_gate_up_m32", 32, 896, 4864},
}

// BenchmarkMatMul measures ORT's fp32 MatMul throughput: the ceiling for
// every graph pz runs on this machine. Outputs are preallocated (RunInto)
// so that only ORT's work is timed.
//
//	go test ./export/ort -run '^$' -bench MatMul -benchtime 20x
func BenchmarkMatMul(b *testing.B) {
	rt := benchRuntime(b)
	for _, s := range matmulShapes {
		for _, bConst := range []bool{true, false} {
			for _, threads := range []int{1, 2} {
				kind := "Bconst"
				if !bConst {
					kind = "Binput"
				}
				b.Run(fmt.Sprintf("%s/%s/threads=%d", s.name, kind, threads), func(b *testing.B) {
					rng := rand.New(rand.NewPCG(benchmarkSeed, uint64(s.m*s.k*s.n)))
					onnx, feeds := matmulModel(b, s.m, s.k, s.n, bConst, rng)
					sess, err := rt.NewSession(onnx, ort.SessionOptions{Name: s.name, IntraOpThreads: threads})
					if err != nil {
						b.Fatal(err)
					}
					defer sess.Close()
					out := map[string]*ort.Tensor{"y": ort.Zeros(ort.Float32, s.m, s.n)}
					ctx := context.Background()
					if err := sess.RunInto(ctx, feeds, out); err != nil { // warm-up: prepacking, arena
						b.Fatal(err)
					}
					cpu0 := cpuSeconds()
					for b.Loop() {
						if err := sess.RunInto(ctx, feeds, out); err != nil {
							b.Fatal(err)
						}
					}
					flops := 2 * float64(s.m*s.k*s.n) * float64(b.N)
					b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
					// Per CPU-second of this process: on a shared machine
					// this reads the per-core rate that wall time hides
					// (ORT's spinning threads count as busy).
					b.ReportMetric(flops/(cpuSeconds()-cpu0)/1e9, "GFLOP/cpu-s")
				})
			}
		}
	}
}

// BenchmarkRunOverhead measures the fixed cost of one Run through the
// wrapper on a tiny graph (y = x + x on 4 floats), against onnxruntime_go
// directly with values bound once (the floor).
//
//	go test ./export/ort -run '^$' -bench RunOverhead
func BenchmarkRunOverhead(b *testing.B) {
	rt := benchRuntime(b)
	g := export.NewGraph("tiny")
	x := g.Input("x", export.Float32, export.S(4))
	g.Output("y", g.Add(x, x))
	mod, err := g.Build()
	if err != nil {
		b.Fatal(err)
	}
	onnx, err := mod.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	sess, err := rt.NewSession(onnx, ort.SessionOptions{Name: "tiny", IntraOpThreads: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	in := map[string]*ort.Tensor{"x": ort.F32([]int64{4}, []float32{1, 2, 3, 4})}
	cancellable, cancel := context.WithCancel(context.Background())
	defer cancel()

	b.Run("Run", func(b *testing.B) {
		for b.Loop() {
			if _, err := sess.Run(context.Background(), in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Run/cancellable-ctx", func(b *testing.B) {
		for b.Loop() {
			if _, err := sess.Run(cancellable, in); err != nil {
				b.Fatal(err)
			}
		}
	})
	out := map[string]*ort.Tensor{"y": ort.Zeros(ort.Float32, 4)}
	b.Run("RunInto", func(b *testing.B) {
		for b.Loop() {
			if err := sess.RunInto(context.Background(), in, out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("RunInto/cancellable-ctx", func(b *testing.B) {
		for b.Loop() {
			if err := sess.RunInto(cancellable, in, out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("onnxruntime_go-bound", func(b *testing.B) {
		xt, err := ortgo.NewTensor(ortgo.NewShape(4), []float32{1, 2, 3, 4})
		if err != nil {
			b.Fatal(err)
		}
		defer xt.Destroy()
		yt, err := ortgo.NewEmptyTensor[float32](ortgo.NewShape(4))
		if err != nil {
			b.Fatal(err)
		}
		defer yt.Destroy()
		opts, err := ortgo.NewSessionOptions()
		if err != nil {
			b.Fatal(err)
		}
		defer opts.Destroy()
		if err := opts.SetIntraOpNumThreads(1); err != nil {
			b.Fatal(err)
		}
		s, err := ortgo.NewAdvancedSessionWithONNXData(onnx, []string{"x"}, []string{"y"}, []ortgo.Value{xt}, []ortgo.Value{yt}, opts)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Destroy()
		for b.Loop() {
			if err := s.Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// cpuSeconds is the user+system CPU time of this process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// BenchmarkRunWeights measures one Run of a graph fed 100 weight inputs
// ([64] each, concatenated by one node), with the weights wrapped at every
// run and pinned once (Session.Pin).
//
//	go test ./export/ort -run '^$' -bench RunWeights
func BenchmarkRunWeights(b *testing.B) {
	rt := benchRuntime(b)
	const n = 100
	g := export.NewGraph("weights")
	feeds := map[string]*ort.Tensor{}
	var ws []*export.Value
	for i := range n {
		name := fmt.Sprintf("w%d", i)
		ws = append(ws, g.Input(name, export.Float32, export.S(64)))
		feeds[name] = ort.F32([]int64{64}, make([]float32, 64))
	}
	g.Output("y", g.Concat(0, ws...))
	mod, err := g.Build()
	if err != nil {
		b.Fatal(err)
	}
	onnx, err := mod.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	sess, err := rt.NewSession(onnx, ort.SessionOptions{Name: "weights", IntraOpThreads: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	out := map[string]*ort.Tensor{"y": ort.Zeros(ort.Float32, 64*n)}
	ctx := context.Background()
	b.Run("wrapped", func(b *testing.B) {
		for b.Loop() {
			if err := sess.RunInto(ctx, feeds, out); err != nil {
				b.Fatal(err)
			}
		}
	})
	if err := sess.Pin(feeds); err != nil {
		b.Fatal(err)
	}
	b.Run("pinned", func(b *testing.B) {
		for b.Loop() {
			if err := sess.RunInto(ctx, feeds, out); err != nil {
				b.Fatal(err)
			}
		}
	})
}
