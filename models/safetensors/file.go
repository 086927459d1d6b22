// Package safetensors reads and writes Hugging Face safetensors files:
// single files and sharded checkpoints with model.safetensors.index.json.
//
// Format (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON mapping each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the
// byte after the header) plus an optional "__metadata__" string map, then the
// tensor data, contiguous and without gaps.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"unsafe"
)

// File names used in Hugging Face model folders.
const (
	SingleFile = "model.safetensors"
	IndexFile  = "model.safetensors.index.json"
)

// MaxHeaderSize bounds the JSON header (the reference implementation's
// limit is 100 MB as well).
const MaxHeaderSize = 100 << 20

// ErrCorrupt marks a file whose header or layout is invalid.
var ErrCorrupt = errors.New("corrupt safetensors file")

type entry struct {
	dtype DType
	shape []int64
	data  []byte // view into the mapped shard
	file  string
}

type shard struct {
	path string
	data []byte
}

// File is an open safetensors checkpoint (one file or a sharded set).
// Tensor data stays memory-mapped until Close.
type File struct {
	path     string
	shards   []*shard
	tensors  map[string]*entry
	names    []string
	metadata map[string]string
}

// Open opens a .safetensors file, a model.safetensors.index.json, or a model
// folder holding either (model.safetensors is preferred).
func Open(path string) (*File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open safetensors: %w", err)
	}
	if st.IsDir() {
		single := filepath.Join(path, SingleFile)
		if _, err := os.Stat(single); err == nil {
			path = single
		} else if _, err := os.Stat(filepath.Join(path, IndexFile)); err == nil {
			path = filepath.Join(path, IndexFile)
		} else {
			return nil, fmt.Errorf("open safetensors: %s holds neither %s nor %s", path, SingleFile, IndexFile)
		}
	}
	f := &File{path: path, tensors: map[string]*entry{}}
	if filepath.Ext(path) == ".json" {
		err = f.openIndex(path)
	} else {
		err = f.openShard(path, nil)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	f.names = make([]string, 0, len(f.tensors))
	for n := range f.tensors {
		f.names = append(f.names, n)
	}
	sort.Strings(f.names)
	return f, nil
}

type index struct {
	Metadata  map[string]any    `json:"metadata"`
	WeightMap map[string]string `json:"weight_map"`
}

func (f *File) openIndex(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("open safetensors index: %w", err)
	}
	var idx index
	if err := json.Unmarshal(b, &idx); err != nil {
		return fmt.Errorf("safetensors index %s: invalid JSON: %w", path, err)
	}
	if len(idx.WeightMap) == 0 {
		return fmt.Errorf("safetensors index %s: field weight_map: missing or empty", path)
	}
	byShard := map[string]map[string]bool{}
	for name, file := range idx.WeightMap {
		if file == "" || filepath.Base(file) != file {
			return fmt.Errorf("safetensors index %s: weight_map[%q]: shard name %q must be a plain file name", path, name, file)
		}
		if byShard[file] == nil {
			byShard[file] = map[string]bool{}
		}
		byShard[file][name] = true
	}
	files := make([]string, 0, len(byShard))
	for s := range byShard {
		files = append(files, s)
	}
	sort.Strings(files)
	dir := filepath.Dir(path)
	for _, s := range files {
		if err := f.openShard(filepath.Join(dir, s), byShard[s]); err != nil {
			return err
		}
	}
	var errs []error
	for name, file := range idx.WeightMap {
		if e, ok := f.tensors[name]; !ok || filepath.Base(e.file) != file {
			errs = append(errs, fmt.Errorf("safetensors index %s: weight_map names %s in %s, which does not hold it", path, name, file))
		}
	}
	return errors.Join(errs...)
}

// openShard maps one file and adds its tensors. want, when not nil, is the
// set of names the index assigns to this shard.
func (f *File) openShard(path string, want map[string]bool) error {
	fd, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open safetensors: %w", err)
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return fmt.Errorf("open safetensors: %w", err)
	}
	data, err := mapFile(fd, st.Size())
	if err != nil {
		return fmt.Errorf("map safetensors %s: %w", path, err)
	}
	sh := &shard{path: path, data: data}
	f.shards = append(f.shards, sh)
	entries, meta, err := parseHeader(data)
	if err != nil {
		return fmt.Errorf("safetensors %s: %w", path, err)
	}
	if f.metadata == nil {
		f.metadata = meta
	}
	for name, e := range entries {
		if want != nil && !want[name] {
			return fmt.Errorf("safetensors %s: tensor %s is not in the index weight_map for this shard", path, name)
		}
		if prev, dup := f.tensors[name]; dup {
			return fmt.Errorf("safetensors %s: tensor %s: duplicate, also in %s", path, name, prev.file)
		}
		e.file = path
		f.tensors[name] = e
	}
	return nil
}

