package ort

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"pz/export/exporttest"
	"pz/models"
	"pz/models/qwen3"
	"pz/orchestrator"
	"pz/orchestrator/sample"
)

// benchmarkSeed fixes the random weights and prompts of every benchmark.
const benchmarkSeed = 20261128

// The shapes of design/PERF-ANCHORS.md (small preset, random weights):
// decode of 128 new tokens at batch 1, 8 and 32, prefill of a 256-token
// prompt, and rollouts (temperature-1 sampling) at batch 8, 32 and 64.
//
//	go test ./orchestrator/engine/ort -run '^$' -bench . -benchtime 3x
//
// Metrics: tok/s (new tokens, or prompt tokens for Prefill), x_llama.cpp
// (tok/s over llama.cpp's on the same shape), x_llama.cpp_now (the same
// scaled by the drift of the MatMul ceiling, ceiling_GFLOP/s, measured
// right after: exporttest.Ceiling), tok/cpu-s (tokens per second
// of process CPU time: with 1 thread, what an idle core would give, since
// the machine is shared), ort_share (the share of wall time spent inside
// Session.Run; the rest is sampling, cache copies and bookkeeping),
// sample_share (the share spent drawing tokens) and completions/s.
// PZ_PROFILE=prefix writes ORT's per-node traces (read them with
// scripts/ortprof). Set PZ_BENCH_WEIGHTS=inputs to bench weights fed as graph
// inputs, and PZ_FUSED_OPS=0 to bench the standard-op decode graph.
func benchEngine(b *testing.B, cfg *models.Config, opts Options) *Engine {
	b.Helper()
	opts.EOS = []int32{-1}                       // never stop early
	opts.ProfilePrefix = os.Getenv("PZ_PROFILE") // ORT traces for scripts/ortprof
	e, err := New(exporttest.Runtime(b), cfg, qwen3.RandomWeights(cfg, benchmarkSeed, 0.02), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	return e
}

func benchPrompt(cfg *models.Config, n, salt int) []int32 {
	p := make([]int32, n)
	for i := range p {
		p[i] = int32((i*7919 + salt*104729 + 17) % cfg.VocabSize)
	}
	return p
}

// cpuTime is the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// llama.cpp's figures on the same shapes and machine (design/PERF-ANCHORS.md,
// tok/s): pz's goals are ≥1.0× at decode batch 1, ≥1.5× at batch 32 and
// ≥2× at prefill.
const (
	llamaDecode1  = 163 // batch 1, its best thread setting (1 thread)
	llamaDecode8  = 341
	llamaDecode32 = 730
	llamaPrefill  = 2405 // 256-token prompt
)

// runGenerate runs reqs b.N times and reports throughput and ORT's share,
// and the throughput over anchor (llama.cpp's tok/s) when anchor > 0.
func runGenerate(b *testing.B, e *Engine, reqs []orchestrator.GenRequest, tokens func() float64, anchor float64) {
	b.Helper()
	ctx := context.Background()
	if _, err := e.Generate(ctx, reqs); err != nil { // warm-up: prepacking, arena
		b.Fatal(err)
	}
	s0, c0 := e.Stats(), cpuTime()
	completions := 0
	for _, r := range reqs {
		completions += r.N
	}
	n := 0
	for b.Loop() {
		if _, err := e.Generate(ctx, reqs); err != nil {
			b.Fatal(err)
		}
		n++
	}
	s, cpu := e.Stats(), (cpuTime() - c0).Seconds()
	total := (s.Total - s0.Total).Seconds()
	ceil := exporttest.Ceiling(b, 2, time.Second)
	// Tokens per second of this process's CPU time: with one thread, what
	// the engine would reach on an idle core (the machine is shared).
	b.ReportMetric(tokens()*float64(n)/cpu, "tok/cpu-s")
	b.ReportMetric(tokens()*float64(n)/total, "tok/s")
	b.ReportMetric(ceil/1e9, "ceiling_GFLOP/s")
	if anchor > 0 {
		b.ReportMetric(tokens()*float64(n)/total/anchor, "x_llama.cpp")
		// Scaled by the MatMul ceiling's drift since the anchors were
		// taken: fair for compute-bound shapes (prefill, batch 32), only
		// indicative for memory-bound batch-1 decode.
		b.ReportMetric(tokens()*float64(n)/total/anchor*exporttest.AnchorCeiling/ceil, "x_llama.cpp_now")
	}
	b.ReportMetric((s.ORT-s0.ORT).Seconds()/total, "ort_share")
	b.ReportMetric((s.Sample-s0.Sample).Seconds()/total, "sample_share")
	b.ReportMetric(float64(completions*n)/total, "completions/s")
}

func benchMode(b *testing.B) WeightMode {
	if m := WeightMode(os.Getenv("PZ_BENCH_WEIGHTS")); m != "" {
		return m
	}
	return WeightsInitializers
}

// BenchmarkDecode: 128 new tokens (greedy) after an 8-token prompt, at
// batch 1, 8 and 32, with 1 and 2 intra-op threads.
func BenchmarkDecode(b *testing.B) {
	cfg := models.Small()
	for _, threads := range []int{1, 2} {
		for _, batch := range []int{1, 8, 32} {
			b.Run(fmt.Sprintf("threads=%d/batch=%d", threads, batch), func(b *testing.B) {
				e := benchEngine(b, &cfg, Options{IntraOpThreads: threads, Weights: benchMode(b)})
				reqs := []orchestrator.GenRequest{{Prompt: benchPrompt(&cfg, 8, 0), N: batch, MaxNewTokens: 128}}
				anchor := map[int]float64{1: llamaDecode1, 8: llamaDecode8, 32: llamaDecode32}[batch]
				runGenerate(b, e, reqs, func() float64 { return float64(batch * 128) }, anchor)
			})
		}
	}
}

// BenchmarkPrefill: one 256-token prompt (and one sampled token).
func BenchmarkPrefill(b *testing.B) {
	cfg := models.Small()
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			e := benchEngine(b, &cfg, Options{IntraOpThreads: threads, Weights: benchMode(b)})
			reqs := []orchestrator.GenRequest{{Prompt: benchPrompt(&cfg, 256, 0), N: 1, MaxNewTokens: 1}}
			runGenerate(b, e, reqs, func() float64 { return 256 }, llamaPrefill)
		})
	}
}

