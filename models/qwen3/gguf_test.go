package qwen3

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"pz/models"
	"pz/models/gguf"
	"pz/models/tokenizer"
)

// TestExportGGUF writes the tiny preset with its shipped tokenizer through
// ExportGGUF and reads the file back. The expected vocabulary facts come
// from the tokenizer.json itself (5 added tokens, <|endoftext|> and
// <|pad|> special; merges "Ġ t", "h e" first; 1,787 merges). That
// llama.cpp loads such a file and computes the same log-probs as pz is
// TestLlamaCppGolden.
func TestExportGGUF(t *testing.T) {
	cfg := models.Tiny()
	w := RandomWeights(&cfg, 3, 0.02)
	dir := t.TempDir()
	withTok, bare := filepath.Join(dir, "with"), filepath.Join(dir, "bare")
	for _, d := range []string{withTok, bare} {
		if err := models.SaveCheckpoint(d, &cfg, w, models.SaveOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := tokenizer.Load(filepath.Join("..", "presets", "tokenizers", "tiny.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.Save(filepath.Join(withTok, "tokenizer.json")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)

	out := filepath.Join(dir, "tiny.gguf")
	if err := ExportGGUF(ctx, GGUFOptions{Model: withTok, Out: out, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	get := func(key string) any {
		v, ok := f.Get(key)
		if !ok {
			t.Fatalf("key %s missing", key)
		}
		return v
	}
	if a := get("general.architecture"); a != "qwen3" {
		t.Errorf("general.architecture %v", a)
	}
	tokens := get("tokenizer.ggml.tokens").([]string)
	types := get("tokenizer.ggml.token_type").([]int32)
	merges := get("tokenizer.ggml.merges").([]string)
	if len(tokens) != cfg.VocabSize || len(types) != cfg.VocabSize {
		t.Fatalf("%d tokens, %d types, want %d", len(tokens), len(types), cfg.VocabSize)
	}
	for _, c := range []struct {
		id   int
		tok  string
		kind int32
	}{{0, "<|endoftext|>", 3}, {1, "<|pad|>", 3}, {2, "[mask]", 4}, {4, `\boxed{`, 4}, {5, "!", 1}} {
		if tokens[c.id] != c.tok || types[c.id] != c.kind {
			t.Errorf("token %d: %q type %d, want %q type %d", c.id, tokens[c.id], types[c.id], c.tok, c.kind)
		}
	}
	if len(merges) != 1787 || merges[0] != "Ġ t" || merges[1] != "h e" {
		t.Errorf("%d merges starting %q, want 1787 starting [Ġ t h e]", len(merges), merges[:min(2, len(merges))])
	}
	if eos := get("tokenizer.ggml.eos_token_id"); eos != uint32(0) {
		t.Errorf("eos %v, want 0", eos)
	}
	if _, ok := f.Get("tokenizer.ggml.bos_token_id"); ok {
		t.Error("bos_token_id written for a tokenizer without BOS")
	}
	for hf, name := range map[string]string{
		"model.embed_tokens.weight":              "token_embd.weight",
		"model.layers.1.self_attn.k_norm.weight": "blk.1.attn_k_norm.weight",
		"model.layers.0.mlp.down_proj.weight":    "blk.0.ffn_down.weight",
	} {
		got, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, w[hf]) {
			t.Errorf("%s: data differs from %s", name, hf)
		}
	}
	if _, ok := f.Tensor("output.weight"); ok {
		t.Error("output.weight written for tied embeddings")
	}

	// Without tokenizer.json: placeholder tokens, ids still line up.
	if err := ExportGGUF(ctx, GGUFOptions{Model: bare, Out: out, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	if f, err = gguf.Read(out); err != nil {
		t.Fatal(err)
	}
	tokens = get("tokenizer.ggml.tokens").([]string)
	types = get("tokenizer.ggml.token_type").([]int32)
	if len(tokens) != cfg.VocabSize || tokens[0] != "<|endoftext|>" || types[0] != 3 || tokens[7] != "<7>" || types[7] != 1 {
		t.Errorf("placeholder vocabulary: %d tokens, %q/%d, %q/%d", len(tokens), tokens[0], types[0], tokens[7], types[7])
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := ExportGGUF(cctx, GGUFOptions{Model: bare, Out: out, Logger: quiet}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled export: %v", err)
	}
	if err := ExportGGUF(ctx, GGUFOptions{Model: filepath.Join(dir, "none"), Out: out, Logger: quiet}); err == nil {
		t.Error("export of a missing folder succeeded")
	}
}

// TestGGUFTokenizerQwen3 reads Qwen3's own tokenizer.json. Expected values
// are read off the file (151,643 base tokens, 26 added, 151,387 merges) and
// the types are those of Qwen's published GGUF files: <|fim_prefix|> is not
// marked special but looks it, so it is CONTROL like convert_hf_to_gguf.py
// makes it; <think> is USER_DEFINED.
func TestGGUFTokenizerQwen3(t *testing.T) {
	info, err := GGUFTokenizer(filepath.Join("..", "tokenizer", "testdata", "qwen3-tokenizer.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Tokens) != 151669 || len(info.Merges) != 151387 || info.Merges[0] != "Ġ Ġ" {
		t.Fatalf("%d tokens, %d merges (first %q)", len(info.Tokens), len(info.Merges), info.Merges[0])
	}
	for _, c := range []struct {
		id   int
		tok  string
		kind int32
	}{{151643, "<|endoftext|>", 3}, {151645, "<|im_end|>", 3}, {151659, "<|fim_prefix|>", 3}, {151667, "<think>", 4}, {9707, "Hello", 1}} {
		if info.Tokens[c.id] != c.tok || info.Types[c.id] != c.kind {
			t.Errorf("token %d: %q type %d, want %q type %d", c.id, info.Tokens[c.id], info.Types[c.id], c.tok, c.kind)
		}
	}
	if info.EOS != 151643 || info.BOS != -1 {
		t.Errorf("eos %d bos %d, want 151643 and none", info.EOS, info.BOS)
	}
}

// TestInitModelPadToken: init-model's folder names the preset tokenizer's
// own <|pad|> as pad token in tokenizer_config.json, config.json and
// generation_config.json, with the id the tokenizer gives it.
func TestInitModelPadToken(t *testing.T) {
	out := filepath.Join(t.TempDir(), "m")
	if _, err := InitModel(InitOptions{Preset: "tiny", Out: out, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	pad, ok := tok.TokenID(PadToken)
	if !ok {
		t.Fatal("the tiny preset tokenizer has no <|pad|>")
	}
	eos, _ := tok.EOS()
	var tc struct {
		PadToken string `json:"pad_token"`
	}
	var gc, cc struct {
		Pad *int32 `json:"pad_token_id"`
		EOS *int32 `json:"eos_token_id"`
	}
	for _, f := range []struct {
		name string
		v    any
	}{{"tokenizer_config.json", &tc}, {"generation_config.json", &gc}, {"config.json", &cc}} {
		b, err := os.ReadFile(filepath.Join(out, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, f.v); err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
	}
	if tc.PadToken != PadToken {
		t.Errorf("tokenizer_config.json pad_token %q, want %q", tc.PadToken, PadToken)
	}
	for name, c := range map[string]struct{ Pad, EOS *int32 }{"config.json": {cc.Pad, cc.EOS}, "generation_config.json": {gc.Pad, gc.EOS}} {
		if c.Pad == nil || *c.Pad != pad || c.EOS == nil || *c.EOS != eos {
			t.Errorf("%s: pad %v eos %v, want %d and %d", name, c.Pad, c.EOS, pad, eos)
		}
	}
}