type headerEntry struct {
	DType       DType    `json:"dtype"`
	Shape       []int64  `json:"shape"`
	DataOffsets []uint64 `json:"data_offsets"`
}

// parseHeader validates the header and layout of a whole file in memory.
func parseHeader(data []byte) (map[string]*entry, map[string]string, error) {
	size := uint64(len(data))
	if size < 8 {
		return nil, nil, fmt.Errorf("%w: truncated: %d bytes, need at least the 8-byte header length", ErrCorrupt, size)
	}
	n := binary.LittleEndian.Uint64(data)
	if n > MaxHeaderSize {
		return nil, nil, fmt.Errorf("%w: header length %d exceeds the %d-byte limit", ErrCorrupt, n, MaxHeaderSize)
	}
	if n > size-8 {
		return nil, nil, fmt.Errorf("%w: header length %d beyond file size %d (truncated?)", ErrCorrupt, n, size)
	}
	body := data[8+n:]
	dec := json.NewDecoder(bytes.NewReader(data[8 : 8+n]))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, nil, fmt.Errorf("%w: header: invalid JSON: want an object (%v)", ErrCorrupt, err)
	}
	entries := map[string]*entry{}
	type span struct {
		name       string
		begin, end uint64
	}
	var spans []span
	var meta map[string]string
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("%w: header: invalid JSON: %v", ErrCorrupt, err)
		}
		name := tok.(string)
		if seen[name] {
			return nil, nil, fmt.Errorf("%w: header: tensor %q: duplicate name", ErrCorrupt, name)
		}
		seen[name] = true
		if name == "__metadata__" {
			if err := dec.Decode(&meta); err != nil {
				return nil, nil, fmt.Errorf("%w: header: field __metadata__: want a map of strings: %v", ErrCorrupt, err)
			}
			continue
		}
		var h headerEntry
		if err := dec.Decode(&h); err != nil {
			return nil, nil, fmt.Errorf("%w: header: tensor %q: invalid JSON: %v", ErrCorrupt, name, err)
		}
		es := h.DType.Size()
		if es == 0 {
			return nil, nil, fmt.Errorf("%w: header: tensor %q: field dtype: unknown dtype %q", ErrCorrupt, name, h.DType)
		}
		if h.Shape == nil {
			return nil, nil, fmt.Errorf("%w: header: tensor %q: field shape: missing", ErrCorrupt, name)
		}
		elems := uint64(1)
		for _, d := range h.Shape {
			if d < 0 {
				return nil, nil, fmt.Errorf("%w: header: tensor %q: field shape: negative dimension in %v", ErrCorrupt, name, h.Shape)
			}
			hi, lo := mulU64(elems, uint64(d))
			if hi != 0 {
				return nil, nil, fmt.Errorf("%w: header: tensor %q: field shape: %v overflows", ErrCorrupt, name, h.Shape)
			}
			elems = lo
		}
		if len(h.DataOffsets) != 2 {
			return nil, nil, fmt.Errorf("%w: header: tensor %q: field data_offsets: want [begin, end], got %v", ErrCorrupt, name, h.DataOffsets)
		}
		b, e := h.DataOffsets[0], h.DataOffsets[1]
		if b > e {
			return nil, nil, fmt.Errorf("%w: header: tensor %q: field data_offsets: begin %d after end %d", ErrCorrupt, name, b, e)
		}
		if e > uint64(len(body)) {
			return nil, nil, fmt.Errorf("%w: header: tensor %q: field data_offsets: [%d, %d] out of range of the %d data bytes (truncated?)", ErrCorrupt, name, b, e, len(body))
		}
		hi, bytesNeeded := mulU64(elems, uint64(es))
		if hi != 0 || bytesNeeded != e-b {
			return nil, nil, fmt.Errorf("%w: header: tensor %q: field data_offsets: span %d bytes, but shape %v of %s needs %d", ErrCorrupt, name, e-b, h.Shape, h.DType, elems*uint64(es))
		}
		entries[name] = &entry{dtype: h.DType, shape: h.Shape, data: body[b:e:e]}
		spans = append(spans, span{name, b, e})
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, fmt.Errorf("%w: header: invalid JSON: %v", ErrCorrupt, err)
	}
	if rest, _ := io.ReadAll(dec.Buffered()); len(bytes.TrimSpace(rest)) > 0 {
		return nil, nil, fmt.Errorf("%w: header: invalid JSON: trailing data after the object", ErrCorrupt)
	}
	slices.SortFunc(spans, func(a, b span) int {
		if a.begin != b.begin {
			return compare(a.begin, b.begin)
		}
		return compare(a.end, b.end)
	})
	var pos uint64
	prev := "start of data"
	for _, s := range spans {
		switch {
		case s.begin < pos:
			return nil, nil, fmt.Errorf("%w: header: tensor %q: field data_offsets: [%d, %d] overlaps %s (ends at %d)", ErrCorrupt, s.name, s.begin, s.end, prev, pos)
		case s.begin > pos:
			return nil, nil, fmt.Errorf("%w: header: tensor %q: field data_offsets: [%d, %d] leaves a gap after %s (ends at %d)", ErrCorrupt, s.name, s.begin, s.end, prev, pos)
		}
		if s.end > s.begin {
			pos, prev = s.end, fmt.Sprintf("tensor %q", s.name)
		}
	}
	if pos != uint64(len(body)) {
		return nil, nil, fmt.Errorf("%w: data: %d bytes after the last tensor (%s ends at %d of %d)", ErrCorrupt, uint64(len(body))-pos, prev, pos, len(body))
	}
	return entries, meta, nil
}

