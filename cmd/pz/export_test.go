package main

import (
	"os"
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
	// A run folder stands for its latest checkpoint, as in the other commands.
	run := filepath.Join(dir, "run")
	if err := models.SaveCheckpoint(filepath.Join(run, "checkpoint-3"), &cfg, w, models.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(run, "latest"), []byte("checkpoint-3\n"), 0o644)
	out2 := filepath.Join(dir, "run.gguf")
	if _, err := runPz(t, "", "--log-level", "error", "export", "--model", run, "--gguf", out2); err != nil {
		t.Fatal(err)
	}
	if a, b := readFile(t, out), readFile(t, out2); a != b {
		t.Error("the run folder's export differs from its checkpoint's")
	}
	if _, err := runPz(t, "", "export", "--model", filepath.Join(dir, "m")); err == nil {
		t.Error("export without --gguf succeeded")
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
