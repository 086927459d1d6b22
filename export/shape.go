package export

import (
	"fmt"
	"strconv"
	"strings"
)

// Dim is one dimension of a shape: a static size, or a symbolic name (a
// dimension that changes between runs, such as "batch" or "seq").
type Dim struct {
	Size int64  // valid when Name == ""
	Name string // symbolic dimension; Size is ignored
}

// Static reports whether the dimension has a known size.
func (d Dim) Static() bool { return d.Name == "" }

func (d Dim) String() string {
	if d.Name != "" {
		return d.Name
	}
	return strconv.FormatInt(d.Size, 10)
}

// Shape is a tensor shape with possibly symbolic dimensions.
type Shape []Dim

// S builds a Shape from ints (static) and strings (symbolic).
func S(dims ...any) Shape {
	s := make(Shape, len(dims))
	for i, d := range dims {
		switch v := d.(type) {
		case int:
			s[i] = Dim{Size: int64(v)}
		case int64:
			s[i] = Dim{Size: v}
		case int32:
			s[i] = Dim{Size: int64(v)}
		case string:
			s[i] = Dim{Name: v}
		case Dim:
			s[i] = v
		default:
			panic(errorf("export.S: dimension %d has unsupported type %T", i, d))
		}
	}
	return s
}

// StaticShape converts []int64 to a Shape.
func StaticShape(dims []int64) Shape {
	s := make(Shape, len(dims))
	for i, d := range dims {
		s[i] = Dim{Size: d}
	}
	return s
}

// Rank is the number of dimensions.
func (s Shape) Rank() int { return len(s) }

// IsStatic reports whether every dimension is known.
func (s Shape) IsStatic() bool {
	for _, d := range s {
		if !d.Static() {
			return false
		}
	}
	return true
}

// Ints returns the static sizes; it panics on a symbolic dimension.
func (s Shape) Ints() []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		if !d.Static() {
			panic(errorf("shape %v: dimension %d (%s) is symbolic", s, i, d.Name))
		}
		out[i] = d.Size
	}
	return out
}

// NumElements is the product of the static sizes (-1 if any is symbolic).
func (s Shape) NumElements() int64 {
	n := int64(1)
	for _, d := range s {
		if !d.Static() {
			return -1
		}
		n *= d.Size
	}
	return n
}

func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// Equal reports whether two shapes are the same (symbolic names compared by name).
func (s Shape) Equal(o Shape) bool {
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		if s[i] != o[i] {
			return false
		}
	}
	return true
}

// Clone returns a copy.
func (s Shape) Clone() Shape { return append(Shape(nil), s...) }

func (d Dim) isOne() bool { return d.Static() && d.Size == 1 }

// broadcastDim merges two dimensions under numpy broadcasting. Two
// different symbolic names are assumed equal (they cannot be checked here;
// ORT checks them at run time).
func broadcastDim(a, b Dim) (Dim, bool) {
	switch {
	case a == b:
		return a, true
	case a.isOne():
		return b, true
	case b.isOne():
		return a, true
	case a.Static() && b.Static():
		return Dim{}, false
	case a.Static():
		return a, true
	case b.Static():
		return b, true
	}
	return a, true
}

// Broadcast computes the numpy-broadcast shape of several shapes.
func Broadcast(shapes ...Shape) (Shape, error) {
	rank := 0
	for _, s := range shapes {
		rank = max(rank, len(s))
	}
	out := make(Shape, rank)
	for i := range out {
		out[i] = Dim{Size: 1}
	}
	for _, s := range shapes {
		off := rank - len(s)
		for i, d := range s {
			m, ok := broadcastDim(out[off+i], d)
			if !ok {
				return nil, fmt.Errorf("shapes %v cannot be broadcast (axis %d: %v vs %v)", shapes, off+i, out[off+i], d)
			}
			out[off+i] = m
		}
	}
	return out, nil
}

// dimProduct multiplies dimensions, giving a symbolic product name when any
// is symbolic ("batch*seq").
func dimProduct(ds ...Dim) Dim {
	n := int64(1)
	var names []string
	for _, d := range ds {
		if d.Static() {
			n *= d.Size
		} else {
			names = append(names, d.Name)
		}
	}
	if len(names) == 0 {
		return Dim{Size: n}
	}
	if n != 1 {
		names = append(names, strconv.FormatInt(n, 10))
	}
	return Dim{Name: strings.Join(names, "*")}
}

// normAxis maps a possibly negative axis into [0, rank).
func normAxis(axis int64, rank int) int {
	a := int(axis)
	if a < 0 {
		a += rank
	}
	if a < 0 || a >= rank {
		panic(errorf("axis %d out of range for rank %d", axis, rank))
	}
	return a
}
