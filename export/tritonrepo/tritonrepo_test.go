package tritonrepo

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"pz/export/exporttest"
	rt "pz/export/ort"
	"pz/internal/kservepb"
	"pz/models"
	"pz/models/qwen3"
)

func TestWriteVersions(t *testing.T) {
	cfg := models.Tiny()
	cfg.VocabSize = 120
	repo := t.TempDir()
	o := Options{Repo: repo, Name: "tiny", GPU: true, MaxBatch: 8, KeepLast: 2}
	ctx := context.Background()
	for v := int64(1); v <= 3; v++ {
		if err := WriteVersion(ctx, o, &cfg, qwen3.RandomWeights(&cfg, uint64(v), 0.3), v); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []string{"tiny", "tiny_score"} {
		vs, err := Versions(repo, m)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(vs, []int64{2, 3}) {
			t.Fatalf("%s versions %v, want [2 3] (KeepLast 2)", m, vs)
		}
	}
	// Every config.pbtxt parses with Triton's schema and says what pz wants.
	dec, err := ReadConfig(filepath.Join(repo, "tiny", "config.pbtxt"))
	if err != nil {
		t.Fatal(err)
	}
	if dec.Name != "tiny" || dec.Backend != "onnxruntime" || dec.MaxBatchSize != 8 ||
		dec.InstanceGroup[0].Kind != kservepb.ModelInstanceGroup_KIND_GPU || dec.GetVersionPolicy().GetLatest().GetNumVersions() != 1 ||
		dec.GetDynamicBatching() == nil {
		t.Fatalf("decode config: %v", dec)
	}
	// Inputs: ids, positions, mask, then a past key and value per layer
	// ([kv_heads, past, head_dim] without the batch dimension).
	if want := 3 + 2*cfg.NumHiddenLayers; len(dec.Input) != want {
		t.Fatalf("%d decode inputs, want %d", len(dec.Input), want)
	}
	var past *kservepb.ModelInput
	for _, in := range dec.Input {
		if in.Name == qwen3.PastKey(0) {
			past = in
		}
	}
	if past == nil || past.DataType != kservepb.DataType_TYPE_FP32 || !slices.Equal(past.Dims, []int64{int64(cfg.NumKeyValueHeads), -1, int64(cfg.HeadDim)}) {
		t.Fatalf("past key input: %v", past)
	}
	sc, err := ReadConfig(filepath.Join(repo, "tiny_score", "config.pbtxt"))
	if err != nil {
		t.Fatal(err)
	}
	names := func(c *kservepb.ModelConfig) (ins, outs []string) {
		for _, i := range c.Input {
			ins = append(ins, i.Name)
		}
		for _, o := range c.Output {
			outs = append(outs, o.Name)
		}
		return
	}
	ins, outs := names(sc)
	if !slices.Equal(ins, []string{qwen3.InputIDs, qwen3.PositionIDs, qwen3.AttentionMask, qwen3.TargetIDs}) || !slices.Equal(outs, []string{qwen3.LogProbs, qwen3.Entropy}) {
		t.Fatalf("score config: inputs %v outputs %v", ins, outs)
	}
	// The written ONNX file is a runnable model; the pz folder is v3's weights.
	r := exporttest.Runtime(t)
	s, err := r.NewSessionFile(filepath.Join(repo, "tiny_score", "3", "model.onnx"), rt.SessionOptions{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	ck, v, err := LoadLatest(repo, "tiny")
	if err != nil {
		t.Fatal(err)
	}
	want := qwen3.RandomWeights(&cfg, 3, 0.3)
	if v != 3 || !slices.Equal(ck.Weights[cfg.TensorSpecs()[0].Name], want[cfg.TensorSpecs()[0].Name]) {
		t.Fatalf("latest: version %d", v)
	}
	if err := WriteVersion(ctx, o, &cfg, want, 0); err == nil {
		t.Fatal("version 0 was written")
	}
}

// A config.pbtxt with a field outside the schema is refused, naming the file.
func TestReadConfigBad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.pbtxt")
	os.WriteFile(p, []byte("name: \"m\"\nmax_batch: 3\n"), 0o644)
	if _, err := ReadConfig(p); err == nil {
		t.Fatal("parsed")
	}
}
