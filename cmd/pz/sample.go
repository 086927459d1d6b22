package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"pz/data/sample"
)

// defaultData is the commands' default --data: the shipped sample corpus.
const defaultData = "data/sample"

// samplePath returns path, except that the default data/sample, when the
// working directory has no such folder (pz run outside its checkout),
// becomes the copy of the corpus embedded in the binary, written once to
// the per-user cache ($XDG_CACHE_HOME/pz or ~/.cache/pz; a temporary
// folder when there is no home).
func samplePath(path string) (string, error) {
	if filepath.Clean(path) != defaultData {
		return path, nil
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		return path, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir, err := sample.Materialize(filepath.Join(cache, "pz"))
	if err != nil {
		return "", fmt.Errorf("--data %s: no such folder here, and the embedded copy: %w", path, err)
	}
	slog.Info("using the sample corpus embedded in pz", "dir", dir)
	return dir, nil
}
