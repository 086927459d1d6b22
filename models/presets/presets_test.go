package presets

import (
	"bytes"
	"testing"

	"pz/models/tokenizer"
)

func TestPresetTokenizersLoad(t *testing.T) {
	for name, vocab := range map[string]int{"tiny": 2048, "small": 32768} {
		b, err := Tokenizer(name)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := tokenizer.Parse(bytes.NewReader(b), name)
		if err != nil {
			t.Fatal(err)
		}
		if tok.VocabSize() != vocab {
			t.Errorf("%s: vocab %d, want %d", name, tok.VocabSize(), vocab)
		}
		for _, s := range []string{"[mask]", `\mask{`, `\boxed{`, "<|endoftext|>"} {
			if ids := tok.EncodeSpecial(s); len(ids) != 1 {
				t.Errorf("%s: %q encodes to %v, want one token", name, s, ids)
			}
		}
	}
	if _, err := Tokenizer("huge"); err == nil {
		t.Error("no error for an unknown preset")
	}
}
