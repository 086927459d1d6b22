package gguf

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestExactBytes checks a small file against a layout built by hand from
// the spec.
func TestExactBytes(t *testing.T) {
	w := NewWriter()
	w.AddString("general.architecture", "qwen3")
	w.AddF32("a", []int64{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	w.AddF32("b", []int64{1}, []float32{-1})
	p := filepath.Join(t.TempDir(), "x.gguf")
	if err := w.WriteFile(p); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)

	le := binary.LittleEndian
	str := func(b []byte, s string) []byte { return append(le.AppendUint64(b, uint64(len(s))), s...) }
	var want []byte
	want = append(want, "GGUF"...)
	want = le.AppendUint32(want, 3)
	want = le.AppendUint64(want, 2) // tensors
	want = le.AppendUint64(want, 2) // kvs
	want = str(want, "general.alignment")
	want = le.AppendUint32(want, 4) // uint32
	want = le.AppendUint32(want, 32)
	want = str(want, "general.architecture")
	want = le.AppendUint32(want, 8) // string
	want = str(want, "qwen3")
	want = str(want, "a")
	want = le.AppendUint32(want, 2)
	want = le.AppendUint64(want, 3) // ne[0]: innermost
	want = le.AppendUint64(want, 2)
	want = le.AppendUint32(want, 0) // F32
	want = le.AppendUint64(want, 0)
	want = str(want, "b")
	want = le.AppendUint32(want, 1)
	want = le.AppendUint64(want, 1)
	want = le.AppendUint32(want, 0)
	want = le.AppendUint64(want, 32) // 24 bytes of a, padded to 32
	for len(want)%32 != 0 {
		want = append(want, 0)
	}
	for _, v := range []float32{1, 2, 3, 4, 5, 6} {
		want = le.AppendUint32(want, math.Float32bits(v))
	}
	want = append(want, make([]byte, 8)...)
	want = le.AppendUint32(want, math.Float32bits(-1))
	want = append(want, make([]byte, 28)...)
	if !slices.Equal(got, want) {
		t.Fatalf("bytes differ:\n got % x\nwant % x", got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	kvs := []KV{
		{"general.alignment", uint32(64)},
		{"k.u8", uint8(7)}, {"k.i8", int8(-7)}, {"k.u16", uint16(700)}, {"k.i16", int16(-700)},
		{"k.u32", uint32(1 << 31)}, {"k.i32", int32(-5)}, {"k.f32", float32(1e-6)}, {"k.bool", true},
		{"k.str", "héllo"}, {"k.u64", uint64(1 << 40)}, {"k.i64", int64(-1 << 40)}, {"k.f64", 0.1},
		{"k.strs", []string{"a", "", "Ġthe"}}, {"k.i32s", []int32{1, -2, 3}}, {"k.f32s", []float32{0.5, -1}},
		{"k.empty", []string{}}, {"k.bools", []bool{true, false}},
	}
	w := NewWriter()
	w.SetAlignment(64)
	for _, kv := range kvs[1:] {
		w.Add(kv.Key, kv.Value)
	}
	x := []float32{1, 0.1, -65504, 3}
	w.AddF32("t.f32", []int64{2, 1, 2}, x)
	w.AddF16("t.f16", []int64{4}, x)
	p := filepath.Join(t.TempDir(), "r.gguf")
	if err := w.WriteFile(p); err != nil {
		t.Fatal(err)
	}
	f, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.KV, kvs) {
		t.Errorf("KV =\n%v\nwant\n%v", f.KV, kvs)
	}
	if f.Alignment != 64 || f.DataOffset%64 != 0 {
		t.Errorf("alignment %d data offset %d", f.Alignment, f.DataOffset)
	}
	ti, _ := f.Tensor("t.f32")
	if !slices.Equal(ti.Dims, []uint64{2, 1, 2}) || !slices.Equal(ti.Shape(), []int64{2, 1, 2}) || ti.Type != F32 {
		t.Errorf("t.f32 info %+v", ti)
	}
	if got, _ := f.Float32("t.f32"); !slices.Equal(got, x) {
		t.Errorf("t.f32 = %v", got)
	}
	h, _ := f.Tensor("t.f16")
	if h.Type != F16 || h.Offset != 64 {
		t.Errorf("t.f16 info %+v, want F16 at offset 64", h)
	}
	raw, _ := f.Data("t.f16")
	if !slices.Equal(raw, []byte{0x00, 0x3C, 0x66, 0x2E, 0xFF, 0xFB, 0x00, 0x42}) { // 1, 0.1, -65504, 3 in IEEE half
		t.Errorf("t.f16 bytes % x", raw)
	}
}

func TestWriterErrors(t *testing.T) {
	cases := []struct {
		name string
		do   func(w *Writer)
		want string
	}{
		{"dup key", func(w *Writer) { w.AddUint32("a.b", 1); w.AddUint32("a.b", 2) }, "a.b: duplicate"},
		{"bad value", func(w *Writer) { w.Add("a.b", 3) }, "unsupported value type int"},
		{"alignment", func(w *Writer) { w.SetAlignment(12) }, "multiple of 8"},
		{"long name", func(w *Writer) { w.AddF32(strings.Repeat("x", 64), []int64{1}, []float32{1}) }, "name length 64"},
		{"dims", func(w *Writer) { w.AddF32("t", []int64{1, 1, 1, 1, 1}, []float32{1}) }, "5 dimensions"},
		{"count", func(w *Writer) { w.AddF32("t", []int64{2, 2}, []float32{1}) }, "tensor t: shape [2 2] holds 4 elements, data has 1"},
		{"dup tensor", func(w *Writer) { w.AddF32("t", []int64{1}, []float32{1}); w.AddF32("t", []int64{1}, []float32{1}) }, "tensor t: duplicate"},
		{"short source", func(w *Writer) {
			w.AddTensor("t", []int64{4}, F32, func(o io.Writer) error { _, err := o.Write(make([]byte, 8)); return err })
		}, "tensor t: source wrote 8 bytes, want 16"},
		{"source error", func(w *Writer) {
			w.AddTensor("t", []int64{4}, F32, func(io.Writer) error { return errors.New("boom") })
		}, "tensor t: boom"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			w := NewWriter()
			tc.do(w)
			err := w.WriteFile(filepath.Join(dir, "e.gguf"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("failed write left %v", ents)
			}
		})
	}
}

func TestReadCorrupt(t *testing.T) {
	w := NewWriter()
	w.AddString("general.architecture", "qwen3")
	w.AddF32("a", []int64{8}, make([]float32, 8))
	p := filepath.Join(t.TempDir(), "c.gguf")
	if err := w.WriteFile(p); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(p)
	mod := func(f func(b []byte) []byte) []byte { return f(slices.Clone(good)) }
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"magic", mod(func(b []byte) []byte { b[0] = 'X'; return b }), "magic"},
		{"version", mod(func(b []byte) []byte { b[4] = 2; return b }), "version 2"},
		{"truncated data", good[:len(good)-20], "tensor a: 32 bytes at offset 0 run past"},
		{"truncated header", good[:30], "run past the end"},
		{"counts", mod(func(b []byte) []byte { binary.LittleEndian.PutUint64(b[8:], 1<<40); return b }), "tensor_count"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := filepath.Join(t.TempDir(), "bad.gguf")
			os.WriteFile(q, tc.b, 0o644)
			_, err := Read(q)
			if err == nil || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), q) {
				t.Errorf("error %v, want ErrCorrupt naming %s and %q", err, q, tc.want)
			}
		})
	}
}
