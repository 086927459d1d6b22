package data

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/parquet-go/parquet-go"
	pqzstd "github.com/parquet-go/parquet-go/compress/zstd"

	"pz/internal/atomicfile"
)

// HeldoutFile is the held-out side's file name inside a prepared directory.
const HeldoutFile = "heldout.parquet"

// ShardFileName names train shard i of n: passages-00000-of-00004.parquet.
func ShardFileName(i, n int) string {
	return fmt.Sprintf("passages-%05d-of-%05d.parquet", i, n)
}

var shardFileRe = regexp.MustCompile(`^passages-\d{5}-of-\d{5}\.parquet$`)

// passageRow is the Parquet schema of prepared shards.
type passageRow struct {
	ID      string `parquet:"id"`
	DocID   string `parquet:"doc_id"`
	Title   string `parquet:"title,dict"`
	Text    string `parquet:"text"`
	Index   int32  `parquet:"index"`
	NChars  int32  `parquet:"n_chars"`
	NTokens int32  `parquet:"n_tokens"`
}

func toRow(p Passage) passageRow {
	return passageRow{p.ID, p.DocID, p.Title, p.Text, int32(p.Index), int32(p.NChars), int32(p.NTokens)}
}

func (r passageRow) passage() Passage {
	return Passage{ID: r.ID, DocID: r.DocID, Title: r.Title, Text: r.Text, Index: int(r.Index), NChars: int(r.NChars), NTokens: int(r.NTokens)}
}

// PrepareOptions configure Prepare.
type PrepareOptions struct {
	ProcessOptions
	Out    string // output directory, created if needed
	Shards int    // number of train shards, default 1
	// RowGroupRows bounds a Parquet row group (default 4096 passages), and
	// so the writer's memory per shard.
	RowGroupRows int
}

