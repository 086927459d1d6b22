// Package presets ships the byte-level BPE tokenizers of pz's model
// presets, trained on the shipped sample corpus by
// scripts/make-preset-tokenizers.sh (tiny: 2,048 tokens, small: 32,768),
// so a fresh clone can build a model with no download.
package presets

import (
	"bytes"
	"compress/gzip"
	"embed"
	"fmt"
	"io"
)

//go:embed tokenizers/*.json.gz
var tokenizers embed.FS

// Tokenizer returns the tokenizer.json of preset name ("tiny", "small").
func Tokenizer(name string) ([]byte, error) {
	gz, err := tokenizers.ReadFile("tokenizers/" + name + ".json.gz")
	if err != nil {
		return nil, fmt.Errorf("preset %q has no tokenizer", name)
	}
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("preset %q tokenizer: %w", name, err)
	}
	defer r.Close()
	return io.ReadAll(r)
}
