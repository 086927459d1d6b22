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

// TestRewrittenGradients checks, by finite differences, the two patterns
// the autodiff rewrites: the gradient of a weight used transposed (x·Wᵀ,
// written d2ᵀ·a2 without a transpose back) and a tied table used both by
// a Gather and a MatMul (the Gather's scatter-add goes into the MatMul's
// gradient).
func TestRewrittenGradients(t *testing.T) {
	ids := func(g G) X { return g.Const(export.TensorI64([]int64{2, 3}, []int64{0, 3, 3, 1, 4, 0})) }
	cases := []struct {
		name   string
		inputs []exporttest.Input
		build  func(g G, x []X) X
	}{
		{"transposed-weight", []exporttest.Input{in("x", 2, 3, 4), in("w", 5, 4)}, func(g G, x []X) X {
			y := g.MatMul(x[0], g.Transpose(x[1], 1, 0))
			return g.ReduceSum(g.Mul(y, y), nil, false)
		}},
		{"tied-table", []exporttest.Input{in("e", 5, 4)}, func(g G, x []X) X {
			h := g.Tanh(g.Gather(x[0], ids(g), 0))    // [2,3,4]
			y := g.MatMul(h, g.Transpose(x[0], 1, 0)) // [2,3,5]
			return g.ReduceSum(g.Mul(y, y), nil, false)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			exporttest.GradCheck(t, "rewrite_"+c.name, 7, c.inputs, c.build)
		})
	}
}

// TestRewrittenGradientShapes: the gradient of a transposed weight comes
// straight out of a MatMul, and a tied table's gradient is one scatter
// into the dense part (no Transpose, no full-size Add).
func TestRewrittenGradientShapes(t *testing.T) {
	g := export.NewGraph("rewrite")
	x := g.Input("x", export.Float32, export.S(2, 3, 4))
	e := g.Input("e", export.Float32, export.S(5, 4))
	ids := g.Const(export.TensorI64([]int64{2, 3}, []int64{0, 3, 3, 1, 4, 0}))
	w := g.Input("w", export.Float32, export.S(6, 4))
	loss := g.ReduceSum(g.MatMul(g.Add(x, g.Gather(e, ids, 0)), g.Transpose(e, 1, 0)), nil, false)
	gr := g.Grad(loss, e)[0]
	if n := gr.Node(); n == nil || n.Op != "ScatterND" || n.Inputs[0].Node() == nil || n.Inputs[0].Node().Op != "MatMul" {
		t.Errorf("tied table gradient made by %v, want ScatterND into a MatMul", gr.Node())
	}
	loss2 := g.ReduceSum(g.MatMul(x, g.Transpose(w, 1, 0)), nil, false)
	gw := g.Grad(loss2, w)[0]
	if n := gw.Node(); n == nil || n.Op != "MatMul" {
		t.Errorf("transposed weight gradient made by %v, want a MatMul", gw.Node())
	}
	if a := g.Transpose(g.Transpose(x, 2, 0, 1), 1, 2, 0); a != x {
		t.Errorf("a transpose of its inverse is %v, want x", a)
	}
}