// Prepare runs Process and writes the kept passages as zstd Parquet shards
// (passage p goes to shard ShardOf(p.ID, Shards)), the held-out side as
// heldout.parquet (when Heldout > 0) and stats.json. Every file is written
// under a temporary name and renamed only when all succeeded, so an error
// or cancellation leaves no partial output (and leaves older output as it
// was).
func Prepare(ctx context.Context, opts PrepareOptions) (*Stats, error) {
	if opts.Out == "" {
		return nil, errors.New("prepare: no output directory")
	}
	if opts.Shards <= 0 {
		opts.Shards = 1
	}
	if opts.RowGroupRows <= 0 {
		opts.RowGroupRows = 4096
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	writers := make([]*shardWriter, opts.Shards)
	codec := newZstd()
	var held *shardWriter
	cleanup := func() {
		for _, w := range writers {
			if w != nil {
				w.abort()
			}
		}
		if held != nil {
			held.abort()
		}
	}
	for i := range writers {
		w, err := newShardWriter(opts.Out, ShardFileName(i, opts.Shards), opts.RowGroupRows, codec)
		if err != nil {
			cleanup()
			return nil, err
		}
		writers[i] = w
	}
	if opts.Heldout > 0 {
		w, err := newShardWriter(opts.Out, HeldoutFile, opts.RowGroupRows, codec)
		if err != nil {
			cleanup()
			return nil, err
		}
		held = w
	}
	st, err := Process(ctx, opts.ProcessOptions, func(p Passage, h bool) error {
		if h {
			return held.write(p)
		}
		return writers[ShardOf(p.ID, opts.Shards)].write(p)
	})
	if err != nil {
		cleanup()
		return nil, err
	}
	for _, w := range writers {
		if err := w.finish(); err != nil {
			cleanup()
			return nil, err
		}
		st.Shards = append(st.Shards, ShardFile{File: w.name, Passages: w.n})
	}
	if held != nil {
		if err := held.finish(); err != nil {
			cleanup()
			return nil, err
		}
		st.Heldout = &ShardFile{File: held.name, Passages: held.n}
	}
	stats, err := writeJSONTemp(filepath.Join(opts.Out, StatsFile), st)
	if err != nil {
		cleanup()
		return nil, err
	}
	// Commit: shards first, stats.json last (readers trust stats.json).
	for _, w := range writers {
		if err := w.commit(); err != nil {
			cleanup()
			stats.Abort()
			return nil, err
		}
	}
	if held != nil {
		if err := held.commit(); err != nil {
			stats.Abort()
			return nil, err
		}
	} else {
		os.Remove(filepath.Join(opts.Out, HeldoutFile)) // stale from an earlier run
	}
	if err := stats.Commit(); err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	removeStaleShards(opts.Out, opts.Shards)
	return st, nil
}

func removeStaleShards(dir string, n int) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	keep := map[string]bool{}
	for i := range n {
		keep[ShardFileName(i, n)] = true
	}
	for _, e := range ents {
		if shardFileRe.MatchString(e.Name()) && !keep[e.Name()] {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// writeJSONTemp writes v as indented JSON to a finished temporary file
// that the caller commits to path (or aborts).
func writeJSONTemp(path string, v any) (*atomicfile.File, error) {
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return nil, fmt.Errorf("write %w", err)
	}
	enc := json.NewEncoder(f)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		f.Abort()
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Finish(); err != nil {
		return nil, fmt.Errorf("write %w", err)
	}
	return f, nil
}

// shardWriter writes one Parquet file under a temporary name.
type shardWriter struct {
	name string
	f    *atomicfile.File
	w    *parquet.GenericWriter[passageRow]
	buf  []passageRow
	n    int64
}

// newZstd is the shards' codec: zstd at its fastest level with one
// encoder state per concurrent use, which keeps the writers' memory small
// (the default level and concurrency hold several MB of history each).
func newZstd() *pqzstd.Codec {
	return &pqzstd.Codec{Level: pqzstd.SpeedFastest, Concurrency: 1}
}

func newShardWriter(dir, name string, rowGroupRows int, codec *pqzstd.Codec) (*shardWriter, error) {
	f, err := atomicfile.Create(filepath.Join(dir, name), 0o644)
	if err != nil {
		return nil, fmt.Errorf("create %w", err)
	}
	w := parquet.NewGenericWriter[passageRow](f,
		parquet.Compression(codec),
		parquet.MaxRowsPerRowGroup(int64(rowGroupRows)),
		parquet.CreatedBy("pz", "data", time.Now().Format("2006-01-02")),
	)
	return &shardWriter{name: name, f: f, w: w, buf: make([]passageRow, 0, 256)}, nil
}

func (s *shardWriter) write(p Passage) error {
	s.buf = append(s.buf, toRow(p))
	s.n++
	if len(s.buf) == cap(s.buf) {
		return s.flush()
	}
	return nil
}

func (s *shardWriter) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	if _, err := s.w.Write(s.buf); err != nil {
		return fmt.Errorf("write %s: %w", s.name, err)
	}
	clear(s.buf)
	s.buf = s.buf[:0]
	return nil
}

// finish flushes, syncs and closes the temporary file.
func (s *shardWriter) finish() error {
	if err := s.flush(); err != nil {
		return err
	}
	if err := s.w.Close(); err != nil {
		return fmt.Errorf("write %s: %w", s.name, err)
	}
	if err := s.f.Finish(); err != nil {
		return fmt.Errorf("write %w", err)
	}
	return nil
}

func (s *shardWriter) commit() error {
	if err := s.f.Commit(); err != nil {
		return fmt.Errorf("write %w", err)
	}
	return nil
}

// abort drops the temporary file; a no-op after commit.
func (s *shardWriter) abort() { s.f.Abort() }

// ReadPassageFile reads a prepared Parquet shard, calling fn for each
// passage in file order, one row group batch at a time.
func ReadPassageFile(ctx context.Context, path string, fn func(Passage) error) (err error) {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read passages: %w", err)
	}
	defer f.Close()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: corrupt parquet: %v", path, r)
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("read passages: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true))
	if err != nil {
		return fmt.Errorf("%s: parquet: %w", path, err)
	}
	for _, col := range []string{"id", "doc_id", "title", "text", "index", "n_chars", "n_tokens"} {
		if _, ok := pf.Schema().Lookup(col); !ok {
			return fmt.Errorf("%s: no column %q: not a pz passage file: %w", path, col, ErrMissingColumn)
		}
	}
	r := parquet.NewGenericReader[passageRow](pf)
	defer r.Close()
	buf := make([]passageRow, 256)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, rerr := r.Read(buf)
		for _, row := range buf[:n] {
			if err := fn(row.passage()); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("%s: %w", path, rerr)
		}
	}
}

// WritePassageFile writes passages as one prepared Parquet file (the
// schema of Prepare's shards) at path, atomically. Generators of corpora
// that need no filtering (pz data synth) write their shards with it.
func WritePassageFile(path string, ps []Passage) error {
	w, err := newShardWriter(filepath.Dir(path), filepath.Base(path), 4096, newZstd())
	if err != nil {
		return err
	}
	for _, p := range ps {
		if err := w.write(p); err != nil {
			w.abort()
			return err
		}
	}
	if err := w.finish(); err != nil {
		w.abort()
		return err
	}
	return w.commit()
}
