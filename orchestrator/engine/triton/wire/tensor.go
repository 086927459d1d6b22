// Package wire holds the KServe v2 tensors and inference messages as both
// of the protocol's encodings carry them: HTTP/JSON with the binary-tensor
// extension, and gRPC (kservepb) with typed or raw contents. pz serve and
// the triton engine share it, so a request means the same on either side.
package wire

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Data types (the protocol's names).
const (
	Bool   = "BOOL"
	Int32  = "INT32"
	Int64  = "INT64"
	FP32   = "FP32"
	FP64   = "FP64"
	Bytes  = "BYTES"
	UInt8  = "UINT8"
	UInt64 = "UINT64"
)

// Tensor is one named input or output. Data is []int32 (INT32), []int64
// (INT64), []float32 (FP32), []float64 (FP64), []bool (BOOL), []uint8
// (UINT8), []uint64 (UINT64) or [][]byte (BYTES), flattened row-major.
type Tensor struct {
	Name     string
	Datatype string
	Shape    []int64
	Data     any
}

// Elements is the product of the shape (1 for a scalar shape []).
func Elements(shape []int64) (int64, error) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("shape %v has a negative dimension", shape)
		}
		if d > 0 && n > math.MaxInt32/d {
			return 0, fmt.Errorf("shape %v has too many elements", shape)
		}
		n *= d
	}
	return n, nil
}

// Len is the number of elements Data holds (-1 for an unknown Go type).
func (t *Tensor) Len() int {
	switch d := t.Data.(type) {
	case []int32:
		return len(d)
	case []int64:
		return len(d)
	case []float32:
		return len(d)
	case []float64:
		return len(d)
	case []bool:
		return len(d)
	case []uint8:
		return len(d)
	case []uint64:
		return len(d)
	case [][]byte:
		return len(d)
	}
	return -1
}

// goType is the Data type a datatype is held in.
func goType(dt string) (any, bool) {
	switch dt {
	case Int32:
		return []int32(nil), true
	case Int64:
		return []int64(nil), true
	case FP32:
		return []float32(nil), true
	case FP64:
		return []float64(nil), true
	case Bool:
		return []bool(nil), true
	case UInt8:
		return []uint8(nil), true
	case UInt64:
		return []uint64(nil), true
	case Bytes:
		return [][]byte(nil), true
	}
	return nil, false
}

