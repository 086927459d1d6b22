package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"pz/internal/atomicfile"
)

// Tensor is one tensor to write: little-endian Data of DType and Shape.
type Tensor struct {
	Name  string
	DType DType
	Shape []int64
	Data  []byte
}

// FromFloat32 builds a Tensor of dtype d (F32, BF16, F16 or F64) from data,
// rounding to nearest even. Write a checkpoint back in its input dtype.
func FromFloat32(name string, d DType, shape []int64, data []float32) (Tensor, error) {
	if n := elements(shape); n != int64(len(data)) {
		return Tensor{}, fmt.Errorf("tensor %s: shape %v holds %d elements, got %d", name, shape, n, len(data))
	}
	b, err := Encode(d, data)
	if err != nil {
		return Tensor{}, fmt.Errorf("tensor %s: %w", name, err)
	}
	return Tensor{Name: name, DType: d, Shape: slices.Clone(shape), Data: b}, nil
}

// FromFloat64 builds an F64 Tensor (for float64 gradient checks).
func FromFloat64(name string, shape []int64, data []float64) (Tensor, error) {
	if n := elements(shape); n != int64(len(data)) {
		return Tensor{}, fmt.Errorf("tensor %s: shape %v holds %d elements, got %d", name, shape, n, len(data))
	}
	return Tensor{Name: name, DType: F64, Shape: slices.Clone(shape), Data: EncodeFloat64(data)}, nil
}

func elements(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}

// DefaultMetadata is written when Write gets none: transformers'
// save_pretrained writes it and from_pretrained expects "pt".
func DefaultMetadata() map[string]string { return map[string]string{"format": "pt"} }

func validate(tensors []Tensor) error {
	seen := map[string]bool{}
	for _, t := range tensors {
		switch {
		case t.Name == "" || t.Name == "__metadata__":
			return fmt.Errorf("tensor name %q is reserved or empty", t.Name)
		case seen[t.Name]:
			return fmt.Errorf("tensor %s: duplicate name", t.Name)
		case t.DType.Size() == 0:
			return fmt.Errorf("tensor %s: unknown dtype %q", t.Name, t.DType)
		}
		seen[t.Name] = true
		for _, d := range t.Shape {
			if d < 0 {
				return fmt.Errorf("tensor %s: negative dimension in shape %v", t.Name, t.Shape)
			}
		}
		if want := elements(t.Shape) * int64(t.DType.Size()); want != int64(len(t.Data)) {
			return fmt.Errorf("tensor %s: %d data bytes, shape %v of %s needs %d", t.Name, len(t.Data), t.Shape, t.DType, want)
		}
	}
	return nil
}

// layout orders tensors as the reference writer does (larger element size
// first, then by name) so every tensor stays aligned to its element size.
func layout(tensors []Tensor) []Tensor {
	out := slices.Clone(tensors)
	slices.SortStableFunc(out, func(a, b Tensor) int {
		if a.DType.Size() != b.DType.Size() {
			return b.DType.Size() - a.DType.Size()
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// header builds the JSON header padded with spaces to a multiple of 8.
func header(tensors []Tensor, metadata map[string]string) ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	if metadata == nil {
		metadata = DefaultMetadata()
	}
	m, err := json.Marshal(metadata)
	if err != nil {
		return nil, err
	}
	b.WriteString(`"__metadata__":`)
	b.Write(m)
	var off int64
	for _, t := range tensors {
		name, _ := json.Marshal(t.Name)
		shape := t.Shape
		if shape == nil {
			shape = []int64{}
		}
		s, _ := json.Marshal(shape)
		end := off + int64(len(t.Data))
		fmt.Fprintf(&b, `,%s:{"dtype":"%s","shape":%s,"data_offsets":[%d,%d]}`, name, t.DType, s, off, end)
		off = end
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	return []byte(b.String()), nil
}

// Write writes tensors to one safetensors file at path, atomically (a temp
// file in the same folder, then rename). A nil metadata writes
// {"format": "pt"}. Data is streamed, not copied into one buffer.
func Write(path string, tensors []Tensor, metadata map[string]string) error {
	if err := validate(tensors); err != nil {
		return fmt.Errorf("write safetensors %s: %w", path, err)
	}
	return writeFile(path, layout(tensors), metadata)
}

func writeFile(path string, tensors []Tensor, metadata map[string]string) error {
	h, err := header(tensors, metadata)
	if err != nil {
		return fmt.Errorf("write safetensors %s: field __metadata__: %w", path, err)
	}
	if len(h) > MaxHeaderSize {
		return fmt.Errorf("write safetensors %s: header of %d bytes exceeds the %d-byte limit", path, len(h), MaxHeaderSize)
	}
	return atomicWrite(path, func(w io.Writer) error {
		var n [8]byte
		for i := range 8 {
			n[i] = byte(uint64(len(h)) >> (8 * i))
		}
		w.Write(n[:])
		w.Write(h)
		for _, t := range tensors {
			if _, err := w.Write(t.Data); err != nil {
				return err
			}
		}
		return nil
	})
}

func atomicWrite(path string, fill func(io.Writer) error) error {
	if err := atomicfile.WriteFunc(path, 0o644, fill); err != nil {
		return fmt.Errorf("write %w", err)
	}
	return nil
}

// WriteModel writes tensors into the model folder dir as transformers'
// save_pretrained does: one model.safetensors when the data fits in
// maxShardBytes (or maxShardBytes <= 0), else model-0000i-of-0000n.safetensors
// shards of at most maxShardBytes each (a single larger tensor gets its own
// shard) plus model.safetensors.index.json, written last. Stale checkpoint
// files of the other layout are not removed.
func WriteModel(dir string, tensors []Tensor, metadata map[string]string, maxShardBytes int64) error {
	if err := validate(tensors); err != nil {
		return fmt.Errorf("write safetensors %s: %w", dir, err)
	}
	var total int64
	for _, t := range tensors {
		total += int64(len(t.Data))
	}
	if maxShardBytes <= 0 || total <= maxShardBytes {
		return writeFile(filepath.Join(dir, SingleFile), layout(tensors), metadata)
	}
	// Shards follow the caller's order, as save_pretrained does.
	var shards [][]Tensor
	var cur []Tensor
	var size int64
	for _, t := range tensors {
		if len(cur) > 0 && size+int64(len(t.Data)) > maxShardBytes {
			shards = append(shards, cur)
			cur, size = nil, 0
		}
		cur = append(cur, t)
		size += int64(len(t.Data))
	}
	shards = append(shards, cur)
	weightMap := map[string]string{}
	for i, s := range shards {
		name := fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(shards))
		if err := writeFile(filepath.Join(dir, name), layout(s), metadata); err != nil {
			return err
		}
		for _, t := range s {
			weightMap[t.Name] = name
		}
	}
	idx, err := json.MarshalIndent(map[string]any{
		"metadata":   map[string]any{"total_size": total},
		"weight_map": weightMap,
	}, "", "  ")
	if err != nil {
		return errors.New("write safetensors index: " + err.Error())
	}
	path := filepath.Join(dir, IndexFile)
	return atomicWrite(path, func(w io.Writer) error {
		_, err := w.Write(append(idx, '\n'))
		return err
	})
}
