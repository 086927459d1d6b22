package traj

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"

	"pz/internal/atomicfile"
	"pz/orchestrator/reward"
	"pz/orchestrator/task"
)

// DefaultRowGroupRows bounds a row group.
const DefaultRowGroupRows = 4096

// Writer writes one trajectory file under a temporary name in the target
// directory; Close renames it into place, Abort removes it.
type Writer struct {
	path string
	f    *atomicfile.File
	w    *parquet.GenericWriter[Row]
	n    int64
	done bool
}

// ErrClosed is returned by a Writer used after Close or Abort.
var ErrClosed = errors.New("trajectory writer closed")

// Create starts a trajectory file that will appear at path on Close. meta is
// stored in the Parquet key-value metadata along with the schema version.
func Create(path string, meta map[string]string) (*Writer, error) {
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create trajectories %w", err)
	}
	opts := []parquet.WriterOption{
		parquet.Compression(&parquet.Zstd),
		parquet.MaxRowsPerRowGroup(DefaultRowGroupRows),
		parquet.CreatedBy("pz", "traj", time.Now().Format("2006-01-02")),
		parquet.KeyValueMetadata(MetaSchemaVersion, strconv.Itoa(SchemaVersion)),
	}
	for k, v := range meta {
		if k != MetaSchemaVersion {
			opts = append(opts, parquet.KeyValueMetadata(k, v))
		}
	}
	return &Writer{path: path, f: f, w: parquet.NewGenericWriter[Row](f, opts...)}, nil
}

// Write appends rows. Each row's SchemaVersion is set to SchemaVersion.
func (w *Writer) Write(rows ...Row) error {
	if w.done {
		return ErrClosed
	}
	for i := range rows {
		rows[i].SchemaVersion = SchemaVersion
	}
	if _, err := w.w.Write(rows); err != nil {
		return fmt.Errorf("write trajectories %s: %w", w.path, err)
	}
	w.n += int64(len(rows))
	return nil
}

// Rows is the number of rows written so far.
func (w *Writer) Rows() int64 { return w.n }

// Close flushes, syncs and renames the file into place. On error the
// temporary file is removed.
func (w *Writer) Close() error {
	if w.done {
		return ErrClosed
	}
	w.done = true
	if err := w.w.Close(); err != nil {
		w.f.Abort()
		return fmt.Errorf("write trajectories %s: %w", w.path, err)
	}
	if err := w.f.Commit(); err != nil {
		return fmt.Errorf("write trajectories %w", err)
	}
	return nil
}

// Abort drops the file. It is a no-op after Close.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.f.Abort()
}

// WriteFile writes rows to path atomically.
func WriteFile(path string, meta map[string]string, rows []Row) error {
	w, err := Create(path, meta)
	if err != nil {
		return err
	}
	if err := w.Write(rows...); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

// WriteJSONAtomic writes v as indented JSON to path through a temporary file
// and a rename (for cursors and stats saved beside the trajectories).
func WriteJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %w", err)
	}
	return nil
}

// RunMeta is the metadata a rollout stores in each trajectory file so that
// Audit recomputes rows with the run's own settings. (A custom stop-word
// list is not recorded; the committed English list is assumed.)
func RunMeta(runID string, cfg reward.Config, mo task.MaskOptions, tp task.Templates, allOccurrences bool) map[string]string {
	cj, _ := json.Marshal(cfg)
	mj, _ := json.Marshal(mo)
	tj, _ := json.Marshal(tp)
	return map[string]string{
		MetaRunID:         runID,
		MetaRewardConfig:  string(cj),
		MetaMaskOptions:   string(mj),
		MetaTemplates:     string(tj),
		MetaAllOccurrence: strconv.FormatBool(allOccurrences),
	}
}
