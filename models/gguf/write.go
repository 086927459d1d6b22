package gguf

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"unsafe"

	"pz/internal/atomicfile"
	"pz/models/safetensors"
)

// Writer collects metadata and tensor descriptions, then streams a GGUF file
// with WriteFile. Tensor data is not copied: each tensor is produced by its
// source while the file is written. Errors from Add* calls are kept and
// returned by WriteFile.
type Writer struct {
	alignment int64
	kvs       []KV
	keys      map[string]bool
	tensors   []pending
	names     map[string]bool
	err       error
}

type pending struct {
	name  string
	dims  []uint64 // GGUF order: ne[0] innermost
	typ   TensorType
	size  int64
	write func(io.Writer) error
}

// NewWriter returns a Writer that aligns to DefaultAlignment and records it
// as general.alignment.
func NewWriter() *Writer {
	w := &Writer{alignment: DefaultAlignment, keys: map[string]bool{}, names: map[string]bool{}}
	w.Add("general.alignment", uint32(DefaultAlignment))
	return w
}

func (w *Writer) fail(format string, args ...any) {
	if w.err == nil {
		w.err = fmt.Errorf(format, args...)
	}
}

// Add records a metadata pair; see KV for the accepted value types.
func (w *Writer) Add(key string, value any) {
	if len(key) == 0 || len(key) > math.MaxUint16 {
		w.fail("gguf metadata key %q: length %d out of range [1, 65535]", key, len(key))
		return
	}
	for i := 0; i < len(key); i++ {
		if key[i] >= 0x80 {
			w.fail("gguf metadata key %q: not ASCII", key)
			return
		}
	}
	if w.keys[key] {
		w.fail("gguf metadata key %s: duplicate", key)
		return
	}
	if _, _, err := valueType(value); err != nil {
		w.fail("gguf metadata key %s: %v", key, err)
		return
	}
	if key == "general.alignment" {
		a, ok := value.(uint32)
		if !ok || a == 0 || a%8 != 0 {
			w.fail("gguf metadata key general.alignment: want a uint32 multiple of 8, got %v (%T)", value, value)
			return
		}
		w.alignment = int64(a)
	}
	w.keys[key] = true
	w.kvs = append(w.kvs, KV{key, value})
}

// SetAlignment changes the alignment (a multiple of 8) recorded as
// general.alignment.
func (w *Writer) SetAlignment(a uint32) {
	if a == 0 || a%8 != 0 {
		w.fail("gguf alignment %d: must be a positive multiple of 8", a)
		return
	}
	w.alignment = int64(a)
	for i := range w.kvs {
		if w.kvs[i].Key == "general.alignment" {
			w.kvs[i].Value = a
		}
	}
}

// AddUint32 records a uint32 pair.
func (w *Writer) AddUint32(key string, v uint32) { w.Add(key, v) }

// AddInt32 records an int32 pair.
func (w *Writer) AddInt32(key string, v int32) { w.Add(key, v) }

// AddFloat32 records a float32 pair.
func (w *Writer) AddFloat32(key string, v float32) { w.Add(key, v) }

// AddBool records a bool pair.
func (w *Writer) AddBool(key string, v bool) { w.Add(key, v) }

// AddString records a string pair.
func (w *Writer) AddString(key string, v string) { w.Add(key, v) }

// AddStrings records an array of strings.
func (w *Writer) AddStrings(key string, v []string) { w.Add(key, v) }

// AddInt32s records an array of int32.
func (w *Writer) AddInt32s(key string, v []int32) { w.Add(key, v) }

// AddFloat32s records an array of float32.
func (w *Writer) AddFloat32s(key string, v []float32) { w.Add(key, v) }

