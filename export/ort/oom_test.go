package ort

import (
	"context"
	"errors"
	"testing"

	"pz/export"
)

// TestRunOutOfMemory: a run whose node asks ORT for 16 TiB fails with an
// *OOMError naming the node and the size, through ORT itself.
func TestRunOutOfMemory(t *testing.T) {
	g := export.NewGraph("oom")
	n := g.Input("n", export.Int64, export.S(1))
	g.Output("y", g.ReduceSum(g.ConstantOfShape(n, export.Float32, 1, export.S("n")), nil, false))
	m, err := g.Build()
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s := mustSession(t, b, SessionOptions{Name: "oom", IntraOpThreads: 1})
	_, err = s.Run(context.Background(), map[string]*Tensor{"n": I64([]int64{1}, []int64{1 << 42})})
	var oom *OOMError
	if !errors.Is(err, ErrOutOfMemory) || !errors.As(err, &oom) {
		t.Fatalf("got %v, want an out-of-memory error", err)
	}
	if oom.Bytes != 4<<42 || oom.Node == "" || oom.Device != DeviceCPU || oom.Session != "oom" {
		t.Errorf("got %+v", oom)
	}
	// The session is still usable.
	out, err := s.Run(context.Background(), map[string]*Tensor{"n": I64([]int64{1}, []int64{3})})
	if err != nil || out["y"].Float32s()[0] != 3 {
		t.Errorf("after the failure: %v, %v", out, err)
	}
}

func TestOutOfMemoryMessages(t *testing.T) {
	for _, c := range []struct {
		msg   string
		bytes int64
		node  string
		oom   bool
	}{
		{"Non-zero status code returned while running MatMul node. Name:'MatMul_12' Status Message: bfc_arena.cc:360 Failed to allocate memory for requested buffer of size 2147483648", 2147483648, "MatMul_12", true},
		{"CUDA failure 2: out of memory ; GPU=0 ; hostname=h ; file=cuda_allocator.cc", 0, "", true},
		{"Non-zero status code returned while running Gemm node. Name:'g' Status Message: CUBLAS failure 3: CUBLAS_STATUS_ALLOC_FAILED", 0, "g", true},
		{"Non-zero status code returned while running Reshape node. Name:'r' Status Message: invalid shape", 0, "", false},
	} {
		err := outOfMemory("s", DeviceCUDA, c.msg)
		var oom *OOMError
		if got := errors.As(err, &oom); got != c.oom {
			t.Errorf("%q: out of memory %t, want %t", c.msg, got, c.oom)
			continue
		}
		if c.oom && (oom.Bytes != c.bytes || oom.Node != c.node) {
			t.Errorf("%q: %+v", c.msg, oom)
		}
	}
}
