// Package gguf writes (and, for checks, reads) GGUF v3 files, the model
// format of llama.cpp/ggml.
//
// Layout, as specified in ggml's docs/gguf.md: magic "GGUF", uint32 version
// 3, uint64 tensor count, uint64 metadata count; the metadata key-value
// pairs (string key, uint32 value type, value; strings are a uint64 length
// and bytes; arrays a uint32 element type, a uint64 count and the elements);
// the tensor infos (name, uint32 n_dims, n_dims uint64 dimensions with ne[0]
// the innermost, i.e. the row-major shape reversed, uint32 ggml type, uint64
// offset relative to the data section and a multiple of the alignment);
// zero padding to general.alignment (32 when absent); the tensor data, each
// tensor padded to the alignment. Everything is little-endian.
package gguf

import (
	"errors"
	"fmt"
)

// Magic is the first four bytes of a GGUF file.
const Magic = "GGUF"

// Version is the format version written.
const Version = 3

// DefaultAlignment is the alignment used when general.alignment is absent.
const DefaultAlignment = 32

// MaxTensorName is the longest tensor name ggml accepts (GGML_MAX_NAME 64
// including the terminating NUL).
const MaxTensorName = 63

// MaxDims is ggml's limit on tensor dimensions (GGML_MAX_DIMS).
const MaxDims = 4

// ErrCorrupt marks a malformed GGUF file.
var ErrCorrupt = errors.New("corrupt gguf file")

// ValueType is a metadata value type (gguf_metadata_value_type).
type ValueType uint32

// Metadata value types.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

func (t ValueType) size() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// TensorType is a ggml tensor element type (ggml_type). Only the
// unquantized float types are written here.
type TensorType uint32

// Tensor element types.
const (
	F32  TensorType = 0
	F16  TensorType = 1
	F64  TensorType = 28
	BF16 TensorType = 30
)

// Size is the byte size of one element, or 0 for types this package does
// not handle (the quantized block types).
func (t TensorType) Size() int {
	switch t {
	case F32:
		return 4
	case F16, BF16:
		return 2
	case F64:
		return 8
	}
	return 0
}

func (t TensorType) String() string {
	switch t {
	case F32:
		return "F32"
	case F16:
		return "F16"
	case F64:
		return "F64"
	case BF16:
		return "BF16"
	}
	return fmt.Sprintf("ggml_type(%d)", uint32(t))
}

// KV is one metadata pair. Value holds uint8, int8, uint16, int16, uint32,
// int32, float32, bool, string, uint64, int64, float64 or a slice of one of
// them ([]string, []int32, []float32, ...).
type KV struct {
	Key   string
	Value any
}

func align(n, a int64) int64 { return n + (a-n%a)%a }
