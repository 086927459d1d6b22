package export_test

import (
	"math"
	"strings"
	"testing"

	"pz/export"
	"pz/export/exporttest"
	"pz/export/ort"
)

// TestGradHandDerived checks gradients against values derived by hand, for
// the cases finite differences cannot judge (stop-gradient changes the
// function's derivative by design; float32 casts round the perturbation).
func TestGradHandDerived(t *testing.T) {
	a := []float64{0.5, -1, 2}
	cases := []struct {
		name  string
		build func(g G, x X) X // scalar loss
		want  []float64
	}{
		// d/da sum(a * stop(a)) = stop(a) = a
		{"stop-gradient", func(g G, x X) X { return g.ReduceSum(g.Mul(x, g.StopGradient(x)), nil, false) }, a},
		// d/da sum(2 exp(a)) = 2 exp(a)
		{"exp", func(g G, x X) X { return g.ReduceSum(g.Mul(g.ScalarLike(x, 2), g.Exp(x)), nil, false) },
			[]float64{2 * math.Exp(0.5), 2 * math.Exp(-1), 2 * math.Exp(2)}},
		// casting through float32 and back: gradient 3 (values are exact in f32)
		{"cast-f32", func(g G, x X) X {
			return g.ReduceSum(g.Mul(g.ScalarLike(x, 3), g.Cast(g.Cast(x, export.Float32), export.Float64)), nil, false)
		}, []float64{3, 3, 3}},
		// gather with repeated ids accumulates: ids [2 2 0 2] -> counts [1 0 3]
		{"gather-repeats", func(g G, x X) X {
			return g.ReduceSum(g.Gather(x, g.Const(export.TensorI64([]int64{4}, []int64{2, 2, 0, 2})), 0), nil, false)
		}, []float64{1, 0, 3}},
		// a loss that does not depend on a: zeros
		{"unreachable", func(g G, x X) X { return g.ReduceSum(g.StopGradient(x), nil, false) }, []float64{0, 0, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := export.NewGraph("hand_" + tc.name)
			x := g.Input("a", export.Float64, export.S(3))
			var grad X
			if err := export.Try(func() { grad = g.Grad(tc.build(g, x), x)[0] }); err != nil {
				t.Fatal(err)
			}
			g.Output("g", grad)
			out := exporttest.Run(t, g, map[string]*ort.Tensor{"a": ort.F64([]int64{3}, a)})
			if err := exporttest.AllClose(out["g"].Data.([]float64), tc.want, 1e-12, 1e-12); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestGradErrors(t *testing.T) {
	cases := []struct {
		name  string
		build func(g G, x X) X
		want  string
	}{
		{"no-rule", func(g G, x X) X {
			y := g.Op("Erfc", "", []X{x}, nil, export.OutType{DType: x.DType(), Shape: x.Shape()})[0]
			return g.ReduceSum(y, nil, false)
		}, `no VJP rule for op "Erfc"`},
		{"no-rule-contrib", func(g G, x X) X {
			y := g.Op("FastGelu", export.DomainMicrosoft, []X{x}, nil, export.OutType{DType: x.DType(), Shape: x.Shape()})[0]
			return g.ReduceSum(y, nil, false)
		}, `no VJP rule for op "com.microsoft.FastGelu"`},
		{"non-scalar-loss", func(g G, x X) X { return x }, "must have one element"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := export.NewGraph("err")
			x := g.Input("a", export.Float32, export.S(3))
			_, err := g.GradE(tc.build(g, x), x)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	cases := []struct {
		name  string
		build func(g G)
		want  string
	}{
		{"matmul-inner", func(g G) {
			g.MatMul(g.Input("a", export.Float32, export.S(2, 3)), g.Input("b", export.Float32, export.S(4, 5)))
		}, "inner dimensions differ (3 vs 4)"},
		{"broadcast", func(g G) {
			g.Add(g.Input("a", export.Float32, export.S(2, 3)), g.Input("b", export.Float32, export.S(4)))
		}, "cannot be broadcast"},
		{"dtype", func(g G) {
			g.Mul(g.Input("a", export.Float32, export.S(2)), g.Input("b", export.Float64, export.S(2)))
		}, "dtype mismatch"},
		{"reshape", func(g G) { g.Reshape(g.Input("a", export.Float32, export.S(2, 3)), 4, 2) }, "6 elements cannot become 8"},
		{"duplicate-name", func(g G) {
			g.Input("a", export.Float32, export.S(2))
			g.Input("a", export.Float32, export.S(2))
		}, `name "a" is used twice`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := export.Try(func() { tc.build(export.NewGraph("bad")) })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestSymbolicShapes checks shape inference and gradients with dimensions
// that are only known at run time, run at two different sizes.
func TestSymbolicShapes(t *testing.T) {
	g := export.NewGraph("sym")
	x := g.Input("x", export.Float64, export.S("b", "t", 4))
	w := g.Input("w", export.Float64, export.S(4, 3))
	h := g.MatMul(x, w)                                       // [b,t,3]
	s := g.Slice(h, []int64{0}, []int64{-1}, []int64{1}, nil) // [b,t[0:-1],3]
	lp := g.LogSoftmax(s, -1)
	loss := g.ReduceMean(g.Reshape(lp, -1), nil, false)
	if got := h.Shape().String(); got != "[b,t,3]" {
		t.Errorf("matmul shape %s", got)
	}
	if got := g.Reshape(h, -1, 3).Shape().String(); got != "[b*t,3]" {
		t.Errorf("reshape shape %s", got)
	}
	gs, err := g.GradE(loss, x, w)
	if err != nil {
		t.Fatal(err)
	}
	g.Output("loss", loss)
	g.Output("dx", gs[0])
	g.Output("dw", gs[1])
	sess := exporttest.Session(t, g)
	for _, bt := range [][2]int64{{1, 2}, {2, 5}} {
		n := bt[0] * bt[1] * 4
		xd := make([]float64, n)
		for i := range xd {
			xd[i] = math.Sin(float64(i))
		}
		wd := []float64{.1, .2, .3, -.4, .5, -.6, .7, .8, -.9, 1, 1.1, -1.2}
		out, err := sess.Run(t.Context(), map[string]*ort.Tensor{
			"x": ort.F64([]int64{bt[0], bt[1], 4}, xd), "w": ort.F64([]int64{4, 3}, wd)})
		if err != nil {
			t.Fatal(err)
		}
		if got := out["dx"].Shape; got[0] != bt[0] || got[1] != bt[1] {
			t.Errorf("dx shape %v for %v", got, bt)
		}
		// The last time step is sliced away, so its gradient must be zero.
		dx := out["dx"].Data.([]float64)
		for b := range bt[0] {
			for k := range int64(4) {
				if v := dx[(b*bt[1]+bt[1]-1)*4+k]; v != 0 {
					t.Errorf("dx at last step = %g, want 0", v)
				}
			}
		}
	}
}
