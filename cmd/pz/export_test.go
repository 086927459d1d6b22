package main

import (
	"path/filepath"
	"testing"

	"pz/models"
	"pz/models/gguf"
	"pz/models/qwen3"
)

func TestExportGGUFCLI(t *testing.T) {
	dir := t.TempDir()
	cfg := models.Tiny()
	w := qwen3.RandomWeights(&cfg, 1, 0.02)
	if err := models.SaveCheckpoint(filepath.Join(dir, "m"), &cfg, w, models.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "m.gguf")
	if _, err := runPz(t, "", "--log-level", "error", "export", "--model", filepath.Join(dir, "m"), "--gguf", out); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.Tensors); n != len(cfg.TensorSpecs()) {
		t.Errorf("%d tensors, want %d", n, len(cfg.TensorSpecs()))
	}
	if _, err := runPz(t, "", "export", "--model", filepath.Join(dir, "m")); err == nil {
		t.Error("export without --gguf succeeded")
	}
}
