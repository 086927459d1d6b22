package learn

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pz/export/exporttest"
	"pz/models"
	"pz/models/qwen3"
	"pz/models/safetensors"
)

// TestBF16CheckpointResumesNearlyExactly: a checkpoint saved in bf16 has
// bf16 weights in model.safetensors (half the bytes of float32), and a
// learner restored from it gets the float32 weights back to 16
// significant bits thanks to the residuals (bf16 alone: 8). Without
// optimizer state the folder has no optimizer file and a resume says why.
func TestBF16CheckpointResumesNearlyExactly(t *testing.T) {
	cfg := microConfig()
	rt := exporttest.Runtime(t)
	l, err := New(rt, cfg, qwen3.RandomWeights(cfg, 9, 0.5), Options{LR: 1e-2})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Step(context.Background(), batch()); err != nil {
		t.Fatal(err)
	}
	want := cloneWeights(l.Weights())
	out := t.TempDir()
	dir, err := l.Save(out, SaveOptions{DType: safetensors.BF16})
	if err != nil {
		t.Fatal(err)
	}
	ck, err := models.LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ck.DType != safetensors.BF16 {
		t.Errorf("model.safetensors in %s, want BF16", ck.DType)
	}
	maxRel := func(got map[string][]float32) float64 {
		m := 0.0
		for k, w := range want {
			for i, v := range w {
				if v != 0 {
					m = math.Max(m, math.Abs(float64(got[k][i]-v))/math.Abs(float64(v)))
				}
			}
		}
		return m
	}
	bf := maxRel(ck.Weights)
	r, err := New(rt, cfg, ck.Weights, Options{LR: 1e-2})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Restore(dir); err != nil {
		t.Fatal(err)
	}
	if got := maxRel(r.Weights()); got > math.Exp2(-16) || bf < math.Exp2(-12) {
		t.Errorf("relative error %.3g after restore (want <= 2^-16), %.3g in bf16 alone (want > 2^-12)", got, bf)
	}

	final := t.TempDir()
	dir, err = l.Save(final, SaveOptions{DType: safetensors.BF16, NoOptimizer: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, OptimizerFile)); !os.IsNotExist(err) {
		t.Errorf("optimizer file with NoOptimizer: %v", err)
	}
	if _, err := r.Restore(dir); err == nil || !strings.Contains(err.Error(), "without optimizer state") {
		t.Errorf("restore without optimizer state: %v", err)
	}
}
