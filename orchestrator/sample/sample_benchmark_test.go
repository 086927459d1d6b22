package sample

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// benchLogits returns n logits shaped like a language model's: a normal bulk with the
// given spread and `peaks` tokens 12 to 20 above it.
func benchLogits(n int, spread float64, peaks int) []float32 {
	r := rand.New(rand.NewPCG(11, 12))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64() * spread)
	}
	for range peaks {
		v[r.IntN(n)] = float32(12 + 8*r.Float64())
	}
	return v
}

// BenchmarkSample measures one token at Qwen3's vocabulary (151,936) and at the toy
// presets' (32,768): ns/op is the sampler's cost per token on one core (cpu-ns/op the
// same in thread CPU time). "flat" logits have no peaks (entropy ≈ 11 nats), the worst
// case for top-p's kept set; the others have entropy ≈ 2 nats.
func BenchmarkSample(b *testing.B) {
	for _, vocab := range []int{151_936, 32_768} {
		peaked, flat := benchLogits(vocab, 2.5, 16), benchLogits(vocab, 1, 0)
		for _, bc := range []struct {
			name   string
			logits []float32
			opts   Options
		}{
			{"greedy", peaked, Options{}},
			{"T=1", peaked, Options{Temperature: 1}},
			{"T=0.8", peaked, Options{Temperature: 0.8}},
			{"T=1,top-p=0.95", peaked, Options{Temperature: 1, TopP: 0.95}},
			{"T=0.8,top-k=50", peaked, Options{Temperature: 0.8, TopK: 50}},
			{"T=1,min-p=0.05", peaked, Options{Temperature: 1, MinP: 0.05}},
			{"T=0.6,top-k=20,top-p=0.95", peaked, Options{Temperature: 0.6, TopK: 20, TopP: 0.95}},
			{"T=0.8,top-p=0.95", peaked, Options{Temperature: 0.8, TopP: 0.95}},
			{"flat,T=1,top-p=0.95", flat, Options{Temperature: 1, TopP: 0.95}},
		} {
			b.Run(fmt.Sprintf("vocab=%d/%s", vocab, bc.name), func(b *testing.B) {
				s := mustNew(b, bc.opts, 1)
				cpu := startCPU(b)
				for b.Loop() {
					if _, err := s.Sample(bc.logits); err != nil {
						b.Fatal(err)
					}
				}
				cpu.report()
			})
		}
	}
}

// cpuClock reports the benchmark's thread CPU time per op as "cpu-ns/op" alongside the
// wall-clock ns/op, which a busy shared machine inflates.
type cpuClock struct {
	b     *testing.B
	start int64
	ok    bool
}

// startCPU locks the goroutine to its thread (so thread CPU time is the benchmark's) until
// report.
func startCPU(b *testing.B) cpuClock {
	runtime.LockOSThread()
	t, ok := threadCPU()
	return cpuClock{b, t, ok}
}

func (c cpuClock) report() {
	if t, ok := threadCPU(); ok && c.ok && c.b.N > 0 {
		c.b.ReportMetric(float64(t-c.start)/float64(c.b.N), "cpu-ns/op")
	}
	runtime.UnlockOSThread()
}

func BenchmarkHelpers(b *testing.B) {
	v := benchLogits(151_936, 2.5, 16)
	var sink float64
	b.Run("LogSoftmaxAt", func(b *testing.B) {
		cpu := startCPU(b)
		for b.Loop() {
			sink += float64(LogSoftmaxAt(v, 7))
		}
		cpu.report()
	})
	b.Run("Entropy", func(b *testing.B) {
		cpu := startCPU(b)
		for b.Loop() {
			sink += Entropy(v)
		}
		cpu.report()
	})
	b.Run("math.Exp-pass", func(b *testing.B) { // the normaliser with the standard library, for scale
		cpu := startCPU(b)
		for b.Loop() {
			var z float64
			for _, x := range v {
				z += math.Exp(float64(x) - 20)
			}
			sink += z
		}
		cpu.report()
	})
	b.Logf("sink %v", sink)
}
