package ort

import (
	"context"
	"fmt"
	"os"
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
// Metrics: tok/s (new tokens, or prompt tokens for Prefill), ort_share
// (the share of wall time spent inside Session.Run) and, for rollouts,
// completions/s. Set PZ_BENCH_WEIGHTS=inputs to bench weights as inputs.
func benchEngine(b *testing.B, cfg *models.Config, opts Options) *Engine {
	b.Helper()
	opts.EOS = []int32{-1} // never stop early
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

// runGenerate runs reqs b.N times and reports throughput and ORT's share.
func runGenerate(b *testing.B, e *Engine, reqs []orchestrator.GenRequest, tokens func() float64) {
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
	// Tokens per second of this process's CPU time: with one thread, what
	// the engine would reach on an idle core (the machine is shared).
	b.ReportMetric(tokens()*float64(n)/cpu, "tok/cpu-s")
	b.ReportMetric(tokens()*float64(n)/total, "tok/s")
	b.ReportMetric((s.ORT-s0.ORT).Seconds()/total, "ort_share")
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
				runGenerate(b, e, reqs, func() float64 { return float64(batch * 128) })
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
			runGenerate(b, e, reqs, func() float64 { return 256 })
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
				runGenerate(b, e, reqs, func() float64 { return float64(batch * 128) })
			})
		}
	}
}
