package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"slices"

	"pz/models/safetensors"
)

// TensorInfo describes one tensor of a read file.
type TensorInfo struct {
	Name string
	// Dims are in GGUF order (ne[0] innermost); Shape is row-major.
	Dims   []uint64
	Type   TensorType
	Offset uint64 // relative to the data section
}

// Shape is the row-major shape (Dims reversed).
func (t TensorInfo) Shape() []int64 {
	s := make([]int64, len(t.Dims))
	for i, d := range t.Dims {
		s[len(t.Dims)-1-i] = int64(d)
	}
	return s
}

func (t TensorInfo) bytes() uint64 {
	n := uint64(t.Type.Size())
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// File is a GGUF file read into memory (meant for tests and small files).
type File struct {
	Path      string
	Version   uint32
	Alignment int64
	KV        []KV
	Tensors   []TensorInfo
	// DataOffset is where the data section starts in the file.
	DataOffset int64
	data       []byte
}

// Read parses and checks a whole GGUF file.
func Read(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read gguf: %w", err)
	}
	f, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("gguf %s: %w", path, err)
	}
	f.Path = path
	return f, nil
}

type dec struct {
	b   []byte
	off int
	err error
}

func (d *dec) take(n uint64, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)-d.off) {
		d.err = fmt.Errorf("%w: %s: %d bytes at offset %d run past the end (%d bytes)", ErrCorrupt, what, n, d.off, len(d.b))
		return nil
	}
	p := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return p
}

func (d *dec) u8(what string) uint8 {
	if p := d.take(1, what); p != nil {
		return p[0]
	}
	return 0
}

