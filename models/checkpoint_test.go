package models

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pz/models/safetensors"
)

func tinyWeights(c *Config) map[string][]float32 {
	w := map[string][]float32{}
	for i, s := range c.TensorSpecs() {
		n := int64(1)
		for _, d := range s.Shape {
			n *= d
		}
		v := make([]float32, n)
		for j := range v {
			v[j] = float32((i*7+j)%13) / 8 // exact in bf16
		}
		w[s.Name] = v
	}
	return w
}

func TestCheckpointRoundTrip(t *testing.T) {
	for _, dt := range []safetensors.DType{safetensors.F32, safetensors.BF16} {
		t.Run(string(dt), func(t *testing.T) {
			c := Tiny()
			c.VocabSize = 50
			w := tinyWeights(&c)
			dir := filepath.Join(t.TempDir(), "ck")
			tok := filepath.Join(t.TempDir(), "tokenizer.json")
			os.WriteFile(tok, []byte(`{"version":"1.0"}`), 0o644)
			if err := SaveCheckpoint(dir, &c, w, SaveOptions{DType: dt, TokenizerFrom: tok, Extra: map[string][]byte{"trainer_state.json": []byte("{}")}}); err != nil {
				t.Fatal(err)
			}
			ck, err := LoadCheckpoint(dir)
			if err != nil {
				t.Fatal(err)
			}
			if ck.DType != dt {
				t.Errorf("dtype %s, want %s", ck.DType, dt)
			}
			for name, want := range w {
				got := ck.Weights[name]
				for j := range want {
					if got[j] != want[j] {
						t.Fatalf("%s[%d] = %g, want %g", name, j, got[j], want[j])
					}
				}
			}
			for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", "trainer_state.json"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("missing %s: %v", f, err)
				}
			}
		})
	}
}

// TestCheckpointBadTensors: every missing and unexpected tensor is named.
func TestCheckpointBadTensors(t *testing.T) {
	c := Tiny()
	c.VocabSize = 50
	w := tinyWeights(&c)
	dir := filepath.Join(t.TempDir(), "ck")
	if err := SaveCheckpoint(dir, &c, w, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	// Rewrite the weights without two tensors and with a stray one.
	var ts []safetensors.Tensor
	for _, s := range c.TensorSpecs() {
		if strings.Contains(s.Name, "layers.1.mlp.up_proj") || strings.Contains(s.Name, "layers.0.self_attn.q_norm") {
			continue
		}
		tt, _ := safetensors.FromFloat32(s.Name, safetensors.F32, s.Shape, w[s.Name])
		ts = append(ts, tt)
	}
	stray, _ := safetensors.FromFloat32("model.layers.0.mlp.extra.weight", safetensors.F32, []int64{2}, []float32{1, 2})
	ts = append(ts, stray)
	if err := safetensors.Write(filepath.Join(dir, "model.safetensors"), ts, nil); err != nil {
		t.Fatal(err)
	}
	_, err := LoadCheckpoint(dir)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"model.layers.1.mlp.up_proj.weight", "model.layers.0.self_attn.q_norm.weight", "unexpected model.layers.0.mlp.extra.weight"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// TestSaveCheckpointKeepsOldOnFailure: a failed save leaves the previous
// checkpoint intact and no temp directory behind.
func TestSaveCheckpointKeepsOldOnFailure(t *testing.T) {
	c := Tiny()
	c.VocabSize = 50
	w := tinyWeights(&c)
	dir := filepath.Join(t.TempDir(), "ck")
	if err := SaveCheckpoint(dir, &c, w, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	bad := map[string][]float32{}
	for k, v := range w {
		bad[k] = v
	}
	delete(bad, "model.norm.weight")
	if err := SaveCheckpoint(dir, &c, bad, SaveOptions{}); err == nil || !strings.Contains(err.Error(), "model.norm.weight") {
		t.Fatalf("error %v, want one naming model.norm.weight", err)
	}
	if _, err := LoadCheckpoint(dir); err != nil {
		t.Fatalf("old checkpoint damaged: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Dir(dir))
	if len(ents) != 1 {
		t.Errorf("leftovers in parent: %v", ents)
	}
}
