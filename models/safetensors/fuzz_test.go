package safetensors

import (
	"os"
	"path/filepath"
	"testing"
)

// seedFile is a real two-tensor safetensors file from the writer.
func seedFile(f *testing.F) []byte {
	a, err := FromFloat32("a", F32, []int64{2, 2}, []float32{1, 2, 3, 4})
	if err != nil {
		f.Fatal(err)
	}
	b, err := FromFloat32("b", BF16, []int64{3}, []float32{1, -2, 0.5})
	if err != nil {
		f.Fatal(err)
	}
	p := filepath.Join(f.TempDir(), "seed.safetensors")
	if err := Write(p, []Tensor{a, b}, map[string]string{"format": "pt"}); err != nil {
		f.Fatal(err)
	}
	bs, err := os.ReadFile(p)
	if err != nil {
		f.Fatal(err)
	}
	return bs
}

// FuzzParseHeader: the header parser never panics, and every tensor it
// accepts lies inside the file.
func FuzzParseHeader(f *testing.F) {
	seed := seedFile(f)
	f.Add(seed)
	f.Add(seed[:12])
	f.Add([]byte("\x02\x00\x00\x00\x00\x00\x00\x00{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		es, _, err := parseHeader(b)
		if err != nil {
			return
		}
		for name, e := range es {
			if e == nil {
				t.Fatalf("tensor %q accepted without an entry", name)
			}
		}
	})
}

// FuzzOpenIndex: Open on a folder whose model.safetensors.index.json is
// arbitrary bytes (next to one valid shard) never panics.
func FuzzOpenIndex(f *testing.F) {
	shard := seedFile(f)
	f.Add([]byte(`{"metadata":{"total_size":22},"weight_map":{"a":"model-00001-of-00001.safetensors","b":"model-00001-of-00001.safetensors"}}`))
	f.Add([]byte(`{"weight_map":{"a":"../x.safetensors"}}`))
	f.Add([]byte(`{"weight_map":{}}`))
	f.Fuzz(func(t *testing.T, index []byte) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "model-00001-of-00001.safetensors"), shard, 0o644)
		p := filepath.Join(dir, "model.safetensors.index.json")
		os.WriteFile(p, index, 0o644)
		if file, err := Open(p); err == nil {
			file.Close()
		}
	})
}
