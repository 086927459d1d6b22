package sample

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// TestMaterialize: the copy is byte for byte the shipped corpus (the
// SHA-256 sums its README states), and a second call reuses it.
func TestMaterialize(t *testing.T) {
	cache := t.TempDir()
	dir, err := Materialize(cache)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{ // from README.md
		"train.jsonl":   "c99057c3f63836785a1e0827e8226489d129f8001c35b137df77c6555c9ff4f0",
		"heldout.jsonl": "07ae9753d8c0396edee2e8fb8dc40bdf2653d0372571361d8bb7569fbd12ab65",
	}
	for n, sum := range want {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		if h := sha256.Sum256(b); hex.EncodeToString(h[:]) != sum {
			t.Errorf("%s: sha256 %x, want %s", n, h, sum)
		}
	}
	st, _ := os.Stat(filepath.Join(dir, "train.jsonl"))
	again, err := Materialize(cache)
	if err != nil || again != dir {
		t.Fatalf("second call: %q, %v; want %q", again, err, dir)
	}
	if st2, _ := os.Stat(filepath.Join(dir, "train.jsonl")); !st2.ModTime().Equal(st.ModTime()) {
		t.Error("the second call rewrote the files")
	}
}
