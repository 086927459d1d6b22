package ort

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRunDTypes(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		model []byte
		in    map[string]*Tensor
		want  *Tensor
	}{
		{"add float32", binop("Add", onnxFloat, 2, 3),
			map[string]*Tensor{"x": F32([]int64{2, 3}, []float32{1, 2, 3, 4, 5, 6}), "y": F32([]int64{2, 3}, []float32{10, 20, 30, 40, 50, 60})},
			F32([]int64{2, 3}, []float32{11, 22, 33, 44, 55, 66})},
		{"mul float64", binop("Mul", onnxDouble, 3),
			map[string]*Tensor{"x": F64([]int64{3}, []float64{1.5, -2, 0.25}), "y": F64([]int64{3}, []float64{2, 3, 4})},
			F64([]int64{3}, []float64{3, -6, 1})},
		{"sub int64 dynamic", binop("Sub", onnxInt64, "n"),
			map[string]*Tensor{"x": I64([]int64{4}, []int64{5, 6, 7, 1 << 40}), "y": I64([]int64{4}, []int64{1, 2, 3, 1})},
			I64([]int64{4}, []int64{4, 4, 4, 1<<40 - 1})},
		{"add int32", binop("Add", onnxInt32, 2),
			map[string]*Tensor{"x": I32([]int64{2}, []int32{-1, 7}), "y": I32([]int64{2}, []int32{1, 8})},
			I32([]int64{2}, []int32{0, 15})},
		{"and bool", binop("And", onnxBool, 4),
			map[string]*Tensor{"x": B([]int64{4}, []bool{true, true, false, false}), "y": B([]int64{4}, []bool{true, false, true, false})},
			B([]int64{4}, []bool{true, false, false, false})},
		{"identity int8", unary("Identity", onnxInt8, 3), map[string]*Tensor{"x": I8([]int64{3}, []int8{-128, 0, 127})}, I8([]int64{3}, []int8{-128, 0, 127})},
		{"identity uint8", unary("Identity", onnxUint8, 2), map[string]*Tensor{"x": U8([]int64{2}, []uint8{0, 255})}, U8([]int64{2}, []uint8{0, 255})},
		// 1.0, -2.0, 0.5 in IEEE half and bfloat16 bits; Neg flips the sign bit.
		{"neg float16", unary("Neg", onnxFloat16, 3), map[string]*Tensor{"x": F16([]int64{3}, []uint16{0x3c00, 0xc000, 0x3800})}, F16([]int64{3}, []uint16{0xbc00, 0x4000, 0xb800})},
		{"cast bfloat16 to float32", cast(onnxBF16, onnxFloat, 3), map[string]*Tensor{"x": BF16([]int64{3}, []uint16{0x3f80, 0xc000, 0x3f00})}, F32([]int64{3}, []float32{1, -2, 0.5})},
		{"cast float32 to bfloat16", cast(onnxFloat, onnxBF16, 3), map[string]*Tensor{"x": F32([]int64{3}, []float32{1, -2, 0.5})}, BF16([]int64{3}, []uint16{0x3f80, 0xc000, 0x3f00})},
		{"cast float16 to float32", cast(onnxFloat16, onnxFloat, 2), map[string]*Tensor{"x": F16([]int64{2}, []uint16{0x3c00, 0xc000})}, F32([]int64{2}, []float32{1, -2})},
		{"scalar float32", binop("Add", onnxFloat), map[string]*Tensor{"x": F32(nil, []float32{1.25}), "y": F32(nil, []float32{2})}, F32(nil, []float32{3.25})},
		{"scalar int64", binop("Mul", onnxInt64), map[string]*Tensor{"x": I64(nil, []int64{6}), "y": I64(nil, []int64{7})}, I64(nil, []int64{42})},
		{"empty", binop("Add", onnxFloat, "n"), map[string]*Tensor{"x": F32([]int64{0}, []float32{}), "y": F32([]int64{0}, []float32{})}, F32([]int64{0}, []float32{})},
		{"symbolic 2-d", binop("Add", onnxFloat, "b", 2),
			map[string]*Tensor{"x": F32([]int64{3, 2}, []float32{1, 2, 3, 4, 5, 6}), "y": F32([]int64{3, 2}, []float32{1, 1, 1, 1, 1, 1})},
			F32([]int64{3, 2}, []float32{2, 3, 4, 5, 6, 7})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustSession(t, tt.model, SessionOptions{Name: tt.name})
			got, err := s.Run(ctx, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			out := s.Outputs()[0].Name
			if len(got) != 1 || !tensorEqual(got[out], tt.want) {
				t.Errorf("got %v %v, want %v %v", got[out], got[out].Data, tt.want, tt.want.Data)
			}
		})
	}
}

