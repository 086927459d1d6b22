package safetensors

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// build lays out a safetensors file byte by byte from the documented format:
// 8-byte little-endian header length, JSON header, data.
func build(header string, data []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	out = append(out, header...)
	return append(out, data...)
}

func writeBytes(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func f32le(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// TestReadHandBuilt reads a file built by hand: every value is known.
func TestReadHandBuilt(t *testing.T) {
	hdr := `{"__metadata__":{"format":"pt"},` +
		`"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},` +
		`"b":{"dtype":"BF16","shape":[2],"data_offsets":[16,20]},` +
		`"h":{"dtype":"F16","shape":[2],"data_offsets":[20,24]},` +
		`"d":{"dtype":"F64","shape":[1],"data_offsets":[24,32]},` +
		`"i":{"dtype":"I32","shape":[],"data_offsets":[32,36]},` +
		`"e":{"dtype":"F32","shape":[0,3],"data_offsets":[36,36]}}`
	for len(hdr)%8 != 0 {
		hdr += " " // keeps the F32 data 4-byte aligned for Float32View
	}
	data := f32le(1, -2, 0.5, 3)
	data = append(data, 0x80, 0x3F, 0x00, 0xC0) // bf16 1.0, -2.0
	data = append(data, 0x00, 0x3C, 0x01, 0x00) // f16 1.0, 2^-24
	data = binary.LittleEndian.AppendUint64(data, math.Float64bits(0.1))
	data = binary.LittleEndian.AppendUint32(data, 7)
	p := writeBytes(t, "hand.safetensors", build(hdr, data))
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.Names(); !reflect.DeepEqual(got, []string{"b", "d", "e", "h", "i", "w"}) {
		t.Errorf("Names = %v", got)
	}
	if m := f.Metadata(); m["format"] != "pt" {
		t.Errorf("metadata = %v", m)
	}
	want := map[string][]float32{
		"w": {1, -2, 0.5, 3},
		"b": {1, -2},
		"h": {1, float32(math.Ldexp(1, -24))},
		"d": {float32(0.1)},
		"e": {},
	}
	for name, w := range want {
		got, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, w) {
			t.Errorf("%s = %v, want %v", name, got, w)
		}
	}
	if d, _ := f.Float64("d"); d[0] != 0.1 {
		t.Errorf("Float64(d) = %v, want exact 0.1", d)
	}
	dt, shape, err := f.Info("w")
	if err != nil || dt != F32 || !slices.Equal(shape, []int64{2, 2}) {
		t.Errorf("Info(w) = %s %v %v", dt, shape, err)
	}
	raw, dt, shape, _ := f.Raw("i")
	if dt != I32 || len(shape) != 0 || binary.LittleEndian.Uint32(raw) != 7 {
		t.Errorf("Raw(i) = %v %s %v", raw, dt, shape)
	}
	if _, err := f.Float32("i"); err == nil || !strings.Contains(err.Error(), "tensor i") {
		t.Errorf("Float32 of I32: %v", err)
	}
	if _, err := f.Float32("nope"); err == nil || !strings.Contains(err.Error(), "nope") || !strings.Contains(err.Error(), p) {
		t.Errorf("missing tensor: %v", err)
	}
	if v, ok := f.Float32View("w"); !ok || !slices.Equal(v, want["w"]) {
		t.Errorf("Float32View(w) = %v %v", v, ok)
	}
	if _, ok := f.Float32View("b"); ok {
		t.Error("Float32View of BF16 succeeded")
	}
}

func TestCorruptHeaders(t *testing.T) {
	good := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	eight := make([]byte, 8)
	huge := binary.LittleEndian.AppendUint64(nil, 200<<20)
	cases := []struct {
		name string
		file []byte
		want []string
	}{
		{"empty", nil, []string{"truncated", "8-byte header length"}},
		{"short length", []byte{1, 2, 3}, []string{"truncated"}},
		{"absurd header", append(huge, eight...), []string{"header length 209715200 exceeds"}},
		{"header beyond file", append(binary.LittleEndian.AppendUint64(nil, 1000), `{}`...), []string{"header length 1000 beyond file size 10"}},
		{"invalid json", build(`{"a":`, nil), []string{"header", "invalid JSON"}},
		{"not object", build(`[1]`, nil), []string{"header", "invalid JSON"}},
		{"trailing", build(good+`x`, eight), []string{"invalid JSON"}},
		{"unknown dtype", build(`{"a":{"dtype":"F12","shape":[2],"data_offsets":[0,8]}}`, eight), []string{`tensor "a"`, "field dtype", `"F12"`}},
		{"missing shape", build(`{"a":{"dtype":"F32","data_offsets":[0,8]}}`, eight), []string{`tensor "a"`, "field shape"}},
		{"negative dim", build(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, eight), []string{`tensor "a"`, "field shape"}},
		{"offsets arity", build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[8]}}`, eight), []string{`tensor "a"`, "field data_offsets"}},
		{"begin after end", build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}`, eight), []string{`tensor "a"`, "field data_offsets", "begin 8 after end 0"}},
		{"out of range", build(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, eight), []string{`tensor "a"`, "field data_offsets", "out of range"}},
		{"size mismatch", build(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, eight), []string{`tensor "a"`, "field data_offsets", "needs 12"}},
		{"overlap", build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight), []string{`tensor "b"`, "field data_offsets", "overlaps"}},
		{"gap", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight), []string{`tensor "a"`, "field data_offsets", "gap"}},
		{"trailing data", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, eight), []string{"4 bytes after the last tensor"}},
		{"duplicate", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight), []string{`tensor "a"`, "duplicate"}},
		{"truncated data", build(good, eight[:5]), []string{`tensor "a"`, "out of range", "truncated"}},
		{"bad metadata", build(`{"__metadata__":{"format":1},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, eight), []string{"field __metadata__"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeBytes(t, "bad.safetensors", tc.file)
			f, err := Open(p)
			if err == nil {
				f.Close()
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("error %v is not ErrCorrupt", err)
			}
			for _, w := range append(tc.want, p) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	// The good header is accepted, so the cases above fail for their own reason.
	f, err := Open(writeBytes(t, "good.safetensors", build(good, eight)))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestRoundTripDTypes(t *testing.T) {
	vals := []float32{0, 1, -2, 0.1, 3.14159, -1e-5, 65504, float32(math.Ldexp(1, -24)), float32(math.Inf(1))}
	for _, d := range []DType{F32, BF16, F16, F64} {
		t.Run(string(d), func(t *testing.T) {
			tn, err := FromFloat32("model.w", d, []int64{3, 3}, vals)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(t.TempDir(), "x.safetensors")
			if err := Write(p, []Tensor{tn}, nil); err != nil {
				t.Fatal(err)
			}
			f, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			dt, shape, _ := f.Info("model.w")
			if dt != d || !slices.Equal(shape, []int64{3, 3}) {
				t.Errorf("Info = %s %v", dt, shape)
			}
			raw, _, _, _ := f.Raw("model.w")
			if !slices.Equal(raw, tn.Data) {
				t.Error("raw bytes differ from the written ones")
			}
			got, _ := f.Float32("model.w")
			for i, v := range vals {
				var want float32
				switch d {
				case F32, F64:
					want = v
				case BF16:
					want = Float32FromBF16(BF16FromFloat32(v))
				case F16:
					want = Float32FromF16(F16FromFloat32(v))
				}
				if got[i] != want {
					t.Errorf("[%d] = %g, want %g", i, got[i], want)
				}
			}
			if f.Metadata()["format"] != "pt" {
				t.Errorf("metadata = %v", f.Metadata())
			}
			// A bf16 checkpoint written back is bf16 again, bit for bit.
			back, err := FromFloat32("model.w", dt, shape, got)
			if err != nil || !slices.Equal(back.Data, tn.Data) {
				t.Errorf("re-encoding changed the bytes (%v)", err)
			}
		})
	}
	f64 := []float64{0.1, -1.0 / 3}
	tn, _ := FromFloat64("x", []int64{2}, f64)
	p := filepath.Join(t.TempDir(), "d.safetensors")
	if err := Write(p, []Tensor{tn}, map[string]string{"format": "pt", "step": "3"}); err != nil {
		t.Fatal(err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, _ := f.Float64("x"); !slices.Equal(got, f64) {
		t.Errorf("F64 = %v", got)
	}
	if f.Metadata()["step"] != "3" {
		t.Errorf("metadata = %v", f.Metadata())
	}
}

// TestWriteLayout checks the written bytes: header padded to 8 with spaces,
// larger element types first, data in order, alignment kept.
func TestWriteLayout(t *testing.T) {
	b16, _ := FromFloat32("a", BF16, []int64{3}, []float32{1, 2, 3})
	f32, _ := FromFloat32("z", F32, []int64{1}, []float32{1})
	p := filepath.Join(t.TempDir(), "l.safetensors")
	if err := Write(p, []Tensor{b16, f32}, nil); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	n := binary.LittleEndian.Uint64(b)
	hdr := string(b[8 : 8+n])
	want := `{"__metadata__":{"format":"pt"},"z":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"BF16","shape":[3],"data_offsets":[4,10]}}`
	if strings.TrimRight(hdr, " ") != want || n%8 != 0 {
		t.Errorf("header %q (len %d), want %q padded to 8", hdr, n, want)
	}
	if data := b[8+n:]; !slices.Equal(data, []byte{0, 0, 0x80, 0x3F, 0x80, 0x3F, 0x00, 0x40, 0x40, 0x40}) {
		t.Errorf("data = % x", data)
	}
	if ents, _ := os.ReadDir(filepath.Dir(p)); len(ents) != 1 {
		t.Errorf("temp files left: %v", ents)
	}
}

func TestWriteErrors(t *testing.T) {
	ok, _ := FromFloat32("a", F32, []int64{1}, []float32{1})
	cases := []struct {
		name string
		ts   []Tensor
		want string
	}{
		{"duplicate", []Tensor{ok, ok}, "tensor a: duplicate"},
		{"size", []Tensor{{Name: "b", DType: F32, Shape: []int64{2}, Data: make([]byte, 4)}}, "tensor b: 4 data bytes"},
		{"dtype", []Tensor{{Name: "c", DType: "X", Shape: []int64{1}, Data: make([]byte, 4)}}, `tensor c: unknown dtype "X"`},
		{"reserved", []Tensor{{Name: "__metadata__", DType: F32}}, "reserved"},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		err := Write(filepath.Join(dir, "x.safetensors"), tc.ts, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("failed writes left files: %v", ents)
	}
	if _, err := FromFloat32("d", F32, []int64{2}, []float32{1}); err == nil {
		t.Error("FromFloat32 with wrong count: no error")
	}
	if err := Write(filepath.Join(dir, "no", "x.safetensors"), []Tensor{ok}, nil); err == nil {
		t.Error("write into a missing folder: no error")
	}
}

func TestShardedRoundTrip(t *testing.T) {
	var ts []Tensor
	for i, name := range []string{"model.embed_tokens.weight", "model.layers.0.mlp.up_proj.weight", "model.layers.1.mlp.up_proj.weight", "model.norm.weight"} {
		vals := make([]float32, 64)
		for j := range vals {
			vals[j] = float32(i*10 + j) // exact in bf16
		}
		tn, _ := FromFloat32(name, BF16, []int64{8, 8}, vals)
		ts = append(ts, tn)
	}
	dir := t.TempDir()
	if err := WriteModel(dir, ts, nil, 300); err != nil { // 128 bytes each: 2 per shard
		t.Fatal(err)
	}
	for _, n := range []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", IndexFile} {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Error(err)
		}
	}
	f, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if len(f.Names()) != 4 {
		t.Errorf("Names = %v", f.Names())
	}
	for i, tn := range ts {
		got, _ := f.Float32(tn.Name)
		if got[5] != float32(i*10+5) {
			t.Errorf("%s[5] = %v", tn.Name, got[5])
		}
	}

	// One shard missing a tensor the index names.
	idx, _ := os.ReadFile(filepath.Join(dir, IndexFile))
	bad := strings.Replace(string(idx), `"model.norm.weight"`, `"model.gone.weight"`, 1)
	os.WriteFile(filepath.Join(dir, IndexFile), []byte(bad), 0o644)
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "model.norm.weight") {
		t.Errorf("index/shard disagreement: %v", err)
	}

	// Small models get one model.safetensors.
	dir2 := t.TempDir()
	if err := WriteModel(dir2, ts, nil, 1<<30); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir2, SingleFile)); err != nil {
		t.Error(err)
	}
}

func TestCheck(t *testing.T) {
	a, _ := FromFloat32("model.norm.weight", F32, []int64{4}, make([]float32, 4))
	b, _ := FromFloat32("model.layers.0.self_attn.q_proj.weight", F32, []int64{2, 4}, make([]float32, 8))
	c, _ := FromFloat32("model.extra.weight", F32, []int64{1}, make([]float32, 1))
	p := filepath.Join(t.TempDir(), "c.safetensors")
	if err := Write(p, []Tensor{a, b, c}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	specs := []Spec{
		{"model.norm.weight", []int64{4}},
		{"model.layers.0.self_attn.q_proj.weight", []int64{4, 4}},
		{"model.layers.0.self_attn.q_norm.weight", []int64{2}},
		{"model.layers.3.self_attn.k_norm.weight", []int64{2}},
	}
	err = f.Check(specs)
	var ce *CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("Check = %v", err)
	}
	if !reflect.DeepEqual(ce.Missing, []string{"model.layers.0.self_attn.q_norm.weight [2]", "model.layers.3.self_attn.k_norm.weight [2]"}) ||
		!reflect.DeepEqual(ce.Unexpected, []string{"model.extra.weight [1]"}) ||
		!reflect.DeepEqual(ce.Mismatched, []string{"model.layers.0.self_attn.q_proj.weight: shape [2 4], want [4 4]"}) {
		t.Errorf("CheckError = %+v", ce)
	}
	if !strings.Contains(err.Error(), p) {
		t.Errorf("error %q does not name the file", err)
	}
	if err := f.Check([]Spec{specs[0], {b.Name, []int64{2, 4}}, {c.Name, []int64{1}}}); err != nil {
		t.Errorf("matching specs: %v", err)
	}
}
