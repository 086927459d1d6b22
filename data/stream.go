package data

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Splits of a data path.
const (
	SplitTrain   = "train"
	SplitHeldout = "heldout"
)

// OpenOptions select and order the passages of a data path.
type OpenOptions struct {
	Shard ShardSpec // passages with ShardOf(id, N) == I; zero: all
	Split string    // SplitTrain (default) or SplitHeldout
	Seed  uint64    // shuffle seed; epoch e uses PCG(Seed, e)
	// NoShuffle keeps file order in every epoch.
	NoShuffle bool
	// Epochs stops Next with io.EOF-like ErrEndOfData after this many
	// epochs; 0 means unlimited.
	Epochs int
	// Process configures how raw inputs become passages (ignored for a
	// prepared directory). Its Inputs are set by Open.
	Process ProcessOptions
}

// ErrEndOfData is returned by Next after OpenOptions.Epochs epochs.
var ErrEndOfData = errors.New("end of data")

// ErrCursorMismatch is returned when a cursor does not belong to the
// stream it is applied to.
var ErrCursorMismatch = errors.New("cursor does not match the data")

// Cursor is a worker's position in its passage stream, saved with
// checkpoints as JSON. Resuming with it continues with the passage after
// the last one returned: nothing is repeated or skipped.
type Cursor struct {
	Shard       string `json:"shard"` // "i/N" or ""
	Split       string `json:"split"`
	Seed        uint64 `json:"seed"`
	Shuffle     bool   `json:"shuffle"`
	Epoch       int    `json:"epoch"`
	Pos         int    `json:"pos"`         // passages consumed in Epoch
	Passages    int    `json:"passages"`    // passages in the stream
	Fingerprint string `json:"fingerprint"` // Hash64 over the ids in load order, hex
	Consumed    int64  `json:"consumed"`    // passages consumed in all epochs
}

// Stream yields the passages of one shard of a data path, shuffled per
// epoch, and tracks a Cursor. It holds the shard's passages in memory. It
// is not safe for concurrent use.
type Stream struct {
	passages []Passage
	perm     []int
	cur      Cursor
	epochs   int
}

// Open opens a data path the way `pz rollout --data PATH` does:
//
//   - a directory written by Prepare (it has stats.json): its train shards,
//     or heldout.parquet for SplitHeldout; when opts.Shard.N equals the
//     number of prepared shards, only file I is read;
//   - a directory with files named heldout.* (such as data/sample): those
//     files are the held-out split, the others the train split;
//   - otherwise files, directories or globs (comma separated) of raw
//     JSONL/Parquet/text, run through Process (opts.Process) with its
//     held-out fraction deciding the split.
//
// Passages are then restricted to opts.Shard, in input order.
func Open(ctx context.Context, path string, opts OpenOptions) (*Stream, error) {
	if opts.Split == "" {
		opts.Split = SplitTrain
	}
	if opts.Split != SplitTrain && opts.Split != SplitHeldout {
		return nil, fmt.Errorf("split %q: want %s or %s", opts.Split, SplitTrain, SplitHeldout)
	}
	var ps []Passage
	keep := func(p Passage) error {
		if opts.Shard.Contains(p.ID) {
			ps = append(ps, p)
		}
		return nil
	}
	st, statErr := os.Stat(path)
	isDir := statErr == nil && st.IsDir()
	switch {
	case isDir && fileExists(filepath.Join(path, StatsFile)):
		stats, err := ReadStats(path)
		if err != nil {
			return nil, err
		}
		var files []string
		if opts.Split == SplitHeldout {
			if stats.Heldout == nil {
				return nil, fmt.Errorf("%s: prepared without a held-out split: %w", path, ErrNoPassages)
			}
			files = []string{stats.Heldout.File}
		} else if opts.Shard.N == len(stats.Shards) && opts.Shard.N > 1 {
			files = []string{stats.Shards[opts.Shard.I].File}
		} else {
			for _, s := range stats.Shards {
				files = append(files, s.File)
			}
		}
		for _, f := range files {
			if err := ReadPassageFile(ctx, filepath.Join(path, f), keep); err != nil {
				return nil, err
			}
		}
	default:
		inputs := strings.Split(path, ",")
		po := opts.Process
		if isDir {
			if held, train, ok := presplit(path); ok {
				inputs = train
				if opts.Split == SplitHeldout {
					inputs = held
				}
				po.Heldout = 0
			}
		}
		po.Inputs = inputs
		wantHeld := opts.Split == SplitHeldout && po.Heldout > 0
		if _, err := Process(ctx, po, func(p Passage, h bool) error {
			if h != wantHeld {
				return nil
			}
			return keep(p)
		}); err != nil {
			return nil, err
		}
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("%s (split %s, shard %q): %w", path, opts.Split, opts.Shard, ErrNoPassages)
	}
	s := &Stream{passages: ps, epochs: opts.Epochs}
	s.cur = Cursor{
		Shard:       opts.Shard.String(),
		Split:       opts.Split,
		Seed:        opts.Seed,
		Shuffle:     !opts.NoShuffle,
		Passages:    len(ps),
		Fingerprint: fingerprint(ps),
	}
	s.order()
	return s, nil
}

