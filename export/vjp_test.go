package export_test

import (
	"testing"

	"pz/export"
	"pz/export/exporttest"
)

type X = *export.Value
type G = *export.Graph

func in(name string, shape ...int64) exporttest.Input {
	return exporttest.Input{Name: name, Shape: shape}
}

func pos(name string, shape ...int64) exporttest.Input {
	return exporttest.Input{Name: name, Shape: shape, Lo: 0.5, Hi: 2}
}

// TestVJPFiniteDifferences checks every VJP rule against central finite
// differences in float64, run through ONNX Runtime, on random inputs
// including broadcast cases. Tolerance: exporttest.Tolerance (1e-6 relative).
func TestVJPFiniteDifferences(t *testing.T) {
	cases := []struct {
		name   string
		inputs []exporttest.Input
		build  func(g G, x []X) X
	}{
		{"Add", []exporttest.Input{in("a", 2, 3), in("b", 2, 3)}, func(g G, x []X) X { return g.Add(x[0], x[1]) }},
		{"Add/broadcast-row", []exporttest.Input{in("a", 2, 3), in("b", 3)}, func(g G, x []X) X { return g.Add(x[0], x[1]) }},
		{"Add/broadcast-both", []exporttest.Input{in("a", 2, 1, 4), in("b", 3, 1)}, func(g G, x []X) X { return g.Add(x[0], x[1]) }},
		{"Sub/broadcast", []exporttest.Input{in("a", 4, 1), in("b", 1, 3)}, func(g G, x []X) X { return g.Sub(x[0], x[1]) }},
		{"Mul/broadcast", []exporttest.Input{in("a", 2, 3, 4), in("b", 1, 4)}, func(g G, x []X) X { return g.Mul(x[0], x[1]) }},
		{"Mul/scalar", []exporttest.Input{in("a", 3, 2), in("b")}, func(g G, x []X) X { return g.Mul(x[0], x[1]) }},
		{"Mul/same-input", []exporttest.Input{in("a", 5)}, func(g G, x []X) X { return g.Mul(x[0], x[0]) }},
		{"Div/broadcast", []exporttest.Input{in("a", 2, 3), pos("b", 2, 1)}, func(g G, x []X) X { return g.Div(x[0], x[1]) }},
		{"Pow", []exporttest.Input{pos("a", 2, 3), in("b", 3)}, func(g G, x []X) X { return g.Pow(x[0], x[1]) }},
		{"Max/broadcast", []exporttest.Input{in("a", 3, 4), in("b", 4)}, func(g G, x []X) X { return g.Max(x[0], x[1]) }},
		{"Min", []exporttest.Input{in("a", 3, 4), in("b", 3, 4)}, func(g G, x []X) X { return g.Min(x[0], x[1]) }},
		{"Neg", []exporttest.Input{in("a", 4)}, func(g G, x []X) X { return g.Neg(x[0]) }},
		{"Exp", []exporttest.Input{in("a", 2, 3)}, func(g G, x []X) X { return g.Exp(x[0]) }},
		{"Log", []exporttest.Input{pos("a", 2, 3)}, func(g G, x []X) X { return g.Log(x[0]) }},
		{"Sqrt", []exporttest.Input{pos("a", 2, 3)}, func(g G, x []X) X { return g.Sqrt(x[0]) }},
		{"Reciprocal", []exporttest.Input{pos("a", 2, 3)}, func(g G, x []X) X { return g.Reciprocal(x[0]) }},
		{"Cos", []exporttest.Input{in("a", 2, 3)}, func(g G, x []X) X { return g.Cos(x[0]) }},
		{"Sin", []exporttest.Input{in("a", 2, 3)}, func(g G, x []X) X { return g.Sin(x[0]) }},
		{"Sigmoid", []exporttest.Input{in("a", 2, 3)}, func(g G, x []X) X { return g.Sigmoid(x[0]) }},
		{"Tanh", []exporttest.Input{in("a", 2, 3)}, func(g G, x []X) X { return g.Tanh(x[0]) }},
		{"Abs", []exporttest.Input{pos("a", 5)}, func(g G, x []X) X { return g.Abs(g.Neg(x[0])) }},
		{"Relu", []exporttest.Input{pos("a", 5)}, func(g G, x []X) X { return g.Relu(g.Sub(x[0], g.ScalarLike(x[0], 1.2))) }},
		{"Softmax/last", []exporttest.Input{in("a", 2, 5)}, func(g G, x []X) X { return g.Softmax(x[0], -1) }},
		{"Softmax/axis0", []exporttest.Input{in("a", 3, 2)}, func(g G, x []X) X { return g.Softmax(x[0], 0) }},
		{"LogSoftmax", []exporttest.Input{in("a", 2, 3, 5)}, func(g G, x []X) X { return g.LogSoftmax(x[0], -1) }},
		{"MatMul/2d", []exporttest.Input{in("a", 3, 4), in("b", 4, 2)}, func(g G, x []X) X { return g.MatMul(x[0], x[1]) }},
		{"MatMul/batched", []exporttest.Input{in("a", 2, 3, 4), in("b", 2, 4, 5)}, func(g G, x []X) X { return g.MatMul(x[0], x[1]) }},
		{"MatMul/broadcast-weight", []exporttest.Input{in("a", 2, 3, 4), in("b", 4, 5)}, func(g G, x []X) X { return g.MatMul(x[0], x[1]) }},
		{"MatMul/broadcast-batch", []exporttest.Input{in("a", 2, 1, 3, 4), in("b", 3, 4, 2)}, func(g G, x []X) X { return g.MatMul(x[0], x[1]) }},
		{"ReduceSum/keep", []exporttest.Input{in("a", 2, 3, 4)}, func(g G, x []X) X { return g.ReduceSum(x[0], []int64{1}, true) }},
		{"ReduceSum/drop", []exporttest.Input{in("a", 2, 3, 4)}, func(g G, x []X) X { return g.ReduceSum(x[0], []int64{0, 2}, false) }},
		{"ReduceMean", []exporttest.Input{in("a", 2, 3, 4)}, func(g G, x []X) X { return g.ReduceMean(x[0], []int64{-1}, false) }},
		{"ReduceMax", []exporttest.Input{in("a", 3, 4)}, func(g G, x []X) X { return g.ReduceMax(x[0], []int64{1}, false) }},
		{"ReduceMin", []exporttest.Input{in("a", 3, 4)}, func(g G, x []X) X { return g.ReduceMin(x[0], []int64{0}, true) }},
		{"Reshape", []exporttest.Input{in("a", 2, 6)}, func(g G, x []X) X { return g.Mul(g.Reshape(x[0], 3, -1), g.Reshape(x[0], 3, 4)) }},
		{"Transpose", []exporttest.Input{in("a", 2, 3, 4)}, func(g G, x []X) X { return g.Transpose(x[0], 2, 0, 1) }},
		{"Unsqueeze-Squeeze", []exporttest.Input{in("a", 3, 4)}, func(g G, x []X) X {
			return g.Mul(g.Unsqueeze(x[0], 0), g.Unsqueeze(g.Squeeze(g.Unsqueeze(x[0], 1), 1), 0))
		}},
		{"Slice", []exporttest.Input{in("a", 4, 5)}, func(g G, x []X) X { return g.Slice(x[0], []int64{1, 0}, []int64{3, -1}, []int64{0, 1}, nil) }},
		{"Slice/neg-start", []exporttest.Input{in("a", 6)}, func(g G, x []X) X { return g.Slice(x[0], []int64{-4}, []int64{1 << 62}, nil, nil) }},
		{"Concat", []exporttest.Input{in("a", 2, 3), in("b", 2, 1)}, func(g G, x []X) X { return g.Concat(1, x[0], x[1], x[0]) }},
		{"Split", []exporttest.Input{in("a", 5, 2)}, func(g G, x []X) X {
			p := g.Split(x[0], 0, 2, 3)
			return g.Add(g.ReduceSum(p[0], nil, false), g.ReduceSum(g.Mul(p[1], p[1]), nil, false))
		}},
		{"Split/unused-part", []exporttest.Input{in("a", 4, 3)}, func(g G, x []X) X { return g.Split(x[0], 1, 1, 2)[1] }},
		{"Expand", []exporttest.Input{in("a", 3, 1)}, func(g G, x []X) X { return g.ExpandTo(x[0], 2, 3, 4) }},
		{"Gather/embedding", []exporttest.Input{in("w", 5, 3)}, func(g G, x []X) X {
			ids := g.Const(export.TensorI64([]int64{2, 3}, []int64{1, 4, 1, 0, 4, 4}))
			return g.Gather(x[0], ids, 0)
		}},
		{"Gather/int32", []exporttest.Input{in("w", 4, 2)}, func(g G, x []X) X {
			return g.Gather(x[0], g.Const(export.TensorI32([]int64{3}, []int32{3, 3, 0})), 0)
		}},
		{"GatherElements", []exporttest.Input{in("a", 2, 5)}, func(g G, x []X) X {
			idx := g.Const(export.TensorI64([]int64{2, 3}, []int64{0, 4, 4, 2, 2, 1}))
			return g.GatherElements(g.LogSoftmax(x[0], -1), idx, 1)
		}},
		// Rows 3 and 0 of the data get updates (row 3 twice, accumulated).
		{"ScatterND/add", []exporttest.Input{in("d", 4, 3), in("u", 3, 3)}, func(g G, x []X) X {
			idx := g.Const(export.TensorI64([]int64{3, 1}, []int64{3, 0, 3}))
			return g.Mul(g.ScatterND(x[0], idx, g.Exp(x[1]), "add"), x[0])
		}},
		{"Where", []exporttest.Input{in("a", 2, 3), in("b", 3)}, func(g G, x []X) X {
			c := g.Const(&export.Tensor{DType: export.Bool, Shape: []int64{2, 3}, Data: []bool{true, false, true, false, false, true}})
			return g.Where(c, x[0], x[1])
		}},
		// Through float32 the finite difference drowns in rounding; the
		// float32 path is checked by hand in TestGradHandDerived.
		{"Cast", []exporttest.Input{in("a", 4)}, func(g G, x []X) X { return g.Cast(x[0], export.Float64) }},
		{"Clip", []exporttest.Input{{Name: "a", Shape: []int64{6}, Data: []float64{-0.9, -0.3, 0.1, 0.35, 0.7, 1.5}}}, func(g G, x []X) X {
			return g.Clip(x[0], g.ScalarLike(x[0], -0.5), g.ScalarLike(x[0], 0.5))
		}},
		{"Trilu", []exporttest.Input{in("a", 2, 3, 3)}, func(g G, x []X) X { return g.Trilu(x[0], 0, false) }},
		{"CumSum", []exporttest.Input{in("a", 3, 4)}, func(g G, x []X) X { return g.CumSum(x[0], 1, false, false) }},
		{"CumSum/exclusive-reverse", []exporttest.Input{in("a", 5)}, func(g G, x []X) X { return g.CumSum(x[0], 0, true, true) }},
		{"Fanout", []exporttest.Input{in("a", 3), in("b", 3)}, func(g G, x []X) X {
			s := g.Mul(x[0], x[1])
			return g.Add(g.Exp(s), g.Mul(s, x[0]))
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			worst := exporttest.GradCheck(t, "vjp_"+tc.name, uint64(i+1), tc.inputs, tc.build)
			t.Logf("max relative error %.2g", worst)
		})
	}
}
