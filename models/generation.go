package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// GenerationConfigFile is the Hugging Face file that tells generate()
// which ids end, pad and begin a sequence.
const GenerationConfigFile = "generation_config.json"

// PadTokenKey is config.json's pad token id; pz keeps it in Config.Extra.
const PadTokenKey = "pad_token_id"

// writeGenerationConfig writes dir/generation_config.json from the
// config's bos/eos/pad ids unless the folder already has one (copied with
// the tokenizer): what transformers' GenerationConfig.from_model_config
// writes (sorted keys, two-space indent, unset ids left out), so that
// generate() on a pz checkpoint stops at the tokenizer's end of text
// instead of warning and padding with it.
func writeGenerationConfig(dir string, cfg *Config) error {
	p := filepath.Join(dir, GenerationConfigFile)
	if _, err := os.Stat(p); err == nil || !errors.Is(err, os.ErrNotExist) {
		return err
	}
	m := map[string]any{"_from_model_config": true}
	if cfg.BOSTokenID != nil {
		m["bos_token_id"] = *cfg.BOSTokenID
	}
	switch len(cfg.EOSTokenIDs) {
	case 0:
	case 1:
		m["eos_token_id"] = cfg.EOSTokenIDs[0]
	default:
		m["eos_token_id"] = cfg.EOSTokenIDs
	}
	if raw, ok := cfg.Extra[PadTokenKey]; ok && string(raw) != "null" {
		var pad int
		if err := json.Unmarshal(raw, &pad); err != nil {
			return fmt.Errorf("config field %s: want an int, got %s", PadTokenKey, raw)
		}
		m[PadTokenKey] = pad
	}
	m["transformers_version"] = TransformersVersion
	if cfg.TransformersVersion != "" {
		m["transformers_version"] = cfg.TransformersVersion
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", GenerationConfigFile, err)
	}
	return os.WriteFile(p, append(b, '\n'), 0o644)
}

// TokenizerFiles are the files SaveCheckpoint copies from
// SaveOptions.TokenizerFrom when they exist.
func TokenizerFiles() []string { return slices.Clone(tokenizerFiles) }