// NewStream makes a Stream over passages already in memory (tests, tools).
func NewStream(ps []Passage, seed uint64, shuffle bool) *Stream {
	s := &Stream{passages: ps}
	s.cur = Cursor{Seed: seed, Shuffle: shuffle, Passages: len(ps), Fingerprint: fingerprint(ps), Split: SplitTrain}
	s.order()
	return s
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// presplit finds heldout.* input files directly in dir.
func presplit(dir string) (held, train []string, ok bool) {
	files, err := ExpandInputs([]string{dir})
	if err != nil {
		return nil, nil, false
	}
	for _, f := range files {
		base, _ := stripCompression(filepath.Base(f))
		if strings.TrimSuffix(base, filepath.Ext(base)) == "heldout" {
			held = append(held, f)
		} else {
			train = append(train, f)
		}
	}
	return held, train, len(held) > 0 && len(train) > 0
}

func fingerprint(ps []Passage) string {
	h := uint64(14695981039346656037)
	for _, p := range ps {
		h ^= Hash64(p.ID)
		h *= 1099511628211
	}
	return fmt.Sprintf("%016x", h)
}

// order computes the permutation of the cursor's epoch: a Fisher-Yates
// shuffle driven by PCG(Seed, Epoch) (j = Uint64() mod (i+1) for i from
// n-1 down to 1), so it never depends on math/rand's shuffle algorithm.
func (s *Stream) order() {
	n := len(s.passages)
	if cap(s.perm) < n {
		s.perm = make([]int, n)
	}
	s.perm = s.perm[:n]
	for i := range s.perm {
		s.perm[i] = i
	}
	if !s.cur.Shuffle {
		return
	}
	pcg := rand.NewPCG(s.cur.Seed, uint64(s.cur.Epoch))
	for i := n - 1; i > 0; i-- {
		j := int(pcg.Uint64() % uint64(i+1))
		s.perm[i], s.perm[j] = s.perm[j], s.perm[i]
	}
}

// Len is the number of passages per epoch.
func (s *Stream) Len() int { return len(s.passages) }

// Passages returns the passages in load order (not shuffled); do not
// modify them.
func (s *Stream) Passages() []Passage { return s.passages }

// Next returns the next passage, moving to the next epoch (and its
// shuffle) at the end of one.
func (s *Stream) Next() (Passage, error) {
	if s.cur.Pos >= len(s.passages) {
		s.cur.Epoch++
		s.cur.Pos = 0
		s.order()
	}
	if s.epochs > 0 && s.cur.Epoch >= s.epochs {
		return Passage{}, ErrEndOfData
	}
	p := s.passages[s.perm[s.cur.Pos]]
	s.cur.Pos++
	s.cur.Consumed++
	return p, nil
}

// Cursor returns the current position; Resume(c) on a stream opened the
// same way continues right after the last passage returned.
func (s *Stream) Cursor() Cursor { return s.cur }

// Resume moves the stream to c. It fails with ErrCursorMismatch when c was
// taken on different data, shard, split, seed or shuffle setting.
func (s *Stream) Resume(c Cursor) error {
	want := s.cur
	switch {
	case c.Shard != want.Shard, c.Split != want.Split:
		return fmt.Errorf("%w: shard %q split %q, stream has shard %q split %q", ErrCursorMismatch, c.Shard, c.Split, want.Shard, want.Split)
	case c.Passages != want.Passages || c.Fingerprint != want.Fingerprint:
		return fmt.Errorf("%w: cursor has %d passages (fingerprint %s), stream has %d (%s)", ErrCursorMismatch, c.Passages, c.Fingerprint, want.Passages, want.Fingerprint)
	case c.Seed != want.Seed || c.Shuffle != want.Shuffle:
		return fmt.Errorf("%w: cursor seed %d shuffle %v, stream seed %d shuffle %v", ErrCursorMismatch, c.Seed, c.Shuffle, want.Seed, want.Shuffle)
	case c.Pos < 0 || c.Pos > c.Passages || c.Epoch < 0:
		return fmt.Errorf("%w: position %d/%d epoch %d out of range", ErrCursorMismatch, c.Pos, c.Passages, c.Epoch)
	}
	s.cur = c
	s.order()
	return nil
}

// SaveCursor writes c as JSON to path atomically.
func SaveCursor(path string, c Cursor) error {
	f, err := writeJSONTemp(path, c)
	if err != nil {
		return err
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("save cursor: %w", err)
	}
	return nil
}

// LoadCursor reads a cursor written by SaveCursor.
func LoadCursor(path string) (Cursor, error) {
	var c Cursor
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("load cursor: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("load cursor %s: %w", path, err)
	}
	return c, nil
}
