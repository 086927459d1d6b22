package ort

import (
	"fmt"
	"unsafe"

	ortgo "github.com/yalue/onnxruntime_go"
)

// DType is a tensor element type. The numbering is pz's own; onnxType maps
// it to ONNX's TensorProto.DataType.
type DType int

// Element types a Tensor can hold.
const (
	Undefined DType = iota
	Float32
	Float64
	Int64
	Int32
	Int8
	Uint8
	Bool
	Float16  // raw IEEE half bits in a []uint16
	BFloat16 // raw bfloat16 bits in a []uint16
)

var dtypeNames = [...]string{"undefined", "float32", "float64", "int64", "int32", "int8", "uint8", "bool", "float16", "bfloat16"}

func (d DType) String() string {
	if d >= 0 && int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	return fmt.Sprintf("DType(%d)", int(d))
}

// onnxTypes maps ONNX TensorProto.DataType numbers to DType.
var onnxTypes = map[int32]DType{1: Float32, 2: Uint8, 3: Int8, 6: Int32, 7: Int64, 9: Bool, 10: Float16, 11: Float64, 16: BFloat16}

// dtypeFromONNX returns the DType of an ONNX elem_type, or Undefined.
func dtypeFromONNX(t int32) DType { return onnxTypes[t] }

// Tensor is a Go-owned tensor: Shape (row-major, rank 0 for a scalar) and
// Data, a slice whose element type matches DType: []float32, []float64,
// []int64, []int32, []int8, []uint8, []bool, or []uint16 for Float16 and
// BFloat16. Tensors need no freeing. A Tensor passed to Run is read, not
// kept; one passed to RunInto as an output is written in place.
type Tensor struct {
	DType DType
	Shape []int64
	Data  any
}

// F32 makes a float32 tensor; a nil or empty shape makes a scalar.
func F32(shape []int64, data []float32) *Tensor { return &Tensor{Float32, shape, data} }

// F64 makes a float64 tensor.
func F64(shape []int64, data []float64) *Tensor { return &Tensor{Float64, shape, data} }

// I64 makes an int64 tensor.
func I64(shape []int64, data []int64) *Tensor { return &Tensor{Int64, shape, data} }

// I32 makes an int32 tensor.
func I32(shape []int64, data []int32) *Tensor { return &Tensor{Int32, shape, data} }

// I8 makes an int8 tensor.
func I8(shape []int64, data []int8) *Tensor { return &Tensor{Int8, shape, data} }

// U8 makes a uint8 tensor.
func U8(shape []int64, data []uint8) *Tensor { return &Tensor{Uint8, shape, data} }

// B makes a bool tensor.
func B(shape []int64, data []bool) *Tensor { return &Tensor{Bool, shape, data} }

// F16 makes a float16 tensor from raw IEEE half-precision bits.
func F16(shape []int64, bits []uint16) *Tensor { return &Tensor{Float16, shape, bits} }

// BF16 makes a bfloat16 tensor from raw bits (the top half of a float32).
func BF16(shape []int64, bits []uint16) *Tensor { return &Tensor{BFloat16, shape, bits} }

// Zeros allocates a zero tensor of the given dtype and shape.
func Zeros(d DType, shape ...int64) *Tensor {
	n := NumElements(shape)
	t := &Tensor{DType: d, Shape: shape}
	switch d {
	case Float32:
		t.Data = make([]float32, n)
	case Float64:
		t.Data = make([]float64, n)
	case Int64:
		t.Data = make([]int64, n)
	case Int32:
		t.Data = make([]int32, n)
	case Int8:
		t.Data = make([]int8, n)
	case Uint8:
		t.Data = make([]uint8, n)
	case Bool:
		t.Data = make([]bool, n)
	case Float16, BFloat16:
		t.Data = make([]uint16, n)
	default:
		panic(fmt.Sprintf("ort.Zeros: unsupported dtype %v", d))
	}
	return t
}

// NumElements is the product of the dims (1 for a scalar).
func NumElements(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}

// Float32s returns the data of a float32 tensor; it panics on another dtype.
func (t *Tensor) Float32s() []float32 { return typed[float32](t, Float32) }

// Float64s returns the data of a float64 tensor; it panics on another dtype.
func (t *Tensor) Float64s() []float64 { return typed[float64](t, Float64) }

// Int64s returns the data of an int64 tensor; it panics on another dtype.
func (t *Tensor) Int64s() []int64 { return typed[int64](t, Int64) }

// Int32s returns the data of an int32 tensor; it panics on another dtype.
func (t *Tensor) Int32s() []int32 { return typed[int32](t, Int32) }

// Bools returns the data of a bool tensor; it panics on another dtype.
func (t *Tensor) Bools() []bool { return typed[bool](t, Bool) }

// Uint16s returns the raw bits of a float16 or bfloat16 tensor; it panics on another dtype.
func (t *Tensor) Uint16s() []uint16 {
	if t.DType != Float16 && t.DType != BFloat16 {
		panic(fmt.Sprintf("ort: Uint16s on a %v tensor", t.DType))
	}
	return t.Data.([]uint16)
}

func typed[T any](t *Tensor, d DType) []T {
	s, ok := t.Data.([]T)
	if !ok || t.DType != d {
		panic(fmt.Sprintf("ort: %v accessor on a %v tensor holding %T", d, t.DType, t.Data))
	}
	return s
}

