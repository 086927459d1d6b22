package qwen3

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"pz/models"
	"pz/models/gguf"
	"pz/models/tokenizer"
)

// GGUFOptions configures ExportGGUF.
type GGUFOptions struct {
	// Model is a Hugging Face model folder (config.json, safetensors and,
	// optionally, tokenizer.json).
	Model string
	// Out is the .gguf file to write.
	Out string
	// Logger receives progress; nil means slog.Default().
	Logger *slog.Logger
}

// ExportGGUF writes the checkpoint in o.Model as an F32 GGUF file that
// llama.cpp (and so ollama) loads as architecture "qwen3". The folder's
// tokenizer.json supplies the vocabulary; without one, placeholder tokens
// are written (ids still line up, text does not).
func ExportGGUF(ctx context.Context, o GGUFOptions) error {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	ck, err := models.LoadCheckpoint(o.Model)
	if err != nil {
		return fmt.Errorf("export gguf: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("export gguf: %w", err)
	}
	tokPath := filepath.Join(o.Model, "tokenizer.json")
	var tok gguf.TokenizerInfo
	switch _, err := os.Stat(tokPath); {
	case err == nil:
		if tok, err = GGUFTokenizer(tokPath); err != nil {
			return fmt.Errorf("export gguf: %w", err)
		}
	case errors.Is(err, os.ErrNotExist):
		log.Warn("model folder has no tokenizer.json: writing placeholder tokens", "model", o.Model)
		tok = PlaceholderTokenizer(ck.Config.VocabSize)
	default:
		return fmt.Errorf("export gguf: %w", err)
	}
	if err := gguf.Write(o.Out, ck.Config, ck.Weights, tok); err != nil {
		return fmt.Errorf("export gguf: %w", err)
	}
	log.Info("wrote gguf", "path", o.Out, "model", o.Model, "vocab", ck.Config.VocabSize, "tokens", len(tok.Tokens))
	return nil
}

// llama.cpp token types (llama_token_type).
const (
	tokenNormal      = 1
	tokenControl     = 3
	tokenUserDefined = 4
	tokenUnused      = 5
)

// GGUFTokenizer reads a byte-level BPE tokenizer.json (or .json.gz) into
// the GGUF vocabulary: tokens by id, merges by rank, and token types as
// convert_hf_to_gguf.py assigns them (added tokens marked special, or that
// look special like "<|fim_prefix|>", are CONTROL; other added tokens
// USER_DEFINED; the rest NORMAL). Ids with no token (holes) become
// "[PAD<id>]" of type UNUSED.
func GGUFTokenizer(path string) (gguf.TokenizerInfo, error) {
	t, err := tokenizer.Load(path)
	if err != nil {
		return gguf.TokenizerInfo{}, err
	}
	var raw struct {
		Model struct {
			Merges []json.RawMessage `json:"merges"`
		} `json:"model"`
	}
	if err := json.Unmarshal(t.Marshal(), &raw); err != nil {
		return gguf.TokenizerInfo{}, fmt.Errorf("tokenizer %s: merges: %w", path, err)
	}
	info := gguf.TokenizerInfo{BOS: -1}
	for i, m := range raw.Model.Merges {
		var s string
		if json.Unmarshal(m, &s) == nil {
			info.Merges = append(info.Merges, s)
			continue
		}
		var pair [2]string
		if err := json.Unmarshal(m, &pair); err != nil {
			return gguf.TokenizerInfo{}, fmt.Errorf("tokenizer %s: merge %d: %w", path, i, err)
		}
		info.Merges = append(info.Merges, pair[0]+" "+pair[1])
	}
	added := map[int32]bool{}
	for _, a := range t.AddedTokens() {
		added[a.ID] = true
	}
	n := t.VocabSize()
	info.Tokens = make([]string, n)
	info.Types = make([]int32, n)
	for id := range int32(n) {
		s := t.TokenString(id)
		switch {
		case s == "":
			info.Tokens[id], info.Types[id] = fmt.Sprintf("[PAD%d]", id), tokenUnused
		case t.IsSpecial(id) || added[id] && looksSpecial(s):
			info.Tokens[id], info.Types[id] = s, tokenControl
		case added[id]:
			info.Tokens[id], info.Types[id] = s, tokenUserDefined
		default:
			info.Tokens[id], info.Types[id] = s, tokenNormal
		}
	}
	eos, ok := t.EOS()
	if !ok {
		return gguf.TokenizerInfo{}, fmt.Errorf("tokenizer %s: no eos token (tokenizer_config.json eos_token or <|endoftext|>)", path)
	}
	info.EOS = eos
	if bos, ok := t.BOS(); ok {
		info.BOS = bos
	}
	return info, nil
}

// looksSpecial is convert_hf_to_gguf.py's does_token_look_special: added
// tokens that some models forget to mark special.
func looksSpecial(s string) bool {
	switch {
	case s == "<pad>" || s == "<mask>" || s == "<2mass>" || s == "[@BOS@]":
		return true
	case strings.HasPrefix(s, "<|") && strings.HasSuffix(s, "|>"),
		strings.HasPrefix(s, "<｜") && strings.HasSuffix(s, "｜>"),
		strings.HasPrefix(s, "<unused") && strings.HasSuffix(s, ">"):
		return true
	}
	return false
}

// PlaceholderTokenizer is a vocabulary of n tokens "<id>" (id 0 the
// end-of-text control token) for checkpoints that ship no tokenizer.
func PlaceholderTokenizer(n int) gguf.TokenizerInfo {
	info := gguf.TokenizerInfo{Tokens: make([]string, n), Types: make([]int32, n), BOS: -1}
	for i := range n {
		info.Tokens[i], info.Types[i] = fmt.Sprintf("<%d>", i), tokenNormal
	}
	info.Tokens[0], info.Types[0] = "<|endoftext|>", tokenControl
	return info
}
