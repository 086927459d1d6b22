package export_test

import (
	"testing"

	"pz/export"
	"pz/export/exporttest"
)

// TestLogSoftmaxPickVJP checks LogSoftmax's rule when the log-softmax only
// feeds GatherElements (the sparse form), when it also feeds something
// else (the general form), and along a non-last axis.
func TestLogSoftmaxPickVJP(t *testing.T) {
	idx := func(g G, shape []int64, v []int64) X { return g.Const(export.TensorI64(shape, v)) }
	cases := []struct {
		name   string
		inputs []exporttest.Input
		build  func(g G, x []X) X
	}{
		{"pick", []exporttest.Input{in("a", 2, 3, 5)}, func(g G, x []X) X {
			return g.GatherElements(g.LogSoftmax(x[0], -1), idx(g, []int64{2, 3, 1}, []int64{0, 4, 2, 4, 1, 1}), -1)
		}},
		{"pick-two-per-row", []exporttest.Input{in("a", 3, 4)}, func(g G, x []X) X {
			return g.GatherElements(g.LogSoftmax(x[0], 1), idx(g, []int64{3, 2}, []int64{0, 3, 2, 2, 1, 0}), 1)
		}},
		{"pick-axis0", []exporttest.Input{in("a", 4, 3)}, func(g G, x []X) X {
			return g.GatherElements(g.LogSoftmax(x[0], 0), idx(g, []int64{1, 3}, []int64{3, 0, 2}), 0)
		}},
		{"pick-and-entropy", []exporttest.Input{in("a", 2, 5)}, func(g G, x []X) X {
			l := g.LogSoftmax(x[0], -1)
			p := g.GatherElements(l, idx(g, []int64{2, 1}, []int64{1, 3}), -1)
			return g.Add(p, g.ReduceSum(g.Mul(g.Exp(l), l), []int64{-1}, true))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			exporttest.GradCheck(t, "logsoftmax_"+c.name, 5, c.inputs, c.build)
		})
	}
}

// TestLogSoftmaxPickIsSparse: the gradient of a picked log-softmax is one
// scatter onto −softmax·Σu, not a subtraction from a scattered zero tensor.
func TestLogSoftmaxPickIsSparse(t *testing.T) {
	g := export.NewGraph("sparse")
	x := g.Input("x", export.Float32, export.S(4, 6))
	l := g.LogSoftmax(x, -1)
	p := g.GatherElements(l, g.Const(export.TensorI64([]int64{4, 1}, []int64{0, 5, 2, 1})), -1)
	d := g.Grad(g.ReduceSum(p, nil, false), x)[0]
	if n := d.Node(); n == nil || n.Op != "ScatterElements" || n.Inputs[0].Node() == nil || n.Inputs[0].Node().Op != "Mul" {
		t.Fatalf("gradient made by %v, want ScatterElements onto a Mul", d.Node())
	}
}