func (d *dec) u16(what string) uint16 {
	if p := d.take(2, what); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

func (d *dec) u32(what string) uint32 {
	if p := d.take(4, what); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (d *dec) u64(what string) uint64 {
	if p := d.take(8, what); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

func (d *dec) str(what string) string { return string(d.take(d.u64(what), what)) }

func parse(b []byte) (*File, error) {
	d := &dec{b: b}
	if m := d.take(4, "magic"); d.err == nil && string(m) != Magic {
		return nil, fmt.Errorf("%w: magic %q, want %q", ErrCorrupt, m, Magic)
	}
	f := &File{Version: d.u32("version"), Alignment: DefaultAlignment}
	if d.err == nil && f.Version != Version {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrCorrupt, f.Version, Version)
	}
	nt, nkv := d.u64("tensor_count"), d.u64("metadata_kv_count")
	if d.err != nil {
		return nil, d.err
	}
	// Each KV and tensor info takes at least 8+4 bytes.
	if nt > uint64(len(b))/12 || nkv > uint64(len(b))/12 {
		return nil, fmt.Errorf("%w: tensor_count %d / metadata_kv_count %d impossible for a %d-byte file", ErrCorrupt, nt, nkv, len(b))
	}
	seen := map[string]bool{}
	for range nkv {
		key := d.str("metadata key")
		if d.err == nil && seen[key] {
			return nil, fmt.Errorf("%w: metadata key %s: duplicate", ErrCorrupt, key)
		}
		seen[key] = true
		v := d.value(ValueType(d.u32("value type of "+key)), key, 0)
		if d.err != nil {
			return nil, d.err
		}
		if key == "general.alignment" {
			a, ok := v.(uint32)
			if !ok || a == 0 || a%8 != 0 {
				return nil, fmt.Errorf("%w: metadata key general.alignment: want a uint32 multiple of 8, got %v", ErrCorrupt, v)
			}
			f.Alignment = int64(a)
		}
		f.KV = append(f.KV, KV{key, v})
	}
	names := map[string]bool{}
	for range nt {
		var t TensorInfo
		t.Name = d.str("tensor name")
		nd := d.u32("n_dimensions of " + t.Name)
		if d.err == nil && (nd == 0 || nd > MaxDims) {
			return nil, fmt.Errorf("%w: tensor %s: n_dimensions %d out of range [1, %d]", ErrCorrupt, t.Name, nd, MaxDims)
		}
		for range nd {
			t.Dims = append(t.Dims, d.u64("dimensions of "+t.Name))
		}
		t.Type = TensorType(d.u32("type of " + t.Name))
		t.Offset = d.u64("offset of " + t.Name)
		if d.err != nil {
			return nil, d.err
		}
		if names[t.Name] {
			return nil, fmt.Errorf("%w: tensor %s: duplicate name", ErrCorrupt, t.Name)
		}
		names[t.Name] = true
		if t.Type.Size() == 0 {
			return nil, fmt.Errorf("%w: tensor %s: type %v not handled by this reader", ErrCorrupt, t.Name, t.Type)
		}
		if t.Offset%uint64(f.Alignment) != 0 {
			return nil, fmt.Errorf("%w: tensor %s: offset %d not a multiple of the alignment %d", ErrCorrupt, t.Name, t.Offset, f.Alignment)
		}
		f.Tensors = append(f.Tensors, t)
	}
	f.DataOffset = align(int64(d.off), f.Alignment)
	if f.DataOffset > int64(len(b)) {
		return nil, fmt.Errorf("%w: data section at %d beyond the end (%d bytes)", ErrCorrupt, f.DataOffset, len(b))
	}
	f.data = b[f.DataOffset:]
	// Tensors must lie in the data section without overlapping.
	sorted := slices.Clone(f.Tensors)
	slices.SortFunc(sorted, func(a, b TensorInfo) int {
		switch {
		case a.Offset < b.Offset:
			return -1
		case a.Offset > b.Offset:
			return 1
		}
		return 0
	})
	var end uint64
	for i, t := range sorted {
		n := t.bytes()
		if t.Offset > uint64(len(f.data)) || n > uint64(len(f.data))-t.Offset {
			return nil, fmt.Errorf("%w: tensor %s: %d bytes at offset %d run past the data section (%d bytes; truncated?)", ErrCorrupt, t.Name, n, t.Offset, len(f.data))
		}
		if i > 0 && t.Offset < end {
			return nil, fmt.Errorf("%w: tensor %s: offset %d overlaps %s", ErrCorrupt, t.Name, t.Offset, sorted[i-1].Name)
		}
		end = t.Offset + n
	}
	return f, nil
}

func (d *dec) value(t ValueType, key string, depth int) any {
	what := "value of " + key
	switch t {
	case TypeUint8:
		return d.u8(what)
	case TypeInt8:
		return int8(d.u8(what))
	case TypeUint16:
		return d.u16(what)
	case TypeInt16:
		return int16(d.u16(what))
	case TypeUint32:
		return d.u32(what)
	case TypeInt32:
		return int32(d.u32(what))
	case TypeFloat32:
		return math.Float32frombits(d.u32(what))
	case TypeBool:
		v := d.u8(what)
		if d.err == nil && v > 1 {
			d.err = fmt.Errorf("%w: metadata key %s: bool byte %d", ErrCorrupt, key, v)
		}
		return v == 1
	case TypeString:
		return d.str(what)
	case TypeUint64:
		return d.u64(what)
	case TypeInt64:
		return int64(d.u64(what))
	case TypeFloat64:
		return math.Float64frombits(d.u64(what))
	case TypeArray:
		et := ValueType(d.u32("array type of " + key))
		n := d.u64("array length of " + key)
		if d.err != nil {
			return nil
		}
		if depth > 0 || et == TypeArray {
			d.err = fmt.Errorf("%w: metadata key %s: nested arrays are not handled", ErrCorrupt, key)
			return nil
		}
		min := uint64(et.size())
		if et == TypeString {
			min = 8
		}
		if min == 0 {
			d.err = fmt.Errorf("%w: metadata key %s: unknown array element type %d", ErrCorrupt, key, et)
			return nil
		}
		if n > uint64(len(d.b)-d.off)/min {
			d.err = fmt.Errorf("%w: metadata key %s: array length %d runs past the end", ErrCorrupt, key, n)
			return nil
		}
		return readArray(d, et, n, key)
	}
	if d.err == nil {
		d.err = fmt.Errorf("%w: metadata key %s: unknown value type %d", ErrCorrupt, key, t)
	}
	return nil
}

func readArray(d *dec, et ValueType, n uint64, key string) any {
	switch et {
	case TypeUint8:
		return collect[uint8](d, et, n, key)
	case TypeInt8:
		return collect[int8](d, et, n, key)
	case TypeUint16:
		return collect[uint16](d, et, n, key)
	case TypeInt16:
		return collect[int16](d, et, n, key)
	case TypeUint32:
		return collect[uint32](d, et, n, key)
	case TypeInt32:
		return collect[int32](d, et, n, key)
	case TypeFloat32:
		return collect[float32](d, et, n, key)
	case TypeBool:
		return collect[bool](d, et, n, key)
	case TypeString:
		return collect[string](d, et, n, key)
	case TypeUint64:
		return collect[uint64](d, et, n, key)
	case TypeInt64:
		return collect[int64](d, et, n, key)
	case TypeFloat64:
		return collect[float64](d, et, n, key)
	}
	return nil
}

func collect[T any](d *dec, et ValueType, n uint64, key string) []T {
	out := make([]T, 0, n)
	for range n {
		v := d.value(et, key, 1)
		if d.err != nil {
			return nil
		}
		out = append(out, v.(T))
	}
	return out
}

// Get returns the value of key.
func (f *File) Get(key string) (any, bool) {
	for _, kv := range f.KV {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return nil, false
}

// Tensor returns the info of name.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	for _, t := range f.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return TensorInfo{}, false
}

// Data returns the raw little-endian bytes of tensor name.
func (f *File) Data(name string) ([]byte, error) {
	t, ok := f.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("gguf %s: tensor %s: not found", f.Path, name)
	}
	return f.data[t.Offset : t.Offset+t.bytes()], nil
}

// Float32 returns tensor name (F32 or F16) converted to float32.
func (f *File) Float32(name string) ([]float32, error) {
	b, err := f.Data(name)
	if err != nil {
		return nil, err
	}
	t, _ := f.Tensor(name)
	switch t.Type {
	case F32:
		out := make([]float32, len(b)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return out, nil
	case F16:
		out := make([]float32, len(b)/2)
		for i := range out {
			out[i] = safetensors.Float32FromF16(binary.LittleEndian.Uint16(b[2*i:]))
		}
		return out, nil
	}
	return nil, fmt.Errorf("gguf %s: tensor %s: type %v not converted", f.Path, name, t.Type)
}
