// Package exporttest holds test helpers for graphs built with pz/export:
// running a graph through ONNX Runtime and checking its gradients against
// central finite differences in float64, run through ORT itself. Model
// code (pz/models) uses the same helpers to check whole graphs.
package exporttest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"pz/export"
	"pz/export/ort"
)

// runtime is the process's ONNX Runtime (ORT itself is process-global).
var runtime struct {
	once sync.Once
	rt   *ort.Runtime
	err  error
}

// Runtime returns the shared ONNX Runtime. Without a library it skips the
// test, except under CI (env CI set), where a missing library must fail:
// .ci/run installs it. PZ_DEVICE=cuda makes every session of the tests and
// benchmarks that use it run on the GPU (scripts/gpu-bench.sh).
func Runtime(tb testing.TB) *ort.Runtime {
	tb.Helper()
	runtime.once.Do(func() {
		device, err := ort.ResolveDevice("")
		if err != nil {
			runtime.err = err
			return
		}
		if _, err := ort.FindDeviceLibrary(device, ""); err != nil {
			runtime.err = err
			return
		}
		runtime.rt, runtime.err = ort.Init(ort.Options{Device: device})
	})
	if runtime.err != nil {
		if os.Getenv("CI") == "" {
			tb.Skipf("ONNX Runtime not available: %v", runtime.err)
		}
		tb.Fatalf("ONNX Runtime: %v", runtime.err)
	}
	return runtime.rt
}

// Session builds g and loads it.
func Session(tb testing.TB, g *export.Graph) *ort.Session {
	tb.Helper()
	m, err := g.Build()
	if err != nil {
		tb.Fatalf("build %s: %v", g.Name, err)
	}
	b, err := m.Marshal()
	if err != nil {
		tb.Fatalf("marshal %s: %v", g.Name, err)
	}
	// Basic optimization only: extended fusions (e.g. QuickGelu from
	// x·sigmoid(x)) have float32-only kernels and break float64 checks.
	s, err := Runtime(tb).NewSession(b, ort.SessionOptions{Name: g.Name, IntraOpThreads: 1, Optimization: ort.OptimizeBasic})
	if err != nil {
		tb.Fatalf("load %s: %v\n%s", g.Name, err, g.Dump())
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// Run builds, loads and runs g once.
func Run(tb testing.TB, g *export.Graph, inputs map[string]*ort.Tensor) map[string]*ort.Tensor {
	tb.Helper()
	out, err := Session(tb, g).Run(context.Background(), inputs)
	if err != nil {
		tb.Fatalf("run %s: %v", g.Name, err)
	}
	return out
}

// Input describes one float64 input of a gradient check. Data, when nil,
// is drawn uniformly from [Lo, Hi) (default [-1, 1)).
type Input struct {
	Name   string
	Shape  []int64
	Data   []float64
	Lo, Hi float64
	// Const marks an input that is fed but not differentiated (e.g. ints
	// given as float, or a mask).
	Const bool
}

// Tolerance of CheckGrad: max |analytic − numeric| / max(|numeric|, 1).
// Central differences with step 1e-6 in float64 are accurate to ~1e-9 for
// smooth functions of O(1) values, so 1e-6 leaves room without hiding a
// wrong rule (a wrong rule is off by O(1)).
const Tolerance = 1e-6

// GradCheck builds build(g, xs) over float64 inputs, reduces its output y
// to a scalar with a fixed random cotangent w (loss = sum(y·w), so every
// output element's gradient is exercised), derives the gradient graph with
// export's autodiff, runs it through ORT, and compares every gradient
// element with central finite differences of the same loss computed by
// ORT. It returns the largest relative error found.
func GradCheck(t testing.TB, name string, seed uint64, inputs []Input, build func(g *export.Graph, xs []*export.Value) *export.Value) float64 {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	g := export.NewGraph(name)
	xs := make([]*export.Value, len(inputs))
	feeds := map[string]*ort.Tensor{}
	var wrt []*export.Value
	for i, in := range inputs {
		n := int64(1)
		for _, d := range in.Shape {
			n *= d
		}
		data := in.Data
		if data == nil {
			lo, hi := in.Lo, in.Hi
			if lo == 0 && hi == 0 {
				lo, hi = -1, 1
			}
			data = make([]float64, n)
			for j := range data {
				data[j] = lo + (hi-lo)*rng.Float64()
			}
		}
		if int64(len(data)) != n {
			t.Fatalf("%s: input %s has %d values for shape %v", name, in.Name, len(data), in.Shape)
		}
		xs[i] = g.Input(in.Name, export.Float64, export.StaticShape(in.Shape))
		feeds[in.Name] = ort.F64(in.Shape, append([]float64(nil), data...))
		if !in.Const {
			wrt = append(wrt, xs[i])
		}
	}
	var loss *export.Value
	var grads []*export.Value
	if err := export.Try(func() {
		y := build(g, xs)
		w := make([]float64, max(1, y.Shape().NumElements()))
		for j := range w {
			w[j] = rng.Float64()*2 - 1
		}
		wv := g.Const(export.TensorF64(y.Shape().Ints(), w))
		loss = g.ReduceSum(g.Mul(y, wv), nil, false)
		grads = g.Grad(loss, wrt...)
	}); err != nil {
		t.Fatalf("%s: build: %v", name, err)
	}
	g.Output("loss", loss)
	for i, d := range grads {
		g.Output("grad_"+wrt[i].Name(), d)
	}
	sess := Session(t, g)
	ctx := context.Background()
	out, err := sess.Run(ctx, feeds)
	if err != nil {
		t.Fatalf("%s: run: %v\n%s", name, err, g.Dump())
	}
	lossAt := func() float64 {
		o, err := sess.Run(ctx, feeds, "loss")
		if err != nil {
			t.Fatalf("%s: run: %v", name, err)
		}
		return o["loss"].Data.([]float64)[0]
	}
	const h = 1e-6
	worst := 0.0
	for _, x := range wrt {
		an := out["grad_"+x.Name()].Data.([]float64)
		data := feeds[x.Name()].Data.([]float64)
		for j := range data {
			orig := data[j]
			data[j] = orig + h
			lp := lossAt()
			data[j] = orig - h
			lm := lossAt()
			data[j] = orig
			num := (lp - lm) / (2 * h)
			rel := math.Abs(an[j]-num) / math.Max(math.Abs(num), 1)
			if math.IsNaN(an[j]) || rel > worst {
				worst = rel
				if math.IsNaN(an[j]) {
					worst = math.Inf(1)
				}
			}
			if rel > Tolerance || math.IsNaN(an[j]) {
				t.Errorf("%s: d loss/d %s[%d]: autodiff %.10g, finite difference %.10g (rel err %.2g)", name, x.Name(), j, an[j], num, rel)
				return worst
			}
		}
	}
	return worst
}

// AllClose reports the first element where got and want differ by more
// than atol + rtol·|want|.
func AllClose(got, want []float64, atol, rtol float64) error {
	if len(got) != len(want) {
		return fmt.Errorf("length %d, want %d", len(got), len(want))
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > atol+rtol*math.Abs(want[i]) || math.IsNaN(got[i]) != math.IsNaN(want[i]) {
			return fmt.Errorf("element %d: got %.9g, want %.9g", i, got[i], want[i])
		}
	}
	return nil
}
