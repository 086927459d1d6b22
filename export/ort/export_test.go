package ort_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"pz/export"
	"pz/export/ort"
)

// TestExportGraph runs a graph made by pz/export (symbolic batch dim,
// initializer weights, metadata) and compares it with a Go matmul.
func TestExportGraph(t *testing.T) {
	lib, err := ort.FindLibrary("")
	if err != nil {
		t.Skip(err) // TestMain already failed the run under CI
	}
	rt, err := ort.Init(ort.Options{LibraryPath: lib})
	if err != nil {
		t.Fatal(err)
	}
	const k, n = 5, 3
	rng := rand.New(rand.NewPCG(1, 2))
	w := make([]float32, k*n)
	for i := range w {
		w[i] = rng.Float32()
	}
	g := export.NewGraph("export_matmul")
	g.SetMetadata("pz.test", "yes")
	x := g.Input("x", export.Float32, export.S("batch", k))
	g.Output("y", g.MatMul(x, g.Initializer("w", export.TensorF32([]int64{k, n}, w))))
	m, err := g.Build()
	if err != nil {
		t.Fatal(err)
	}
	onnx, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s, err := rt.NewSession(onnx, ort.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Name() != "export_matmul" || len(s.Inputs()) != 1 || s.Inputs()[0].String() != "x: float32[batch 5]" {
		t.Errorf("signature: name %q inputs %v", s.Name(), s.Inputs())
	}
	if md := s.Metadata(); md["pz.test"] != "yes" {
		t.Logf("metadata not stamped by export (yet): %v", md)
	}
	const batch = 4
	xs := make([]float32, batch*k)
	for i := range xs {
		xs[i] = rng.Float32()*2 - 1
	}
	out, err := s.Run(context.Background(), map[string]*ort.Tensor{"x": ort.F32([]int64{batch, k}, xs)})
	if err != nil {
		t.Fatal(err)
	}
	y := out["y"]
	if len(y.Shape) != 2 || y.Shape[0] != batch || y.Shape[1] != n {
		t.Fatalf("y shape %v", y.Shape)
	}
	for i := range batch {
		for j := range n {
			var want float64
			for l := range k {
				want += float64(xs[i*k+l]) * float64(w[l*n+j])
			}
			if got := float64(y.Float32s()[i*n+j]); math.Abs(got-want) > 1e-5 {
				t.Errorf("y[%d,%d] = %v, want %v", i, j, got, want)
			}
		}
	}
}
