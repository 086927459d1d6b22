package safetensors_test

import (
	"path/filepath"
	"testing"

	"pz/models"
	"pz/models/safetensors"
)

// writeSmall writes the `small` preset's tensors (41.95 M f32 parameters,
// ~168 MB) and returns the path and the data size.
func writeSmall(b *testing.B) (string, int64) {
	b.Helper()
	c := models.Small()
	specs := c.TensorSpecs()
	var total int64
	for _, s := range specs {
		total += 4 * elements(s.Shape)
	}
	buf := make([]byte, total)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	ts := make([]safetensors.Tensor, 0, len(specs))
	var off int64
	for _, s := range specs {
		n := 4 * elements(s.Shape)
		ts = append(ts, safetensors.Tensor{Name: s.Name, DType: safetensors.F32, Shape: s.Shape, Data: buf[off : off+n]})
		off += n
	}
	p := filepath.Join(b.TempDir(), "small.safetensors")
	if err := safetensors.Write(p, ts, nil); err != nil {
		b.Fatal(err)
	}
	return p, total
}

// BenchmarkLoadSmallF32 opens the small preset's checkpoint and converts
// every tensor to a fresh []float32 (the loader's path); MB/s is data bytes.
func BenchmarkLoadSmallF32(b *testing.B) {
	p, total := writeSmall(b)
	b.SetBytes(total)
	for b.Loop() {
		f, err := safetensors.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range f.Names() {
			if _, err := f.Float32(n); err != nil {
				b.Fatal(err)
			}
		}
		f.Close()
	}
}

// BenchmarkOpenViewSmallF32 opens the checkpoint and takes zero-copy views,
// touching one value per page.
func BenchmarkOpenViewSmallF32(b *testing.B) {
	p, total := writeSmall(b)
	b.SetBytes(total)
	var sink float32
	for b.Loop() {
		f, err := safetensors.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range f.Names() {
			v, ok := f.Float32View(n)
			if !ok {
				b.Fatalf("%s: no view", n)
			}
			for i := 0; i < len(v); i += 1024 {
				sink += v[i]
			}
		}
		f.Close()
	}
	_ = sink
}

// BenchmarkWriteSmallF32 writes the small preset's checkpoint (atomic,
// fsynced).
func BenchmarkWriteSmallF32(b *testing.B) {
	c := models.Small()
	var ts []safetensors.Tensor
	var total int64
	for _, s := range c.TensorSpecs() {
		n := 4 * elements(s.Shape)
		ts = append(ts, safetensors.Tensor{Name: s.Name, DType: safetensors.F32, Shape: s.Shape, Data: make([]byte, n)})
		total += n
	}
	p := filepath.Join(b.TempDir(), "w.safetensors")
	b.SetBytes(total)
	for b.Loop() {
		if err := safetensors.Write(p, ts, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func elements(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}
