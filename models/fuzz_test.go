package models

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseConfig: config.json parsing never panics, and a config it
// accepts survives a write and a second parse (round trip). Seeded with the
// real Hugging Face configs in testdata/config.
func FuzzParseConfig(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/config/*.json")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	if len(seeds) == 0 {
		f.Fatal("no seed configs")
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			return
		}
		out, err := c.MarshalJSON()
		if err != nil {
			t.Fatalf("accepted config does not marshal: %v", err)
		}
		if _, err := ParseConfig(out); err != nil {
			t.Fatalf("accepted config does not parse back: %v\n%s", err, out)
		}
	})
}
