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
	"strings"
)

//go:embed tokenizers/*.json.gz
var tokenizers embed.FS

// Tokenizer returns the tokenizer.json of preset name ("tiny", "small");
// the tiny presets of other families ("tiny-moe", "tiny-smollm3") share
// tiny's.
func Tokenizer(name string) ([]byte, error) {
	if strings.HasPrefix(name, "tiny-") {
		name = "tiny"
	}
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
