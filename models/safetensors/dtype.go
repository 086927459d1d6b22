package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"
)

// DType is a safetensors element type, spelled as in the header.
type DType string

// The element types of the safetensors format. Only the float types convert
// to float32; the others can be listed and viewed raw.
const (
	F64    DType = "F64"
	F32    DType = "F32"
	F16    DType = "F16"
	BF16   DType = "BF16"
	I64    DType = "I64"
	I32    DType = "I32"
	I16    DType = "I16"
	I8     DType = "I8"
	U64    DType = "U64"
	U32    DType = "U32"
	U16    DType = "U16"
	U8     DType = "U8"
	Bool   DType = "BOOL"
	F8E4M3 DType = "F8_E4M3"
	F8E5M2 DType = "F8_E5M2"
)

// Size is the byte size of one element, or 0 for an unknown type.
func (d DType) Size() int {
	switch d {
	case F64, I64, U64:
		return 8
	case F32, I32, U32:
		return 4
	case F16, BF16, I16, U16:
		return 2
	case I8, U8, Bool, F8E4M3, F8E5M2:
		return 1
	}
	return 0
}

// IsFloat reports whether d converts to float32 (F64, F32, F16, BF16).
func (d DType) IsFloat() bool { return d == F64 || d == F32 || d == F16 || d == BF16 }

// DTypeFromTorch maps a config.json torch_dtype ("float32", "bfloat16",
// "float16", "float64") to its safetensors type.
func DTypeFromTorch(s string) (DType, error) {
	switch s {
	case "float32", "":
		return F32, nil
	case "bfloat16":
		return BF16, nil
	case "float16":
		return F16, nil
	case "float64":
		return F64, nil
	}
	return "", fmt.Errorf("torch_dtype %q: no safetensors float type", s)
}

func littleEndian() bool { return binary.NativeEndian.Uint16([]byte{1, 0}) == 1 }

// BF16FromFloat32 rounds f to bfloat16 to nearest, ties to even, as torch
// does; every NaN becomes the quiet NaN 0x7FC0.
func BF16FromFloat32(f float32) uint16 {
	if f != f {
		return 0x7FC0
	}
	b := math.Float32bits(f)
	return uint16((b + 0x7FFF + (b>>16)&1) >> 16)
}

// Float32FromBF16 widens a bfloat16 exactly.
func Float32FromBF16(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// F16FromFloat32 rounds f to IEEE half precision to nearest, ties to even,
// with subnormals, overflow to infinity and NaN kept (quiet, sign kept).
func F16FromFloat32(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xFF
	mant := b & 0x7FFFFF
	if exp == 0xFF {
		if mant != 0 {
			return sign | 0x7E00
		}
		return sign | 0x7C00
	}
	e := exp - 127 + 15
	if e >= 0x1F {
		return sign | 0x7C00
	}
	if e <= 0 {
		if e < -10 {
			return sign // below half the smallest subnormal
		}
		m := mant | 0x800000
		shift := uint(14 - e)
		h := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && h&1 == 1) {
			h++ // may carry into the smallest normal, which is right
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | mant>>13
	rem := mant & 0x1FFF
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // a carry out of the mantissa rounds up to infinity correctly
	}
	return sign | uint16(h)
}

// Float32FromF16 widens an IEEE half exactly.
func Float32FromF16(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1F
	mant := uint32(h & 0x3FF)
	switch {
	case exp == 0:
		v := float32(mant) * (1.0 / (1 << 24))
		return math.Float32frombits(math.Float32bits(v) | sign)
	case exp == 0x1F:
		return math.Float32frombits(sign | 0x7F800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// decodeFloat32 converts little-endian src of type d into dst (len(dst)
// elements).
func decodeFloat32(dst []float32, src []byte, d DType) {
	switch d {
	case F32:
		if littleEndian() && len(dst) > 0 {
			copy(unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), 4*len(dst)), src)
			return
		}
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
		}
	case F16:
		for i := range dst {
			dst[i] = Float32FromF16(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case F64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
		}
	}
}

// Encode converts data to little-endian bytes of type d (F32, BF16, F16 or
// F64), rounding to nearest even as torch does.
func Encode(d DType, data []float32) ([]byte, error) {
	out := make([]byte, len(data)*d.Size())
	switch d {
	case F32:
		if littleEndian() && len(data) > 0 {
			copy(out, unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), 4*len(data)))
			break
		}
		for i, v := range data {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
		}
	case BF16:
		for i, v := range data {
			binary.LittleEndian.PutUint16(out[2*i:], BF16FromFloat32(v))
		}
	case F16:
		for i, v := range data {
			binary.LittleEndian.PutUint16(out[2*i:], F16FromFloat32(v))
		}
	case F64:
		for i, v := range data {
			binary.LittleEndian.PutUint64(out[8*i:], math.Float64bits(float64(v)))
		}
	default:
		return nil, fmt.Errorf("encode: dtype %q is not a float type (want F32, BF16, F16 or F64)", d)
	}
	return out, nil
}

// EncodeFloat64 converts data to little-endian F64 bytes.
func EncodeFloat64(data []float64) []byte {
	out := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(out[8*i:], math.Float64bits(v))
	}
	return out
}
