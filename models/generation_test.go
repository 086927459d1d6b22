package models

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestGenerationConfig: a saved checkpoint has generation_config.json with
// the config's ids, in the form transformers' from_model_config writes it
// (hand-written expectation: sorted keys, unset bos left out), and one
// copied with the tokenizer is kept as it is.
func TestGenerationConfig(t *testing.T) {
	c := Tiny()
	c.VocabSize = 50
	c.EOSTokenIDs = []int{0}
	c.BOSTokenID = nil
	c.Extra = map[string]json.RawMessage{PadTokenKey: json.RawMessage("1")}
	w := tinyWeights(&c)
	dir := filepath.Join(t.TempDir(), "ck")
	if err := SaveCheckpoint(dir, &c, w, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, GenerationConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"_from_model_config\": true,\n  \"eos_token_id\": 0,\n  \"pad_token_id\": 1,\n  \"transformers_version\": \"" + TransformersVersion + "\"\n}\n"
	if string(b) != want {
		t.Errorf("generation_config.json =\n%s\nwant\n%s", b, want)
	}
	back, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if string(back.Extra[PadTokenKey]) != "1" {
		t.Errorf("config.json pad_token_id = %s, want 1", back.Extra[PadTokenKey])
	}

	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "tokenizer.json"), []byte(`{}`), 0o644)
	own := `{"eos_token_id": [0, 2], "temperature": 0.7}`
	os.WriteFile(filepath.Join(src, GenerationConfigFile), []byte(own), 0o644)
	dir2 := filepath.Join(t.TempDir(), "ck")
	if err := SaveCheckpoint(dir2, &c, w, SaveOptions{TokenizerFrom: src}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir2, GenerationConfigFile)); string(b) != own {
		t.Errorf("a copied generation_config.json was rewritten: %s", b)
	}
}
