package traj

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/parquet-go/parquet-go"
)

// ErrMissingColumn is wrapped by errors about a required column a file lacks.
var ErrMissingColumn = errors.New("missing column")

// ErrSchemaVersion is wrapped when a file is newer than this reader.
var ErrSchemaVersion = errors.New("unsupported trajectory schema version")

// Reader streams the rows of one trajectory file.
type Reader struct {
	path string
	f    *os.File
	pf   *parquet.File
	r    *parquet.GenericReader[Row]
}

// Open opens a pz trajectory file and checks its schema version and columns.
func Open(path string) (rd *Reader, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read trajectories: %w", err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: corrupt parquet: %v", path, r)
		}
		if err != nil {
			f.Close()
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read trajectories: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true))
	if err != nil {
		return nil, fmt.Errorf("%s: parquet: %w", path, err)
	}
	if v, ok := pf.Lookup(MetaSchemaVersion); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n > SchemaVersion {
			return nil, fmt.Errorf("%s: schema version %q (this pz reads up to %d): %w", path, v, SchemaVersion, ErrSchemaVersion)
		}
	} else {
		return nil, fmt.Errorf("%s: no %s metadata: not a pz trajectory file: %w", path, MetaSchemaVersion, ErrMissingColumn)
	}
	for _, col := range []string{"role", "group_id", "prompt_ids", "completion_ids", "advantage", "completion_text"} {
		if !hasColumn(pf.Schema(), col) {
			return nil, fmt.Errorf("%s: no column %q: %w", path, col, ErrMissingColumn)
		}
	}
	return &Reader{path: path, f: f, pf: pf, r: parquet.NewGenericReader[Row](pf)}, nil
}

// Path is the file's path.
func (r *Reader) Path() string { return r.path }

// NumRows is the number of rows in the file.
func (r *Reader) NumRows() int64 { return r.pf.NumRows() }

// Meta returns a key-value metadata entry.
func (r *Reader) Meta(key string) (string, bool) { return r.pf.Lookup(key) }

// Read fills buf with the next rows; it returns io.EOF after the last.
func (r *Reader) Read(buf []Row) (n int, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s: corrupt parquet: %v", r.path, p)
		}
	}()
	clear(buf)
	n, err = r.r.Read(buf)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%s: %w", r.path, err)
	}
	return n, err
}

// Close releases the file.
func (r *Reader) Close() error {
	r.r.Close()
	return r.f.Close()
}

// ReadFile reads every row of a trajectory file.
func ReadFile(path string) ([]Row, error) {
	r, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	rows := make([]Row, 0, r.NumRows())
	buf := make([]Row, 256)
	for {
		n, err := r.Read(buf)
		rows = append(rows, buf[:n]...)
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// hasColumn reports whether the schema has a top-level field named name
// (a leaf column or a LIST group).
func hasColumn(s *parquet.Schema, name string) bool {
	for _, f := range s.Fields() {
		if f.Name() == name {
			return true
		}
	}
	return false
}
