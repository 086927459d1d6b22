package orchestrator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"pz/internal/atomicfile"
)

// trimMetrics drops from a metrics.jsonl the lines of steps at or after
// from, and a last line cut short by a killed process, so that a run
// resumed at step from appends its steps to an orderly file instead of
// repeating the steps it redoes (they were written after the checkpoint it
// resumes from). The file is rewritten (temp + rename) only when something
// is dropped; a missing file is fine. A line that does not parse other than
// the last is an error naming it: it is not pz's to delete.
func trimMetrics(path string, from int64) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	var keep bytes.Buffer
	dropped := false
	lines := bytes.SplitAfter(b, []byte("\n"))
	for i, line := range lines {
		t := bytes.TrimSpace(line)
		if len(t) == 0 {
			continue
		}
		var m struct {
			Step *int64 `json:"step"`
		}
		if err := json.Unmarshal(t, &m); err != nil || m.Step == nil {
			if i == len(lines)-1 && !bytes.HasSuffix(line, []byte("\n")) {
				dropped = true // the unfinished write of a killed run
				continue
			}
			return fmt.Errorf("metrics %s:%d: not a step record (%v)", path, i+1, err)
		}
		if *m.Step >= from {
			dropped = true
			continue
		}
		keep.Write(t)
		keep.WriteByte('\n')
	}
	if !dropped {
		return nil
	}
	if err := atomicfile.WriteFile(path, keep.Bytes(), 0o644); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

// removeStaleTemps deletes the temporary files (".<name>.tmp*", the
// pattern of internal/atomicfile) that a killed process left in the run
// folder's own directories: they are never complete and nothing reads
// them. The folder belongs to this run, so no live writer can own them.
func removeStaleTemps(dirs ...string) error {
	for _, d := range dirs {
		m, err := filepath.Glob(filepath.Join(d, ".*.tmp*"))
		if err != nil {
			return err
		}
		for _, p := range m {
			if err := os.RemoveAll(p); err != nil {
				return fmt.Errorf("remove a killed run's temporary file: %w", err)
			}
		}
	}
	return nil
}
