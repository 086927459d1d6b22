// Package sample embeds the shipped sample corpus (train.jsonl,
// heldout.jsonl and the README with its licence, CC BY-SA 3.0) in the pz
// binary, so that the commands' default --data data/sample works wherever
// pz is installed, not only in a checkout.
package sample

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"pz/internal/atomicfile"
)

//go:embed train.jsonl heldout.jsonl README.md
var files embed.FS

// Names returns the embedded files' names.
func Names() []string { return []string{"train.jsonl", "heldout.jsonl", "README.md"} }

// FS returns the embedded files.
func FS() fs.FS { return files }

// Materialize writes the embedded corpus into a folder under cacheDir
// named for its content hash (reused when already complete; each file
// written temp + rename, so an interrupted copy is redone, never read
// half) and returns the folder, which data.Open reads like data/sample.
func Materialize(cacheDir string) (string, error) {
	h := sha256.New()
	for _, n := range Names() {
		b, err := files.ReadFile(n)
		if err != nil {
			return "", fmt.Errorf("embedded sample %s: %w", n, err)
		}
		h.Write([]byte(n))
		h.Write(b)
	}
	dir := filepath.Join(cacheDir, "sample-"+hex.EncodeToString(h.Sum(nil))[:12])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("embedded sample: %w", err)
	}
	for _, n := range Names() {
		p := filepath.Join(dir, n)
		b, _ := files.ReadFile(n)
		if st, err := os.Stat(p); err == nil && st.Size() == int64(len(b)) {
			continue
		} else if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("embedded sample: %w", err)
		}
		if err := atomicfile.WriteFile(p, b, 0o644); err != nil {
			return "", fmt.Errorf("embedded sample: %w", err)
		}
	}
	return dir, nil
}
