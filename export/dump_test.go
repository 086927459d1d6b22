package export_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"pz/export"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name.golden (go test -update rewrites it).
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		os.WriteFile(p+".got", []byte(got), 0o644)
		t.Errorf("%s differs from %s (got written to %s.got)", name, p, p)
	}
}

// TestDumpGolden pins the text form of a small graph and of the gradient
// graph autodiff derives for it: a change in shape inference, naming or a
// VJP rule's emitted nodes shows up as a diff.
func TestDumpGolden(t *testing.T) {
	g := export.NewGraph("linear_softmax")
	x := g.Input("x", export.Float32, export.S("batch", 4))
	w := g.Input("w", export.Float32, export.S(3, 4))
	b := g.Initializer("b", export.TensorF32([]int64{3}, []float32{0.1, 0.2, 0.3}))
	y := g.LogSoftmax(g.Add(g.MatMul(x, g.Transpose(w, 1, 0)), b), -1)
	loss := g.Neg(g.ReduceMean(y, nil, false))
	gr, err := g.GradE(loss, w)
	if err != nil {
		t.Fatal(err)
	}
	g.Output("loss", loss)
	g.Output("grad_w", gr[0])
	if _, err := g.Build(); err != nil {
		t.Fatal(err)
	}
	golden(t, "linear_softmax", g.Dump())
}