// AddTensor records a tensor of row-major shape whose size bytes of
// little-endian data write produces when the file is written.
func (w *Writer) AddTensor(name string, shape []int64, typ TensorType, write func(io.Writer) error) {
	if len(name) == 0 || len(name) > MaxTensorName {
		w.fail("gguf tensor %q: name length %d out of range [1, %d]", name, len(name), MaxTensorName)
		return
	}
	if w.names[name] {
		w.fail("gguf tensor %s: duplicate name", name)
		return
	}
	if len(shape) == 0 || len(shape) > MaxDims {
		w.fail("gguf tensor %s: %d dimensions, want 1 to %d", name, len(shape), MaxDims)
		return
	}
	if typ.Size() == 0 {
		w.fail("gguf tensor %s: unsupported type %v", name, typ)
		return
	}
	n := int64(1)
	dims := make([]uint64, len(shape))
	for i, d := range shape {
		if d <= 0 {
			w.fail("gguf tensor %s: shape %v: dimensions must be positive", name, shape)
			return
		}
		n *= d
		dims[len(shape)-1-i] = uint64(d)
	}
	w.names[name] = true
	w.tensors = append(w.tensors, pending{name, dims, typ, n * int64(typ.Size()), write})
}

// AddF32 records an F32 tensor backed by data (not copied; it must not
// change until WriteFile returns).
func (w *Writer) AddF32(name string, shape []int64, data []float32) {
	if !w.checkLen(name, shape, len(data)) {
		return
	}
	w.AddTensor(name, shape, F32, func(out io.Writer) error { return writeF32(out, data) })
}