func tensorEqual(a, b *Tensor) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.DType == b.DType && len(a.Shape) == len(b.Shape) &&
		(len(a.Shape) == 0 || reflect.DeepEqual(a.Shape, b.Shape)) && reflect.DeepEqual(a.Data, b.Data)
}

func TestSignature(t *testing.T) {
	m := tModel{
		name: "sig",
		nodes: []tNode{
			{op: "MatMul", in: []string{"x", "w"}, out: []string{"h"}},
			{op: "ReduceSum", in: []string{"h"}, out: []string{"s"}, ints: map[string]int64{"keepdims": 0}},
		},
		inputs:   []tValue{{name: "x", elem: onnxFloat, dims: []any{"batch", 2}}, {name: "w", elem: onnxFloat, dims: []any{2, 3}}},
		outputs:  []tValue{{name: "h", elem: onnxFloat, dims: []any{"batch", 3}}, {name: "s", elem: onnxFloat, dims: []any{}}},
		inits:    []tInit{{name: "w", dims: []int64{2, 3}, f32: []float32{1, 2, 3, 4, 5, 6}}},
		metadata: [][2]string{{"pz.kind", "test"}},
	}
	s := mustSession(t, m.encode(), SessionOptions{})
	if s.Name() != "sig" {
		t.Errorf("Name() = %q, want the graph name %q", s.Name(), "sig")
	}
	// w is backed by an initializer, so it is not an input Run needs.
	wantIn := []ValueInfo{{Name: "x", DType: Float32, Dims: []int64{-1, 2}, DimNames: []string{"batch", ""}}}
	if got := s.Inputs(); !reflect.DeepEqual(got, wantIn) {
		t.Errorf("Inputs() = %+v, want %+v", got, wantIn)
	}
	if got := s.Outputs(); len(got) != 2 || got[1].String() != "s: float32[]" || got[0].String() != "h: float32[batch 3]" {
		t.Errorf("Outputs() = %v", got)
	}
	if got := s.Metadata()["pz.kind"]; got != "test" {
		t.Errorf("Metadata()[pz.kind] = %q, want %q", got, "test")
	}
	// x = [[1 1] [0 2]] @ w = [[1 2 3] [4 5 6]] -> [[5 7 9] [8 10 12]]; sum 51.
	got, err := s.Run(context.Background(), map[string]*Tensor{"x": F32([]int64{2, 2}, []float32{1, 1, 0, 2})})
	if err != nil {
		t.Fatal(err)
	}
	if want := F32([]int64{2, 3}, []float32{5, 7, 9, 8, 10, 12}); !tensorEqual(got["h"], want) {
		t.Errorf("h = %v %v, want %v", got["h"], got["h"].Data, want.Data)
	}
	if want := F32(nil, []float32{51}); !tensorEqual(got["s"], want) {
		t.Errorf("s = %v %v, want %v", got["s"], got["s"].Data, want.Data)
	}
	// Asking for one output returns only that one.
	got, err = s.Run(context.Background(), map[string]*Tensor{"x": F32([]int64{1, 2}, []float32{1, 0})}, "s")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["s"].Float32s()[0] != 6 {
		t.Errorf("Run(..., \"s\") = %v", got)
	}
	// A session restricted to one output.
	s2 := mustSession(t, m.encode(), SessionOptions{Outputs: []string{"s"}})
	got, err = s2.Run(context.Background(), map[string]*Tensor{"x": F32([]int64{1, 2}, []float32{0, 1})})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["s"].Float32s()[0] != 15 {
		t.Errorf("restricted session: %v", got)
	}
}

