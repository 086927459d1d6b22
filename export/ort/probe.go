package ort

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Probe loads and runs a one-node graph (y = Identity(x)) on device ("" for
// the Runtime's), so that a missing CUDA provider or toolkit is reported
// before real work starts: ORT loads the provider libraries only when a
// session asks for them.
func (rt *Runtime) Probe(ctx context.Context, device string) error {
	return rt.probe(ctx, SessionOptions{Name: "probe", Device: device, IntraOpThreads: 1})
}

func (rt *Runtime) probe(ctx context.Context, so SessionOptions) error {
	device := deviceOr(so.Device, rt.device)
	s, err := rt.NewSession(identityModel(), so)
	if err != nil {
		return fmt.Errorf("probe device %s: %w", device, err)
	}
	defer s.Close()
	out, err := s.Run(ctx, map[string]*Tensor{"x": F32([]int64{2}, []float32{1, 2})})
	if err != nil {
		return fmt.Errorf("probe device %s: %w", device, err)
	}
	if got := out["y"].Float32s(); got[0] != 1 || got[1] != 2 {
		return fmt.Errorf("probe device %s: Identity returned %v, want [1 2]", device, got)
	}
	return nil
}

func deviceOr(d, def string) string {
	if d == "" {
		return def
	}
	return d
}

// identityModel encodes an ONNX model (IR 8, opset 17) with one node,
// y = Identity(x), x and y float32[2]. pz/export cannot be used here (it
// sits above this package).
func identityModel() []byte {
	str := func(b []byte, n protowire.Number, s string) []byte {
		b = protowire.AppendTag(b, n, protowire.BytesType)
		return protowire.AppendString(b, s)
	}
	sub := func(b []byte, n protowire.Number, m []byte) []byte {
		b = protowire.AppendTag(b, n, protowire.BytesType)
		return protowire.AppendBytes(b, m)
	}
	varint := func(b []byte, n protowire.Number, v uint64) []byte {
		b = protowire.AppendTag(b, n, protowire.VarintType)
		return protowire.AppendVarint(b, v)
	}
	valueInfo := func(name string) []byte {
		shape := sub(nil, 1, varint(nil, 1, 2))               // dim {dim_value: 2}
		tensor := sub(varint(nil, 1, 1), 2, shape)            // elem_type FLOAT, shape
		return sub(str(nil, 1, name), 2, sub(nil, 1, tensor)) // name, type{tensor_type}
	}
	node := str(str(str(nil, 1, "x"), 2, "y"), 4, "Identity")
	graph := sub(nil, 1, node)
	graph = str(graph, 2, "probe")
	graph = sub(graph, 11, valueInfo("x"))
	graph = sub(graph, 12, valueInfo("y"))
	model := varint(nil, 1, 8)
	model = sub(model, 7, graph)
	return sub(model, 8, varint(str(nil, 1, ""), 2, 17))
}