// AddF16 records an F16 tensor converted from data (round to nearest even)
// while the file is written.
func (w *Writer) AddF16(name string, shape []int64, data []float32) {
	if !w.checkLen(name, shape, len(data)) {
		return
	}
	w.AddTensor(name, shape, F16, func(out io.Writer) error {
		buf := make([]byte, 0, 64<<10)
		for i, v := range data {
			buf = binary.LittleEndian.AppendUint16(buf, safetensors.F16FromFloat32(v))
			if len(buf) == cap(buf) || i == len(data)-1 {
				if _, err := out.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
		return nil
	})
}

func (w *Writer) checkLen(name string, shape []int64, n int) bool {
	want := int64(1)
	for _, d := range shape {
		want *= d
	}
	if want != int64(n) {
		w.fail("gguf tensor %s: shape %v holds %d elements, data has %d", name, shape, want, n)
		return false
	}
	return true
}

func writeF32(out io.Writer, data []float32) error {
	if len(data) == 0 {
		return nil
	}
	if binary.NativeEndian.Uint16([]byte{1, 0}) == 1 {
		_, err := out.Write(unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), 4*len(data)))
		return err
	}
	buf := make([]byte, 0, 64<<10)
	for i, v := range data {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		if len(buf) == cap(buf) || i == len(data)-1 {
			if _, err := out.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	return nil
}

// countingWriter checks that each tensor source writes exactly its size.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// WriteFile writes the file at path atomically (temp file, then rename).
func (w *Writer) WriteFile(path string) error {
	if w.err != nil {
		return fmt.Errorf("write gguf %s: %w", path, w.err)
	}
	if err := atomicfile.WriteFunc(path, 0o644, w.write); err != nil {
		return fmt.Errorf("write gguf %w", err)
	}
	return nil
}

func (w *Writer) write(bw io.Writer) error {
	e := &enc{w: bw}
	e.raw([]byte(Magic))
	e.u32(Version)
	e.u64(uint64(len(w.tensors)))
	e.u64(uint64(len(w.kvs)))
	for _, kv := range w.kvs {
		e.str(kv.Key)
		e.value(kv.Value)
	}
	var off int64
	for _, t := range w.tensors {
		e.str(t.name)
		e.u32(uint32(len(t.dims)))
		for _, d := range t.dims {
			e.u64(d)
		}
		e.u32(uint32(t.typ))
		e.u64(uint64(off))
		off = align(off+t.size, w.alignment)
	}
	e.pad(w.alignment)
	if e.err != nil {
		return e.err
	}
	for _, t := range w.tensors {
		cw := &countingWriter{w: bw}
		if err := t.write(cw); err != nil {
			return fmt.Errorf("tensor %s: %w", t.name, err)
		}
		if cw.n != t.size {
			return fmt.Errorf("tensor %s: source wrote %d bytes, want %d", t.name, cw.n, t.size)
		}
		e.n += cw.n
		e.pad(w.alignment)
	}
	return e.err
}

// enc writes little-endian GGUF primitives, keeping the first error and the
// byte count.
type enc struct {
	w   io.Writer
	n   int64
	err error
	b   [8]byte
}

func (e *enc) raw(p []byte) {
	if e.err != nil {
		return
	}
	n, err := e.w.Write(p)
	e.n += int64(n)
	e.err = err
}

func (e *enc) u8(v uint8)   { e.raw([]byte{v}) }
func (e *enc) u16(v uint16) { binary.LittleEndian.PutUint16(e.b[:], v); e.raw(e.b[:2]) }
func (e *enc) u32(v uint32) { binary.LittleEndian.PutUint32(e.b[:], v); e.raw(e.b[:4]) }
func (e *enc) u64(v uint64) { binary.LittleEndian.PutUint64(e.b[:], v); e.raw(e.b[:8]) }
func (e *enc) str(s string) { e.u64(uint64(len(s))); e.raw([]byte(s)) }

func (e *enc) pad(a int64) {
	if n := align(e.n, a) - e.n; n > 0 {
		e.raw(make([]byte, n))
	}
}

// valueType returns the GGUF type of v and, for arrays, the element type.
func valueType(v any) (ValueType, ValueType, error) {
	switch x := v.(type) {
	case uint8:
		return TypeUint8, 0, nil
	case int8:
		return TypeInt8, 0, nil
	case uint16:
		return TypeUint16, 0, nil
	case int16:
		return TypeInt16, 0, nil
	case uint32:
		return TypeUint32, 0, nil
	case int32:
		return TypeInt32, 0, nil
	case float32:
		return TypeFloat32, 0, nil
	case bool:
		return TypeBool, 0, nil
	case string:
		return TypeString, 0, nil
	case uint64:
		return TypeUint64, 0, nil
	case int64:
		return TypeInt64, 0, nil
	case float64:
		return TypeFloat64, 0, nil
	case []uint8:
		return TypeArray, TypeUint8, nil
	case []int8:
		return TypeArray, TypeInt8, nil
	case []uint16:
		return TypeArray, TypeUint16, nil
	case []int16:
		return TypeArray, TypeInt16, nil
	case []uint32:
		return TypeArray, TypeUint32, nil
	case []int32:
		return TypeArray, TypeInt32, nil
	case []float32:
		return TypeArray, TypeFloat32, nil
	case []bool:
		return TypeArray, TypeBool, nil
	case []string:
		return TypeArray, TypeString, nil
	case []uint64:
		return TypeArray, TypeUint64, nil
	case []int64:
		return TypeArray, TypeInt64, nil
	case []float64:
		return TypeArray, TypeFloat64, nil
	default:
		return 0, 0, fmt.Errorf("unsupported value type %T (use a sized int, float32/64, bool, string or a slice of one)", x)
	}
}

func (e *enc) scalar(v any) {
	switch x := v.(type) {
	case uint8:
		e.u8(x)
	case int8:
		e.u8(uint8(x))
	case uint16:
		e.u16(x)
	case int16:
		e.u16(uint16(x))
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case bool:
		if x {
			e.u8(1)
		} else {
			e.u8(0)
		}
	case string:
		e.str(x)
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	}
}

func (e *enc) value(v any) {
	t, et, _ := valueType(v)
	e.u32(uint32(t))
	if t != TypeArray {
		e.scalar(v)
		return
	}
	e.u32(uint32(et))
	switch x := v.(type) {
	case []uint8:
		arr(e, x)
	case []int8:
		arr(e, x)
	case []uint16:
		arr(e, x)
	case []int16:
		arr(e, x)
	case []uint32:
		arr(e, x)
	case []int32:
		arr(e, x)
	case []float32:
		arr(e, x)
	case []bool:
		arr(e, x)
	case []string:
		arr(e, x)
	case []uint64:
		arr(e, x)
	case []int64:
		arr(e, x)
	case []float64:
		arr(e, x)
	}
}

func arr[T any](e *enc, xs []T) {
	e.u64(uint64(len(xs)))
	for _, x := range xs {
		e.scalar(x)
	}
}