// Validate checks the datatype, the Go type of Data and the element count.
func (t *Tensor) Validate() error {
	want, ok := goType(t.Datatype)
	if !ok {
		return fmt.Errorf("tensor %q: datatype %q is not supported (INT32, INT64, FP32, FP64, BOOL, UINT8, UINT64, BYTES)", t.Name, t.Datatype)
	}
	if fmt.Sprintf("%T", want) != fmt.Sprintf("%T", t.Data) {
		return fmt.Errorf("tensor %q: %s data held as %T", t.Name, t.Datatype, t.Data)
	}
	n, err := Elements(t.Shape)
	if err != nil {
		return fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	if int64(t.Len()) != n {
		return fmt.Errorf("tensor %q: shape %v needs %d elements, got %d", t.Name, t.Shape, n, t.Len())
	}
	return nil
}

// Raw is the tensor's binary form: little-endian, unpadded; each BYTES
// element is a 4-byte little-endian length and its bytes.
func (t *Tensor) Raw() ([]byte, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	switch d := t.Data.(type) {
	case []int32:
		b := make([]byte, 4*len(d))
		for i, v := range d {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
		}
		return b, nil
	case []int64:
		b := make([]byte, 8*len(d))
		for i, v := range d {
			binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
		}
		return b, nil
	case []float32:
		b := make([]byte, 4*len(d))
		for i, v := range d {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		return b, nil
	case []float64:
		b := make([]byte, 8*len(d))
		for i, v := range d {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
		}
		return b, nil
	case []bool:
		b := make([]byte, len(d))
		for i, v := range d {
			if v {
				b[i] = 1
			}
		}
		return b, nil
	case []uint8:
		return append([]byte(nil), d...), nil
	case []uint64:
		b := make([]byte, 8*len(d))
		for i, v := range d {
			binary.LittleEndian.PutUint64(b[8*i:], v)
		}
		return b, nil
	case [][]byte:
		var b []byte
		for _, s := range d {
			b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
			b = append(b, s...)
		}
		return b, nil
	}
	return nil, fmt.Errorf("tensor %q: unsupported data %T", t.Name, t.Data)
}

// FromRaw decodes a tensor's binary form.
func FromRaw(name, dt string, shape []int64, b []byte) (*Tensor, error) {
	n, err := Elements(shape)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	t := &Tensor{Name: name, Datatype: dt, Shape: shape}
	size := map[string]int64{Int32: 4, Int64: 8, FP32: 4, FP64: 8, Bool: 1, UInt8: 1, UInt64: 8}
	if s, ok := size[dt]; ok && int64(len(b)) != n*s {
		return nil, fmt.Errorf("tensor %q: %s shape %v needs %d bytes, got %d", name, dt, shape, n*s, len(b))
	}
	switch dt {
	case Int32:
		d := make([]int32, n)
		for i := range d {
			d[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
		}
		t.Data = d
	case Int64:
		d := make([]int64, n)
		for i := range d {
			d[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
		t.Data = d
	case FP32:
		d := make([]float32, n)
		for i := range d {
			d[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		t.Data = d
	case FP64:
		d := make([]float64, n)
		for i := range d {
			d[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		}
		t.Data = d
	case Bool:
		d := make([]bool, n)
		for i := range d {
			d[i] = b[i] != 0
		}
		t.Data = d
	case UInt8:
		t.Data = append([]uint8(nil), b...)
	case UInt64:
		d := make([]uint64, n)
		for i := range d {
			d[i] = binary.LittleEndian.Uint64(b[8*i:])
		}
		t.Data = d
	case Bytes:
		d := make([][]byte, 0, n)
		for len(b) > 0 {
			if len(b) < 4 {
				return nil, fmt.Errorf("tensor %q: BYTES element length cut short", name)
			}
			l := int64(binary.LittleEndian.Uint32(b))
			if int64(len(b)-4) < l {
				return nil, fmt.Errorf("tensor %q: BYTES element of %d bytes with %d left", name, l, len(b)-4)
			}
			d = append(d, append([]byte{}, b[4:4+l]...))
			b = b[4+l:]
		}
		if int64(len(d)) != n {
			return nil, fmt.Errorf("tensor %q: shape %v needs %d BYTES elements, got %d", name, shape, n, len(d))
		}
		t.Data = d
	default:
		return nil, fmt.Errorf("tensor %q: datatype %q is not supported", name, dt)
	}
	return t, nil
}

// Ints returns integer tensor data as int64 (INT32 or INT64).
func (t *Tensor) Ints() ([]int64, error) {
	switch d := t.Data.(type) {
	case []int64:
		return d, nil
	case []int32:
		out := make([]int64, len(d))
		for i, v := range d {
			out[i] = int64(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("tensor %q: datatype %s, want INT32 or INT64", t.Name, t.Datatype)
}

// Floats returns FP32 data.
func (t *Tensor) Floats() ([]float32, error) {
	if d, ok := t.Data.([]float32); ok {
		return d, nil
	}
	return nil, fmt.Errorf("tensor %q: datatype %s, want FP32", t.Name, t.Datatype)
}

// Strings returns BYTES data as strings.
func (t *Tensor) Strings() ([]string, error) {
	d, ok := t.Data.([][]byte)
	if !ok {
		return nil, fmt.Errorf("tensor %q: datatype %s, want BYTES", t.Name, t.Datatype)
	}
	out := make([]string, len(d))
	for i, s := range d {
		out[i] = string(s)
	}
	return out, nil
}
