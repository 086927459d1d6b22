package learn

import (
	"os"
	"strings"
	"testing"

	"pz/export/exporttest"
	"pz/models"
)

// BenchmarkGPUTrainStep: one GRPO step with AdamW, one micro-batch, in
// float32 and with TF32 MatMuls, on the models of PZ_BENCH_MODELS (default
// "small"): the small preset at 8 × 512
// (PyTorch bf16 on the H200: 94,442 tok/s, 3.7 GiB) and a random model of
// Qwen3-4B's shape at 4 × 1024 (11,584 tok/s bf16, 89.1 GiB; fp32 + TF32
// 6,527 tok/s, 114.7 GiB). scripts/gpu-bench.sh runs it with
// PZ_DEVICE=cuda and reads peak GPU memory from nvidia-smi; it skips on
// the CPU unless PZ_BENCH_ANY_DEVICE is set. The learner keeps weights,
// gradients and AdamW moments in host memory (about 10× the float32
// weights: 160 GB for the 4B shape) until they stay on the device.
func BenchmarkGPUTrainStep(b *testing.B) {
	if exporttest.Runtime(b).Device() != "cuda" && os.Getenv("PZ_BENCH_ANY_DEVICE") == "" {
		b.Skip("a GPU benchmark: set PZ_DEVICE=cuda (or PZ_BENCH_ANY_DEVICE=1)")
	}
	names := os.Getenv("PZ_BENCH_MODELS")
	if names == "" {
		names = "small"
	}
	for _, name := range strings.Split(names, ",") {
		for _, tf32 := range []bool{false, true} {
			precision := map[bool]string{false: "fp32", true: "tf32"}[tf32]
			b.Run("model="+name+"/precision="+precision, func(b *testing.B) {
				cfg, err := models.BenchShape(name)
				if err != nil {
					b.Fatal(err)
				}
				B, T := 8, 512
				if name != "small" {
					B, T = 4, 1024
				}
				benchTrainStep(b, cfg, B, T, Options{Objective: GRPO, TF32: tf32})
			})
		}
	}
}
