package export

import (
	"encoding/binary"
	"math"
)

// Tensor is a constant tensor held in Go memory: an initializer or an
// attribute value. Data is one of []float32, []float64, []int64, []int32,
// []int8, []uint8, []bool, or []uint16 (raw bits of float16/bfloat16).
type Tensor struct {
	DType DType
	Shape []int64
	Data  any
}

// TensorF32 makes a float32 tensor.
func TensorF32(shape []int64, data []float32) *Tensor {
	return &Tensor{DType: Float32, Shape: shape, Data: data}
}

// TensorF64 makes a float64 tensor.
func TensorF64(shape []int64, data []float64) *Tensor {
	return &Tensor{DType: Float64, Shape: shape, Data: data}
}

// TensorI64 makes an int64 tensor.
func TensorI64(shape []int64, data []int64) *Tensor {
	return &Tensor{DType: Int64, Shape: shape, Data: data}
}

// TensorI32 makes an int32 tensor.
func TensorI32(shape []int64, data []int32) *Tensor {
	return &Tensor{DType: Int32, Shape: shape, Data: data}
}

// NumElements is the product of Shape.
func (t *Tensor) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

func (t *Tensor) dataLen() int {
	switch v := t.Data.(type) {
	case []float32:
		return len(v)
	case []float64:
		return len(v)
	case []int64:
		return len(v)
	case []int32:
		return len(v)
	case []int8:
		return len(v)
	case []uint8:
		return len(v)
	case []bool:
		return len(v)
	case []uint16:
		return len(v)
	}
	return -1
}

func (t *Tensor) check(name string) {
	want := map[DType]string{Float32: "[]float32", Float64: "[]float64", Int64: "[]int64", Int32: "[]int32",
		Int8: "[]int8", Uint8: "[]uint8", Bool: "[]bool", Float16: "[]uint16", BFloat16: "[]uint16"}
	ok := false
	switch t.Data.(type) {
	case []float32:
		ok = t.DType == Float32
	case []float64:
		ok = t.DType == Float64
	case []int64:
		ok = t.DType == Int64
	case []int32:
		ok = t.DType == Int32
	case []int8:
		ok = t.DType == Int8
	case []uint8:
		ok = t.DType == Uint8
	case []bool:
		ok = t.DType == Bool
	case []uint16:
		ok = t.DType == Float16 || t.DType == BFloat16
	}
	if !ok {
		panic(errorf("tensor %q: dtype %v needs data of type %s, got %T", name, t.DType, want[t.DType], t.Data))
	}
	if int64(t.dataLen()) != t.NumElements() {
		panic(errorf("tensor %q: shape %v holds %d elements, data has %d", name, t.Shape, t.NumElements(), t.dataLen()))
	}
}

// RawBytes returns the little-endian bytes of the data (ONNX raw_data).
func (t *Tensor) RawBytes() []byte {
	n := t.dataLen()
	b := make([]byte, n*t.DType.Size())
	switch v := t.Data.(type) {
	case []float32:
		for i, x := range v {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
		}
	case []float64:
		for i, x := range v {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
		}
	case []int64:
		for i, x := range v {
			binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
		}
	case []int32:
		for i, x := range v {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
		}
	case []int8:
		for i, x := range v {
			b[i] = byte(x)
		}
	case []uint8:
		copy(b, v)
	case []bool:
		for i, x := range v {
			if x {
				b[i] = 1
			}
		}
	case []uint16:
		for i, x := range v {
			binary.LittleEndian.PutUint16(b[2*i:], x)
		}
	}
	return b
}

// scalarTensor makes a 0-d tensor of dtype dt holding v.
func scalarTensor(dt DType, v float64) *Tensor {
	t := &Tensor{DType: dt, Shape: []int64{}}
	switch dt {
	case Float32:
		t.Data = []float32{float32(v)}
	case Float64:
		t.Data = []float64{v}
	case Int64:
		t.Data = []int64{int64(v)}
	case Int32:
		t.Data = []int32{int32(v)}
	case Bool:
		t.Data = []bool{v != 0}
	default:
		panic(errorf("scalar of dtype %v is not supported", dt))
	}
	return t
}