// String describes the tensor without its data, e.g. "float32[2 3]".
func (t *Tensor) String() string { return fmt.Sprintf("%v%v", t.DType, t.Shape) }

// Validate checks that Data's Go type matches DType and that its length is
// the product of Shape.
func (t *Tensor) Validate() error {
	var n int
	ok := true
	switch d := t.Data.(type) {
	case []float32:
		n, ok = len(d), t.DType == Float32
	case []float64:
		n, ok = len(d), t.DType == Float64
	case []int64:
		n, ok = len(d), t.DType == Int64
	case []int32:
		n, ok = len(d), t.DType == Int32
	case []int8:
		n, ok = len(d), t.DType == Int8
	case []uint8:
		n, ok = len(d), t.DType == Uint8
	case []bool:
		n, ok = len(d), t.DType == Bool
	case []uint16:
		n, ok = len(d), t.DType == Float16 || t.DType == BFloat16
	default:
		return fmt.Errorf("tensor data of Go type %T is not supported", t.Data)
	}
	if !ok {
		return fmt.Errorf("tensor of dtype %v holds %T", t.DType, t.Data)
	}
	for i, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("tensor shape %v: dim %d is negative", t.Shape, i)
		}
	}
	if want := NumElements(t.Shape); int64(n) != want {
		return fmt.Errorf("tensor shape %v needs %d elements, data has %d", t.Shape, want, n)
	}
	return nil
}

// value wraps t's Go memory in an ONNX Runtime value without copying (rank 0
// is copied into a Scalar, which onnxruntime_go requires). The caller
// destroys the value; readBack copies a scalar's result into t afterwards.
func (t *Tensor) value() (ortgo.Value, error) {
	switch d := t.Data.(type) {
	case []float32:
		return newValue(t.Shape, d)
	case []float64:
		return newValue(t.Shape, d)
	case []int64:
		return newValue(t.Shape, d)
	case []int32:
		return newValue(t.Shape, d)
	case []int8:
		return newValue(t.Shape, d)
	case []uint8:
		return newValue(t.Shape, d)
	case []bool:
		return newValue(t.Shape, d)
	case []uint16:
		et := ortgo.TensorElementDataType(ortgo.TensorElementDataTypeFloat16)
		if t.DType == BFloat16 {
			et = ortgo.TensorElementDataTypeBFloat16
		}
		if len(d) == 0 {
			return nil, fmt.Errorf("empty %v tensors are not supported by onnxruntime_go", t.DType)
		}
		shape := ortgo.Shape(t.Shape)
		if len(shape) == 0 {
			// NewCustomDataTensor rejects rank 0; a [1] tensor has the same bytes
			// but the wrong rank, so say so instead.
			return nil, fmt.Errorf("rank-0 %v tensors are not supported by onnxruntime_go", t.DType)
		}
		raw := unsafe.Slice((*byte)(unsafe.Pointer(&d[0])), 2*len(d))
		return ortgo.NewCustomDataTensor(shape, raw, et)
	}
	return nil, fmt.Errorf("tensor data of Go type %T is not supported", t.Data)
}

func newValue[T ortgo.TensorData](shape []int64, data []T) (ortgo.Value, error) {
	if len(shape) == 0 {
		return ortgo.NewScalar(data[0])
	}
	return ortgo.NewTensor(ortgo.Shape(shape), data)
}

// readBack copies the result of a rank-0 output value into t (tensors of
// higher rank were written in place).
func (t *Tensor) readBack(v ortgo.Value) {
	switch s := v.(type) {
	case *ortgo.Scalar[float32]:
		t.Data.([]float32)[0] = s.GetData()
	case *ortgo.Scalar[float64]:
		t.Data.([]float64)[0] = s.GetData()
	case *ortgo.Scalar[int64]:
		t.Data.([]int64)[0] = s.GetData()
	case *ortgo.Scalar[int32]:
		t.Data.([]int32)[0] = s.GetData()
	case *ortgo.Scalar[int8]:
		t.Data.([]int8)[0] = s.GetData()
	case *ortgo.Scalar[uint8]:
		t.Data.([]uint8)[0] = s.GetData()
	case *ortgo.Scalar[bool]:
		t.Data.([]bool)[0] = s.GetData()
	}
}

// fromValue copies an output value that ONNX Runtime allocated into a Go
// tensor. onnxruntime_go has already copied the data into a Go slice, so the
// slice is taken over and only the ORT value is released by the caller.
func fromValue(v ortgo.Value) (*Tensor, error) {
	shape := []int64(v.GetShape())
	switch x := v.(type) {
	case *ortgo.Tensor[float32]:
		return &Tensor{Float32, shape, x.GetData()}, nil
	case *ortgo.Tensor[float64]:
		return &Tensor{Float64, shape, x.GetData()}, nil
	case *ortgo.Tensor[int64]:
		return &Tensor{Int64, shape, x.GetData()}, nil
	case *ortgo.Tensor[int32]:
		return &Tensor{Int32, shape, x.GetData()}, nil
	case *ortgo.Tensor[int8]:
		return &Tensor{Int8, shape, x.GetData()}, nil
	case *ortgo.Tensor[uint8]:
		return &Tensor{Uint8, shape, x.GetData()}, nil
	case *ortgo.Tensor[bool]:
		return &Tensor{Bool, shape, x.GetData()}, nil
	}
	return nil, fmt.Errorf("output value of type %T (%v) is not supported", v, v.GetONNXType())
}
