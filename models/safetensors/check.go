package safetensors

import (
	"fmt"
	"slices"
	"strings"
)

// Spec is a tensor a checkpoint must hold. models.TensorSpec converts to it
// directly: safetensors.Spec(s).
type Spec struct {
	Name  string
	Shape []int64
}

// CheckError lists every problem Check found, each by full tensor name.
type CheckError struct {
	Path       string
	Missing    []string // "name [shape]"
	Unexpected []string // "name [shape]"
	Mismatched []string // "name: shape [..], want [..]"
}

func (e *CheckError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "safetensors %s: %d missing, %d unexpected, %d wrong-shape tensors", e.Path, len(e.Missing), len(e.Unexpected), len(e.Mismatched))
	for _, s := range e.Missing {
		b.WriteString("\n  missing " + s)
	}
	for _, s := range e.Unexpected {
		b.WriteString("\n  unexpected " + s)
	}
	for _, s := range e.Mismatched {
		b.WriteString("\n  wrong shape " + s)
	}
	return b.String()
}

// Check compares the checkpoint against specs and reports every missing,
// unexpected and wrong-shape tensor (a *CheckError), or nil when they match.
// Dtypes are not checked: any float type converts.
func (f *File) Check(specs []Spec) error {
	e := &CheckError{Path: f.path}
	want := make(map[string]bool, len(specs))
	for _, s := range specs {
		want[s.Name] = true
		got, ok := f.tensors[s.Name]
		switch {
		case !ok:
			e.Missing = append(e.Missing, fmt.Sprintf("%s %v", s.Name, s.Shape))
		case !slices.Equal(got.shape, s.Shape):
			e.Mismatched = append(e.Mismatched, fmt.Sprintf("%s: shape %v, want %v", s.Name, got.shape, s.Shape))
		case !got.dtype.IsFloat():
			e.Mismatched = append(e.Mismatched, fmt.Sprintf("%s: dtype %s, want a float type", s.Name, got.dtype))
		}
	}
	for _, n := range f.names {
		if !want[n] {
			e.Unexpected = append(e.Unexpected, fmt.Sprintf("%s %v", n, f.tensors[n].shape))
		}
	}
	if len(e.Missing)+len(e.Unexpected)+len(e.Mismatched) == 0 {
		return nil
	}
	return e
}