func compare(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func mulU64(a, b uint64) (hi, lo uint64) {
	if a == 0 || b == 0 {
		return 0, 0
	}
	lo = a * b
	if lo/b != a {
		return 1, lo
	}
	return 0, lo
}

// Path is the file or index this File was opened from.
func (f *File) Path() string { return f.path }

// Names lists the tensor names, sorted.
func (f *File) Names() []string { return slices.Clone(f.names) }

// Metadata is the "__metadata__" map of the (first) file, or nil.
func (f *File) Metadata() map[string]string { return f.metadata }

// Has reports whether the checkpoint holds name.
func (f *File) Has(name string) bool { _, ok := f.tensors[name]; return ok }

func (f *File) get(name string) (*entry, error) {
	e, ok := f.tensors[name]
	if !ok {
		return nil, fmt.Errorf("safetensors %s: tensor %s: not found", f.path, name)
	}
	return e, nil
}

// Info returns the dtype and shape of name.
func (f *File) Info(name string) (DType, []int64, error) {
	e, err := f.get(name)
	if err != nil {
		return "", nil, err
	}
	return e.dtype, slices.Clone(e.shape), nil
}

// Raw returns a zero-copy view of name's little-endian bytes, valid until
// Close; callers must not modify it.
func (f *File) Raw(name string) ([]byte, DType, []int64, error) {
	e, err := f.get(name)
	if err != nil {
		return nil, "", nil, err
	}
	return e.data, e.dtype, slices.Clone(e.shape), nil
}

// Float32View returns name's data as a zero-copy []float32 when it is F32,
// the host is little-endian and the data is 4-byte aligned; ok is false
// otherwise (use Float32). The view is valid until Close and read-only.
func (f *File) Float32View(name string) (v []float32, ok bool) {
	e, exists := f.tensors[name]
	if !exists || e.dtype != F32 || !littleEndian() || len(e.data) == 0 {
		return nil, false
	}
	p := unsafe.Pointer(unsafe.SliceData(e.data))
	if uintptr(p)%4 != 0 {
		return nil, false
	}
	return unsafe.Slice((*float32)(p), len(e.data)/4), true
}

// Float32 returns a converted copy of a float tensor (F32, BF16, F16, F64).
func (f *File) Float32(name string) ([]float32, error) {
	e, err := f.get(name)
	if err != nil {
		return nil, err
	}
	if !e.dtype.IsFloat() {
		return nil, fmt.Errorf("safetensors %s: tensor %s: dtype %s is not a float type", e.file, name, e.dtype)
	}
	out := make([]float32, len(e.data)/e.dtype.Size())
	decodeFloat32(out, e.data, e.dtype)
	return out, nil
}

// Float64 returns a converted copy of a float tensor; F64 data is exact.
func (f *File) Float64(name string) ([]float64, error) {
	e, err := f.get(name)
	if err != nil {
		return nil, err
	}
	if e.dtype == F64 {
		out := make([]float64, len(e.data)/8)
		for i := range out {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(e.data[8*i:]))
		}
		return out, nil
	}
	f32, err := f.Float32(name)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(f32))
	for i, v := range f32 {
		out[i] = float64(v)
	}
	return out, nil
}

// Close unmaps the files; views from Raw and Float32View become invalid.
func (f *File) Close() error {
	var errs []error
	for _, s := range f.shards {
		if err := unmapFile(s.data); err != nil {
			errs = append(errs, fmt.Errorf("unmap %s: %w", s.path, err))
		}
		s.data = nil
	}
	f.shards = nil
	f.tensors = nil
	return errors.Join(errs...)
}