// BenchmarkRollout: batch/8 distinct 32-token prompts with 8 samples each,
// 128 new tokens at temperature 1 (the rollout path: fan-out, sampling of
// the full vocabulary, policy log-probs).
func BenchmarkRollout(b *testing.B) {
	cfg := models.Small()
	for _, threads := range []int{1, 2} {
		for _, batch := range []int{8, 32, 64} {
			b.Run(fmt.Sprintf("threads=%d/batch=%d", threads, batch), func(b *testing.B) {
				e := benchEngine(b, &cfg, Options{IntraOpThreads: threads, Weights: benchMode(b)})
				var reqs []orchestrator.GenRequest
				for p := range batch / 8 {
					reqs = append(reqs, orchestrator.GenRequest{Prompt: benchPrompt(&cfg, 32, p), N: 8, Seed: uint64(p * 8),
						Sampling: sample.Options{Temperature: 1}, MaxNewTokens: 128})
				}
				runGenerate(b, e, reqs, func() float64 { return float64(batch * 128) }, 0)
			})
		}
	}
}

// procStatus reads a "VmXXX:  N kB" line of /proc/self/status, in bytes.
func procStatus(key string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb * 1024
		}
	}
	return 0
}

// BenchmarkLoad measures memory: the peak resident set (VmHWM, reset
// before each run through /proc/self/clear_refs) above what the process
// held before, while loading a small-preset model folder into an engine
// and generating 8×32 tokens, against the size of its f32 weights, and
// what stays resident afterwards (held, after a GC).
// Run one sub-benchmark per process for clean figures:
//
//	go test ./orchestrator/engine/ort -run '^$' -bench 'Load/initializers' -benchtime 1x
func BenchmarkLoad(b *testing.B) {
	dir := b.TempDir()
	cfg, err := qwen3.InitModel(qwen3.InitOptions{Preset: "small", Out: dir, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	weightBytes := float64(cfg.ParamCount() * 4)
	rt := exporttest.Runtime(b)
	for _, mode := range []WeightMode{WeightsInitializers, WeightsInputs} {
		b.Run(string(mode), func(b *testing.B) {
			var loaded, peak, held float64
			for b.Loop() {
				debug.FreeOSMemory()
				base := procStatus("VmRSS")
				if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
					b.Skipf("cannot reset the peak RSS: %v", err)
				}
				ck, err := models.LoadCheckpoint(dir)
				if err != nil {
					b.Fatal(err)
				}
				e, err := New(rt, ck.Config, ck.Weights, Options{Weights: mode, IntraOpThreads: 1})
				if err != nil {
					b.Fatal(err)
				}
				loaded = procStatus("VmHWM") - base
				reqs := []orchestrator.GenRequest{{Prompt: benchPrompt(cfg, 16, 0), N: 8, MaxNewTokens: 32}}
				if _, err := e.Generate(context.Background(), reqs); err != nil {
					b.Fatal(err)
				}
				peak = procStatus("VmHWM") - base
				debug.FreeOSMemory()
				held = procStatus("VmRSS") - base
				e.Close()
			}
			b.ReportMetric(weightBytes/1e6, "weights_MB")
			b.ReportMetric(loaded/1e6, "load_peak_MB")
			b.ReportMetric(peak/1e6, "peak_MB")
			b.ReportMetric(peak/weightBytes, "peak/weights")
			b.ReportMetric(held/1e6, "held_MB")
		})
	}
}
