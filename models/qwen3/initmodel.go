package qwen3

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"pz/models"
	"pz/models/presets"
	"pz/models/safetensors"
	"pz/models/tokenizer"
)

// InitOptions configure InitModel.
type InitOptions struct {
	Preset string // "tiny" or "small"
	Out    string
	Seed   uint64
	// Tokenizer, when set, is a tokenizer.json (or a folder holding one)
	// used instead of the preset's; the vocabulary is sized to it.
	Tokenizer string
	// Std of the normal init (default 0.02, transformers' initializer_range).
	Std float64
	// Override adjusts the config before writing (e.g. layers, hidden).
	Override func(*models.Config)
}

// EndOfText is the end-of-sequence token of the preset tokenizers.
const EndOfText = "<|endoftext|>"

// PadToken is the padding token of the preset tokenizers.
const PadToken = "<|pad|>"

// InitModel writes a randomly initialised model folder in Hugging Face
// layout: config.json, model.safetensors, tokenizer.json and
// tokenizer_config.json.
func InitModel(o InitOptions) (*models.Config, error) {
	cfg, err := models.Preset(o.Preset)
	if err != nil {
		return nil, err
	}
	var tokJSON []byte
	if o.Tokenizer != "" {
		p := o.Tokenizer
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			p = filepath.Join(p, "tokenizer.json")
		}
		if tokJSON, err = os.ReadFile(p); err != nil {
			return nil, fmt.Errorf("init model: --tokenizer: %w", err)
		}
	} else if tokJSON, err = presets.Tokenizer(o.Preset); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "pz-init")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	tokPath := filepath.Join(tmp, "tokenizer.json")
	if err := os.WriteFile(tokPath, tokJSON, 0o644); err != nil {
		return nil, err
	}
	tok, err := tokenizer.Load(tokPath)
	if err != nil {
		return nil, fmt.Errorf("init model: %w", err)
	}
	cfg.VocabSize = tok.VocabSize()
	if id, ok := tok.TokenID(EndOfText); ok {
		cfg.EOSTokenIDs = []int{int(id)}
		cfg.BOSTokenID = nil
	} else if id, ok := tok.TokenID("<|im_end|>"); ok {
		cfg.EOSTokenIDs = []int{int(id)}
	}
	if o.Override != nil {
		o.Override(cfg)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("init model: %w", err)
	}
	eos := EndOfText
	if len(cfg.EOSTokenIDs) > 0 {
		eos = tok.TokenString(int32(cfg.EOSTokenIDs[0]))
	}
	// The pad token is the tokenizer's own <|pad|> when it has one (the
	// preset tokenizers do), else end of text as transformers falls back;
	// config.json and generation_config.json carry its id.
	pad := eos
	if _, ok := tok.TokenID(PadToken); ok {
		pad = PadToken
	}
	if id, ok := tok.TokenID(pad); ok {
		if cfg.Extra == nil {
			cfg.Extra = map[string]json.RawMessage{}
		}
		cfg.Extra[models.PadTokenKey] = json.RawMessage(fmt.Sprint(id))
	}
	tc, _ := json.MarshalIndent(map[string]any{
		"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": eos, "pad_token": pad,
		"model_max_length": cfg.MaxPositionEmbeddings, "clean_up_tokenization_spaces": false,
	}, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, "tokenizer_config.json"), tc, 0o644); err != nil {
		return nil, err
	}
	std := o.Std
	if std == 0 {
		std = 0.02
	}
	w := RandomWeights(cfg, o.Seed, std)
	if err := models.SaveCheckpoint(o.Out, cfg, w, models.SaveOptions{DType: safetensors.F32, TokenizerFrom: tmp}); err != nil {
		return nil, err
	}
	return cfg, nil
}
