package ort

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// A hand-written ONNX encoder for tests, independent of pz/export, so the
// wrapper is tested against ONNX Runtime without trusting the builder.

// ONNX TensorProto.DataType numbers.
const (
	onnxFloat   = 1
	onnxUint8   = 2
	onnxInt8    = 3
	onnxInt32   = 6
	onnxInt64   = 7
	onnxBool    = 9
	onnxFloat16 = 10
	onnxDouble  = 11
	onnxBF16    = 16
)

type tNode struct {
	op, name, domain string
	in, out          []string
	ints             map[string]int64 // INT attributes
}

// tValue is a graph input/output; dims are int (static) or string
// (symbolic); noShape leaves the shape out entirely.
type tValue struct {
	name    string
	elem    int32
	dims    []any
	noShape bool
}

type tInit struct {
	name string
	dims []int64
	f32  []float32
}

type tModel struct {
	name     string
	nodes    []tNode
	inputs   []tValue
	outputs  []tValue
	inits    []tInit
	metadata [][2]string
}

func msg(fields ...[]byte) []byte {
	var b []byte
	for _, f := range fields {
		b = append(b, f...)
	}
	return b
}

func fBytes(num protowire.Number, v []byte) []byte {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func fString(num protowire.Number, s string) []byte { return fBytes(num, []byte(s)) }

func fVarint(num protowire.Number, v uint64) []byte {
	b := protowire.AppendTag(nil, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func (v tValue) encode() []byte {
	tensor := fVarint(1, uint64(v.elem))
	if !v.noShape {
		var shape []byte
		for _, d := range v.dims {
			switch d := d.(type) {
			case int:
				shape = append(shape, fBytes(1, fVarint(1, uint64(d)))...)
			case string:
				shape = append(shape, fBytes(1, fString(2, d))...)
			}
		}
		// An empty TensorShapeProto (rank 0) must still be present.
		tensor = append(tensor, fBytes(2, shape)...)
	}
	return msg(fString(1, v.name), fBytes(2, fBytes(1, tensor)))
}

func (n tNode) encode() []byte {
	var b []byte
	for _, in := range n.in {
		b = append(b, fString(1, in)...)
	}
	for _, out := range n.out {
		b = append(b, fString(2, out)...)
	}
	if n.name != "" {
		b = append(b, fString(3, n.name)...)
	}
	b = append(b, fString(4, n.op)...)
	for k, v := range n.ints {
		b = append(b, fBytes(5, msg(fString(1, k), fVarint(3, uint64(v)), fVarint(20, 2)))...) // type INT
	}
	if n.domain != "" {
		b = append(b, fString(7, n.domain)...)
	}
	return b
}

func (t tInit) encode() []byte {
	var b []byte
	for _, d := range t.dims {
		b = append(b, fVarint(1, uint64(d))...)
	}
	raw := make([]byte, 4*len(t.f32))
	for i, f := range t.f32 {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	return msg(b, fVarint(2, onnxFloat), fString(8, t.name), fBytes(9, raw))
}

func (m tModel) encode() []byte {
	var g []byte
	for _, n := range m.nodes {
		g = append(g, fBytes(1, n.encode())...)
	}
	g = append(g, fString(2, m.name)...)
	for _, i := range m.inits {
		g = append(g, fBytes(5, i.encode())...)
	}
	for _, v := range m.inputs {
		g = append(g, fBytes(11, v.encode())...)
	}
	for _, v := range m.outputs {
		g = append(g, fBytes(12, v.encode())...)
	}
	b := msg(
		fVarint(1, 8), // ir_version
		fString(2, "pz-ort-test"),
		fBytes(7, g),
		fBytes(8, msg(fString(1, ""), fVarint(2, 17))),
		fBytes(8, msg(fString(1, "com.microsoft"), fVarint(2, 1))),
	)
	for _, kv := range m.metadata {
		b = append(b, fBytes(14, msg(fString(1, kv[0]), fString(2, kv[1])))...)
	}
	return b
}

// unary makes a one-node model y = op(x) with the same type in and out.
func unary(op string, elem int32, dims ...any) []byte {
	return tModel{
		name:    op,
		nodes:   []tNode{{op: op, in: []string{"x"}, out: []string{"y"}}},
		inputs:  []tValue{{name: "x", elem: elem, dims: dims}},
		outputs: []tValue{{name: "y", elem: elem, dims: dims}},
	}.encode()
}

// binary makes a one-node model z = op(x, y).
func binop(op string, elem int32, dims ...any) []byte {
	return tModel{
		name:    op,
		nodes:   []tNode{{op: op, in: []string{"x", "y"}, out: []string{"z"}}},
		inputs:  []tValue{{name: "x", elem: elem, dims: dims}, {name: "y", elem: elem, dims: dims}},
		outputs: []tValue{{name: "z", elem: elem, dims: dims}},
	}.encode()
}

// cast makes a one-node model y = Cast(x, to) of static shape.
func cast(from, to int32, dims ...any) []byte {
	return tModel{
		name:    "cast",
		nodes:   []tNode{{op: "Cast", in: []string{"x"}, out: []string{"y"}, ints: map[string]int64{"to": int64(to)}}},
		inputs:  []tValue{{name: "x", elem: from, dims: dims}},
		outputs: []tValue{{name: "y", elem: to, dims: dims}},
	}.encode()
}
