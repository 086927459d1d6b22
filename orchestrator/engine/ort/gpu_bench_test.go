package ort

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"pz/export/exporttest"
	"pz/models"
	"pz/orchestrator"
	"pz/orchestrator/sample"
)

// GPU benchmarks (scripts/gpu-bench.sh runs them with PZ_DEVICE=cuda):
// the shapes of issue 14's H200 anchors, for the models named in
// PZ_BENCH_MODELS (comma-separated, default "small"; "qwen3-4b" is a
// random model of Qwen3-4B's shape). They skip on the CPU unless
// PZ_BENCH_ANY_DEVICE is set: batch 256 of the small preset takes minutes
// there.

// gpuModels returns the benchmark models, or skips off the GPU.
func gpuModels(b *testing.B) []string {
	b.Helper()
	if exporttest.Runtime(b).Device() != "cuda" && os.Getenv("PZ_BENCH_ANY_DEVICE") == "" {
		b.Skip("a GPU benchmark: set PZ_DEVICE=cuda (or PZ_BENCH_ANY_DEVICE=1)")
	}
	names := os.Getenv("PZ_BENCH_MODELS")
	if names == "" {
		names = "small"
	}
	return strings.Split(names, ",")
}

// gpuEngine builds an engine for a benchmark model. Models whose weights
// exceed the 2 GB protobuf limit are fed as inputs (every run copies them
// to the device until weights stay resident there: issue 14).
func gpuEngine(b *testing.B, name string, maxBatch int) (*models.Config, *Engine) {
	b.Helper()
	cfg, err := models.BenchShape(name)
	if err != nil {
		b.Fatal(err)
	}
	mode := benchMode(b)
	if os.Getenv("PZ_BENCH_WEIGHTS") == "" && cfg.ParamCount()*4 > 1<<31 {
		mode = WeightsInputs
	}
	return cfg, benchEngine(b, cfg, Options{Weights: mode, MaxBatch: maxBatch})
}

// BenchmarkGPUDecode: 128 new tokens at temperature 1 after 256-token
// prompts, at batch 1, 32 and 256 (HF generate on the H200: small 58.6 /
// 3,159 / 25,693 tok/s; Qwen3-4B shape 21.5 / 689 / 5,599).
func BenchmarkGPUDecode(b *testing.B) {
	for _, name := range gpuModels(b) {
		for _, batch := range []int{1, 32, 256} {
			b.Run(fmt.Sprintf("model=%s/batch=%d", name, batch), func(b *testing.B) {
				cfg, e := gpuEngine(b, name, batch)
				var reqs []orchestrator.GenRequest
				for i := range batch {
					reqs = append(reqs, orchestrator.GenRequest{Prompt: benchPrompt(cfg, 256, i), N: 1, Seed: uint64(i),
						Sampling: sample.Options{Temperature: 1}, MaxNewTokens: 128})
				}
				runGenerate(b, e, reqs, func() float64 { return float64(batch * 128) }, 0)
			})
		}
	}
}

// BenchmarkGPUPrefill: 8 prompts of 1024 tokens, one new token each (HF on
// the H200: small 905,681 tok/s, Qwen3-4B shape 50,879).
func BenchmarkGPUPrefill(b *testing.B) {
	for _, name := range gpuModels(b) {
		b.Run("model="+name, func(b *testing.B) {
			cfg, e := gpuEngine(b, name, 8)
			var reqs []orchestrator.GenRequest
			for i := range 8 {
				reqs = append(reqs, orchestrator.GenRequest{Prompt: benchPrompt(cfg, 1024, i), N: 1, MaxNewTokens: 1})
			}
			runGenerate(b, e, reqs, func() float64 { return 8 * 1024 }, 0)
		})
	}
}
