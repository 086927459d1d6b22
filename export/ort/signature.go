package ort

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// ValueInfo describes one graph input or output as the model declares it.
type ValueInfo struct {
	Name  string
	DType DType
	// Dims holds one entry per axis: the static size, or -1 for a symbolic
	// or unknown dim (whose name, if any, is in DimNames).
	Dims     []int64
	DimNames []string
	// UnknownRank is set when the model gives no shape at all; Dims is nil.
	UnknownRank bool
}

// String renders the value as "name: float32[batch 8]".
func (v ValueInfo) String() string {
	return v.Name + ": " + v.DType.String() + v.shapeString()
}

func (v ValueInfo) shapeString() string {
	if v.UnknownRank {
		return "[?]"
	}
	parts := make([]string, len(v.Dims))
	for i, d := range v.Dims {
		switch {
		case d >= 0:
			parts[i] = fmt.Sprint(d)
		case v.DimNames[i] != "":
			parts[i] = v.DimNames[i]
		default:
			parts[i] = "?"
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// static reports whether every dim is known.
func (v ValueInfo) static() bool {
	if v.UnknownRank {
		return false
	}
	for _, d := range v.Dims {
		if d < 0 {
			return false
		}
	}
	return true
}

// signature is what a session needs to know about a model before ORT runs it.
type signature struct {
	graphName string
	inputs    []ValueInfo // graph inputs that no initializer backs
	outputs   []ValueInfo
	metadata  map[string]string
}

// parseSignature reads a serialized ONNX ModelProto's graph name, inputs,
// outputs and metadata_props. It reads the protobuf directly rather than
// asking ORT (GetInputOutputInfoWithONNXData builds a throwaway session,
// which doubles load time and peak memory for a model that carries its
// weights); initializers are skipped over without being decoded.
func parseSignature(model []byte) (*signature, error) {
	sig := &signature{metadata: map[string]string{}}
	var graph []byte
	err := walk(model, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch {
		case num == 7 && typ == protowire.BytesType: // graph
			graph = v
		case num == 14 && typ == protowire.BytesType: // metadata_props
			var k, val string
			if err := walk(v, func(n protowire.Number, t protowire.Type, b []byte, _ uint64) error {
				if t == protowire.BytesType && n == 1 {
					k = string(b)
				} else if t == protowire.BytesType && n == 2 {
					val = string(b)
				}
				return nil
			}); err != nil {
				return fmt.Errorf("metadata_props: %w", err)
			}
			sig.metadata[k] = val
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("not an ONNX ModelProto: %w", err)
	}
	if graph == nil {
		return nil, errors.New("ModelProto has no graph (is this an ONNX model?)")
	}
	initialized := map[string]bool{}
	var ins, outs [][]byte
	err = walk(graph, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 2:
			sig.graphName = string(v)
		case 5: // initializer: TensorProto, name is field 8
			return walk(v, func(n protowire.Number, t protowire.Type, b []byte, _ uint64) error {
				if n == 8 && t == protowire.BytesType {
					initialized[string(b)] = true
				}
				return nil
			})
		case 11:
			ins = append(ins, v)
		case 12:
			outs = append(outs, v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("GraphProto: %w", err)
	}
	for _, b := range ins {
		vi, err := parseValueInfo(b)
		if err != nil {
			return nil, fmt.Errorf("graph input: %w", err)
		}
		if !initialized[vi.Name] {
			sig.inputs = append(sig.inputs, vi)
		}
	}
	for _, b := range outs {
		vi, err := parseValueInfo(b)
		if err != nil {
			return nil, fmt.Errorf("graph output: %w", err)
		}
		sig.outputs = append(sig.outputs, vi)
	}
	return sig, nil
}

// parseValueInfo decodes a ValueInfoProto whose type is a tensor.
func parseValueInfo(b []byte) (ValueInfo, error) {
	var vi ValueInfo
	var typ []byte
	err := walk(b, func(n protowire.Number, t protowire.Type, v []byte, _ uint64) error {
		if t == protowire.BytesType && n == 1 {
			vi.Name = string(v)
		} else if t == protowire.BytesType && n == 2 {
			typ = v
		}
		return nil
	})
	if err != nil {
		return vi, err
	}
	var tensor []byte
	kind := "no type"
	err = walk(typ, func(n protowire.Number, t protowire.Type, v []byte, _ uint64) error {
		switch n {
		case 1:
			tensor, kind = v, ""
		case 4:
			kind = "a sequence"
		case 5:
			kind = "a map"
		case 8:
			kind = "a sparse tensor"
		case 9:
			kind = "an optional"
		}
		return nil
	})
	if err != nil {
		return vi, fmt.Errorf("%q: TypeProto: %w", vi.Name, err)
	}
	if tensor == nil {
		return vi, fmt.Errorf("%q has %s; only dense tensors are supported", vi.Name, kind)
	}
	var elem int32
	var shape []byte
	hasShape := false
	err = walk(tensor, func(n protowire.Number, t protowire.Type, v []byte, x uint64) error {
		if n == 1 && t == protowire.VarintType {
			elem = int32(x)
		} else if n == 2 && t == protowire.BytesType {
			shape, hasShape = v, true
		}
		return nil
	})
	if err != nil {
		return vi, fmt.Errorf("%q: TypeProto.Tensor: %w", vi.Name, err)
	}
	if vi.DType = dtypeFromONNX(elem); vi.DType == Undefined {
		return vi, fmt.Errorf("%q has ONNX elem_type %d, which pz does not support", vi.Name, elem)
	}
	if !hasShape {
		vi.UnknownRank = true
		return vi, nil
	}
	vi.Dims = []int64{}
	vi.DimNames = []string{}
	err = walk(shape, func(n protowire.Number, t protowire.Type, v []byte, _ uint64) error {
		if n != 1 || t != protowire.BytesType {
			return nil
		}
		d, name := int64(-1), ""
		if err := walk(v, func(n protowire.Number, t protowire.Type, b []byte, x uint64) error {
			if n == 1 && t == protowire.VarintType {
				d = int64(x)
			} else if n == 2 && t == protowire.BytesType {
				name = string(b)
			}
			return nil
		}); err != nil {
			return err
		}
		vi.Dims = append(vi.Dims, d)
		vi.DimNames = append(vi.DimNames, name)
		return nil
	})
	if err != nil {
		return vi, fmt.Errorf("%q: TensorShapeProto: %w", vi.Name, err)
	}
	return vi, nil
}

// walk calls fn for each field of a protobuf message: bytes fields get v,
// varints get x; fixed-width fields and groups are skipped.
func walk(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("bad tag: %w", protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if typ == protowire.BytesType || typ == protowire.VarintType {
			if err := fn(num, typ, v, x); err != nil {
				return err
			}
		}
	}
	return nil
}