func TestRunRejectsBadInputs(t *testing.T) {
	s := mustSession(t, binop("Add", onnxFloat, "n", 3), SessionOptions{Name: "addmodel"})
	good := F32([]int64{2, 3}, make([]float32, 6))
	tests := []struct {
		name string
		in   map[string]*Tensor
		want []string // substrings of the error
	}{
		{"missing", map[string]*Tensor{"x": good}, []string{`"addmodel"`, "input y: float32[n 3] is missing"}},
		{"unknown", map[string]*Tensor{"x": good, "y": good, "z": good}, []string{`input "z" is not an input`, "[x y]"}},
		{"dtype", map[string]*Tensor{"x": good, "y": F64([]int64{2, 3}, make([]float64, 6))}, []string{"y: got dtype float64[2 3], want y: float32[n 3]"}},
		{"rank", map[string]*Tensor{"x": F32([]int64{6}, make([]float32, 6)), "y": good}, []string{"x: got shape [6] (rank 1), want [n 3] (rank 2)"}},
		{"static dim", map[string]*Tensor{"x": good, "y": F32([]int64{3, 2}, make([]float32, 6))}, []string{"y: got shape [3 2], want [n 3] (dim 1)"}},
		{"data length", map[string]*Tensor{"x": F32([]int64{2, 3}, make([]float32, 5)), "y": good}, []string{"x: tensor shape [2 3] needs 6 elements, data has 5"}},
		{"go type", map[string]*Tensor{"x": {DType: Float32, Shape: []int64{2, 3}, Data: make([]int64, 6)}, "y": good}, []string{"input x: tensor of dtype float32 holds []int64"}},
		{"two at once", map[string]*Tensor{}, []string{"input x: float32[n 3] is missing", "input y: float32[n 3] is missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Run(context.Background(), tt.in)
			if err == nil {
				t.Fatal("Run accepted bad inputs")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	// ORT's own check of dynamic dims (both n) still reaches the caller.
	_, err := s.Run(context.Background(), map[string]*Tensor{"x": good, "y": F32([]int64{4, 3}, make([]float32, 12))})
	if err == nil || !strings.Contains(err.Error(), `run "addmodel": ONNX Runtime:`) {
		t.Errorf("mismatched dynamic dims: err = %v", err)
	}
	if _, err := s.Run(context.Background(), map[string]*Tensor{"x": good, "y": good}, "nope"); err == nil || !strings.Contains(err.Error(), `no output "nope"`) {
		t.Errorf("unknown output: err = %v", err)
	}
}

func TestNewSessionRejectsBadGraphs(t *testing.T) {
	rt := needRT(t)
	tests := []struct {
		name  string
		model []byte
		want  []string
	}{
		{"shape mismatch", tModel{
			name:    "mm",
			nodes:   []tNode{{op: "MatMul", name: "proj/matmul", in: []string{"a", "b"}, out: []string{"c"}}},
			inputs:  []tValue{{name: "a", elem: onnxFloat, dims: []any{2, 3}}, {name: "b", elem: onnxFloat, dims: []any{4, 5}}},
			outputs: []tValue{{name: "c", elem: onnxFloat, dims: []any{2, 5}}},
		}.encode(), []string{`model "bad"`, "proj/matmul"}},
		{"unknown op", tModel{
			name:    "u",
			nodes:   []tNode{{op: "NoSuchOp", name: "mystery", in: []string{"a"}, out: []string{"c"}}},
			inputs:  []tValue{{name: "a", elem: onnxFloat, dims: []any{2}}},
			outputs: []tValue{{name: "c", elem: onnxFloat, dims: []any{2}}},
		}.encode(), []string{`model "bad"`, "NoSuchOp"}},
		{"not onnx", []byte("this is not a model"), []string{`model "bad"`}},
		{"no graph", fVarint(1, 8), []string{`model "bad"`, "no graph"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := rt.NewSession(tt.model, SessionOptions{Name: "bad"})
			if err == nil {
				s.Close()
				t.Fatal("NewSession accepted a bad graph")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			t.Logf("%s: %v", tt.name, err)
		})
	}
}

// chain makes a model of n MatMuls of a [k k] input by itself: long enough
// to cancel in the middle.
func chain(n, k int) []byte {
	m := tModel{name: "chain",
		inputs:  []tValue{{name: "x0", elem: onnxFloat, dims: []any{k, k}}},
		outputs: []tValue{{name: "y", elem: onnxFloat, dims: []any{k, k}}},
	}
	prev := "x0"
	for i := range n {
		out := "h" + strconv.Itoa(i)
		if i == n-1 {
			out = "y"
		}
		m.nodes = append(m.nodes, tNode{op: "MatMul", in: []string{prev, "x0"}, out: []string{out}})
		prev = out
	}
	return m.encode()
}

func TestRunCancel(t *testing.T) {
	const k = 256
	s := mustSession(t, chain(1000, k), SessionOptions{Name: "chain", IntraOpThreads: 1})
	in := map[string]*Tensor{"x0": Zeros(Float32, k, k)}

	start := time.Now()
	if _, err := s.Run(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	full := time.Since(start)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(full/10, cancel)
	start = time.Now()
	_, err := s.Run(ctx, in)
	took := time.Since(start)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Run: err = %v, want context.Canceled", err)
	}
	if took > full/2 {
		t.Errorf("cancelled Run took %v; a full run takes %v", took, full)
	}
	t.Logf("full run %v, cancelled after %v returned after %v: %v", full, full/10, took, err)

	// Already cancelled: no run at all. A deadline maps the same way.
	if _, err := s.Run(ctx, in); !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a cancelled ctx: err = %v", err)
	}
	dctx, dcancel := context.WithTimeout(context.Background(), full/10)
	defer dcancel()
	if _, err := s.Run(dctx, in); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run past its deadline: err = %v", err)
	}
	// The session still works afterwards.
	if _, err := s.Run(context.Background(), in); err != nil {
		t.Errorf("Run after cancellation: %v", err)
	}
}

func TestRunConcurrent(t *testing.T) {
	s := mustSession(t, binop("Mul", onnxFloat, "n"), SessionOptions{IntraOpThreads: 1})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			for i := range 50 {
				n := 1 + (g+i)%17
				x := make([]float32, n)
				for j := range x {
					x[j] = float32(g*1000 + j)
				}
				got, err := s.Run(ctx, map[string]*Tensor{"x": F32([]int64{int64(n)}, x), "y": F32([]int64{int64(n)}, x)})
				if err != nil {
					errs <- err
					return
				}
				for j, v := range got["z"].Float32s() {
					if v != x[j]*x[j] {
						errs <- errors.New("wrong product under concurrency")
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestRunInto(t *testing.T) {
	s := mustSession(t, binop("Add", onnxFloat, "n"), SessionOptions{})
	out := Zeros(Float32, 3)
	in := map[string]*Tensor{"x": F32([]int64{3}, []float32{1, 2, 3}), "y": F32([]int64{3}, []float32{0.5, 0.5, 0.5})}
	if err := s.RunInto(context.Background(), in, map[string]*Tensor{"z": out}); err != nil {
		t.Fatal(err)
	}
	if want := []float32{1.5, 2.5, 3.5}; !reflect.DeepEqual(out.Float32s(), want) {
		t.Errorf("RunInto wrote %v, want %v", out.Float32s(), want)
	}
	// A buffer of the wrong size is ORT's to reject; the error names the run.
	err := s.RunInto(context.Background(), in, map[string]*Tensor{"z": Zeros(Float32, 4)})
	if err == nil || !strings.Contains(err.Error(), "ONNX Runtime") {
		t.Errorf("RunInto with a [4] buffer for a [3] result: err = %v", err)
	}
	if err := s.RunInto(context.Background(), in, map[string]*Tensor{"z": Zeros(Int64, 3)}); err == nil || !strings.Contains(err.Error(), "z: got dtype int64[3]") {
		t.Errorf("RunInto with an int64 buffer: err = %v", err)
	}
	// 16-bit float outputs with dynamic dims need RunInto.
	h := mustSession(t, unary("Neg", onnxFloat16, "n"), SessionOptions{})
	in16 := map[string]*Tensor{"x": F16([]int64{2}, []uint16{0x3c00, 0x0000})}
	if _, err := h.Run(context.Background(), in16); err == nil || !strings.Contains(err.Error(), "pass it to RunInto") {
		t.Errorf("Run of a dynamic float16 output: err = %v", err)
	}
	if err := h.RunInto(context.Background(), in16, nil); err == nil || !strings.Contains(err.Error(), "pass it to RunInto") {
		t.Errorf("RunInto without the dynamic float16 output: err = %v", err)
	}
	o16 := Zeros(Float16, 2)
	if err := h.RunInto(context.Background(), in16, map[string]*Tensor{"y": o16}); err != nil {
		t.Fatal(err)
	}
	if want := []uint16{0xbc00, 0x8000}; !reflect.DeepEqual(o16.Uint16s(), want) {
		t.Errorf("float16 RunInto wrote %#x, want %#x", o16.Uint16s(), want)
	}
}

func TestClosedSession(t *testing.T) {
	s, err := needRT(t).NewSession(unary("Identity", onnxFloat, 1), SessionOptions{Name: "closed"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Run(context.Background(), map[string]*Tensor{"x": F32([]int64{1}, []float32{1})}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Run after Close: err = %v", err)
	}
}

func TestSessionOptions(t *testing.T) {
	rt := needRT(t)
	model := unary("Sqrt", onnxFloat, 2)
	for _, o := range []SessionOptions{
		{IntraOpThreads: 1},
		{IntraOpThreads: 2, InterOpThreads: 2},
		{Optimization: OptimizeNone},
		{Optimization: OptimizeBasic},
		{Optimization: OptimizeExtended},
		{Optimization: OptimizeAll, Config: map[string]string{"session.intra_op.allow_spinning": "0"}},
	} {
		s, err := rt.NewSession(model, o)
		if err != nil {
			t.Errorf("%+v: %v", o, err)
			continue
		}
		got, err := s.Run(context.Background(), map[string]*Tensor{"x": F32([]int64{2}, []float32{4, 2.25})})
		if err != nil || !reflect.DeepEqual(got["y"].Float32s(), []float32{2, 1.5}) {
			t.Errorf("%+v: got %v, %v", o, got, err)
		}
		s.Close()
	}
	if _, err := rt.NewSession(model, SessionOptions{IntraOpThreads: -1}); err == nil {
		t.Error("negative thread count accepted")
	}
	if _, err := rt.NewSession(model, SessionOptions{Device: "tpu"}); err == nil || !strings.Contains(err.Error(), `unknown device "tpu"`) {
		t.Errorf("device tpu: err = %v", err)
	}
	if _, err := rt.NewSession(model, SessionOptions{Outputs: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), `no graph output "nope"`) {
		t.Errorf("unknown output: err = %v", err)
	}
	// The CPU build has no CUDA provider: a clear error, not a crash.
	_, err := rt.NewSession(model, SessionOptions{Device: DeviceCUDA})
	if err == nil || !strings.Contains(err.Error(), "setup-ort-cuda.sh") {
		t.Errorf("cuda on the CPU library: err = %v", err)
	}
	if err != nil && !strings.Contains(err.Error(), "libonnxruntime_providers_cuda.so is missing") {
		t.Errorf("cuda on the CPU library: err = %v, want it to name the missing provider", err)
	}
	t.Logf("cuda on the CPU library: %v", err)
}

func TestProfile(t *testing.T) {
	dir := t.TempDir()
	s, err := needRT(t).NewSession(unary("Relu", onnxFloat, 2), SessionOptions{ProfilePrefix: dir + "/prof"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Run(context.Background(), map[string]*Tensor{"x": F32([]int64{2}, []float32{-1, 1})})
	if err != nil || !reflect.DeepEqual(got["y"].Float32s(), []float32{0, 1}) {
		t.Fatalf("got %v, %v", got, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(dir + "/prof*.json"); len(m) != 1 {
		t.Errorf("profile files: %v", m)
	}
}

func TestNewSessionFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sqrt.onnx")
	if err := os.WriteFile(p, unary("Sqrt", onnxFloat, 2), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := needRT(t).NewSessionFile(p, SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Name() != p {
		t.Errorf("Name() = %q, want the file path", s.Name())
	}
	got, err := s.Run(context.Background(), map[string]*Tensor{"x": F32([]int64{2}, []float32{9, 16})})
	if err != nil || !reflect.DeepEqual(got["y"].Float32s(), []float32{3, 4}) {
		t.Errorf("got %v, %v", got, err)
	}
	if _, err := needRT(t).NewSessionFile(p+".missing", SessionOptions{}); err == nil || !strings.Contains(err.Error(), "sqrt.onnx.missing") {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestPin(t *testing.T) {
	// y = x @ w with w an input, as an engine feeds weights.
	m := tModel{name: "pinned",
		nodes:   []tNode{{op: "MatMul", in: []string{"x", "w"}, out: []string{"y"}}},
		inputs:  []tValue{{name: "x", elem: onnxFloat, dims: []any{1, 2}}, {name: "w", elem: onnxFloat, dims: []any{2, 2}}},
		outputs: []tValue{{name: "y", elem: onnxFloat, dims: []any{1, 2}}},
	}
	s := mustSession(t, m.encode(), SessionOptions{})
	ctx := context.Background()
	x := F32([]int64{1, 2}, []float32{1, 10})
	w := F32([]int64{2, 2}, []float32{1, 2, 3, 4})
	run := func(in map[string]*Tensor) []float32 {
		t.Helper()
		out, err := s.Run(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return out["y"].Float32s()
	}
	if err := s.Pin(map[string]*Tensor{"w": w}); err != nil {
		t.Fatal(err)
	}
	if got, want := run(map[string]*Tensor{"x": x}), []float32{31, 42}; !reflect.DeepEqual(got, want) {
		t.Errorf("w left out: %v, want %v", got, want)
	}
	if got, want := run(map[string]*Tensor{"x": x, "w": w}), []float32{31, 42}; !reflect.DeepEqual(got, want) {
		t.Errorf("w passed again: %v, want %v", got, want)
	}
	w.Float32s()[0] = 2 // in place: seen through the pin
	if got, want := run(map[string]*Tensor{"x": x}), []float32{32, 42}; !reflect.DeepEqual(got, want) {
		t.Errorf("after an in-place update: %v, want %v", got, want)
	}
	w.Data = []float32{0, 0, 1, 1} // replaced: wrapped afresh
	if got, want := run(map[string]*Tensor{"x": x}), []float32{10, 10}; !reflect.DeepEqual(got, want) {
		t.Errorf("after replacing Data: %v, want %v", got, want)
	}
	other := F32([]int64{2, 2}, []float32{1, 0, 0, 1}) // a different tensor wins over the pin
	if got, want := run(map[string]*Tensor{"x": x, "w": other}), []float32{1, 10}; !reflect.DeepEqual(got, want) {
		t.Errorf("another w: %v, want %v", got, want)
	}
	if err := s.Pin(map[string]*Tensor{"w": F32([]int64{3, 2}, make([]float32, 6))}); err == nil || !strings.Contains(err.Error(), "w: got shape [3 2], want [2 2]") {
		t.Errorf("pin of a wrong shape: err = %v", err)
	}
	if err := s.Pin(map[string]*Tensor{"nope": w}); err == nil || !strings.Contains(err.Error(), `input "nope" is not an input`) {
		t.Errorf("pin of an unknown input: err = %v", err)
	}
	s.Unpin()
	if _, err := s.Run(ctx, map[string]*Tensor{"x": x}); err == nil || !strings.Contains(err.Error(), "input w: float32[2 2] is missing") {
		t.Errorf("after Unpin: err = %v", err)
	}
	if err := s.Pin(map[string]*Tensor{"w": w}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				out, err := s.Run(ctx, map[string]*Tensor{"x": F32([]int64{1, 2}, []float32{1, 1})})
				if err != nil || !reflect.DeepEqual(out["y"].Float32s(), []float32{1, 1}) {
					t.Errorf("concurrent pinned run: %v, %v", out, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Pin(map[string]*Tensor{"w": w}); err == nil {
		t.Error("Pin after Close succeeded")
	}
}

// TestRunReusing: a supplied output buffer is written in place on every
// run and returned; the other outputs are allocated as Run does; a buffer
// of the wrong dtype is refused before the run.
func TestRunReusing(t *testing.T) {
	m := tModel{
		name: "two",
		nodes: []tNode{{op: "Add", in: []string{"x", "x"}, out: []string{"a"}},
			{op: "Neg", in: []string{"x"}, out: []string{"b"}}},
		inputs:  []tValue{{name: "x", elem: onnxFloat, dims: []any{3}}},
		outputs: []tValue{{name: "a", elem: onnxFloat, dims: []any{3}}, {name: "b", elem: onnxFloat, dims: []any{"n"}}},
	}.encode()
	s := mustSession(t, m, SessionOptions{})
	buf := Zeros(Float32, 3)
	for _, x := range [][]float32{{1, 2, 3}, {-1, 0, 4}} {
		out, err := s.RunReusing(context.Background(), map[string]*Tensor{"x": F32([]int64{3}, x)}, map[string]*Tensor{"a": buf})
		if err != nil {
			t.Fatal(err)
		}
		if out["a"] != buf {
			t.Fatalf("output a is a new tensor, want the supplied buffer")
		}
		if want := []float32{2 * x[0], 2 * x[1], 2 * x[2]}; !reflect.DeepEqual(buf.Float32s(), want) {
			t.Errorf("a = %v, want %v", buf.Float32s(), want)
		}
		if want := []float32{-x[0], -x[1], -x[2]}; !reflect.DeepEqual(out["b"].Float32s(), want) {
			t.Errorf("b = %v, want %v", out["b"].Float32s(), want)
		}
	}
	if _, err := s.RunReusing(context.Background(), map[string]*Tensor{"x": Zeros(Float32, 3)}, map[string]*Tensor{"a": Zeros(Int64, 3)}); err == nil {
		t.Error("an int64 buffer for a float output was accepted")
	}
}
