package export

import (
	"fmt"
	"slices"
)

// This file holds the typed op helpers of the default ONNX domain, each
// with its shape inference. Shapes and dtypes are checked here, at build
// time; a mismatch panics with an *Error naming the op and both shapes.

func (g *Graph) sameDType(op string, vs ...*Value) DType {
	for _, v := range vs[1:] {
		if v.dtype != vs[0].dtype {
			panic(errorf("%s: dtype mismatch: %s vs %s", op, vs[0], v))
		}
	}
	return vs[0].dtype
}

func (g *Graph) binary(op string, a, b *Value, outDType DType) *Value {
	g.own(a, b)
	g.sameDType(op, a, b)
	s, err := Broadcast(a.shape, b.shape)
	if err != nil {
		panic(errorf("%s(%s, %s): %v", op, a, b, err))
	}
	if outDType == 0 {
		outDType = a.dtype
	}
	return g.addNode(op, "", []*Value{a, b}, nil, []outSpec{{outDType, s}}).Outputs[0]
}

// Add, Sub, Mul, Div, Pow, Max and Min are elementwise with numpy broadcasting.
func (g *Graph) Add(a, b *Value) *Value { return g.binary("Add", a, b, 0) }
func (g *Graph) Sub(a, b *Value) *Value { return g.binary("Sub", a, b, 0) }
func (g *Graph) Mul(a, b *Value) *Value { return g.binary("Mul", a, b, 0) }
func (g *Graph) Div(a, b *Value) *Value { return g.binary("Div", a, b, 0) }
func (g *Graph) Pow(a, b *Value) *Value { return g.binary("Pow", a, b, 0) }
func (g *Graph) Max(a, b *Value) *Value { return g.binary("Max", a, b, 0) }
func (g *Graph) Min(a, b *Value) *Value { return g.binary("Min", a, b, 0) }

// Equal, Less, Greater, LessOrEqual, GreaterOrEqual compare elementwise (bool out).
func (g *Graph) Equal(a, b *Value) *Value   { return g.binary("Equal", a, b, Bool) }
func (g *Graph) Less(a, b *Value) *Value    { return g.binary("Less", a, b, Bool) }
func (g *Graph) Greater(a, b *Value) *Value { return g.binary("Greater", a, b, Bool) }
func (g *Graph) LessOrEqual(a, b *Value) *Value {
	return g.binary("LessOrEqual", a, b, Bool)
}
func (g *Graph) GreaterOrEqual(a, b *Value) *Value {
	return g.binary("GreaterOrEqual", a, b, Bool)
}

// And, Or combine bool tensors.
func (g *Graph) And(a, b *Value) *Value { return g.binary("And", a, b, Bool) }
func (g *Graph) Or(a, b *Value) *Value  { return g.binary("Or", a, b, Bool) }

func (g *Graph) unary(op string, x *Value, attrs ...Attr) *Value {
	g.own(x)
	return g.addNode(op, "", []*Value{x}, attrs, []outSpec{{x.dtype, x.shape}}).Outputs[0]
}

// Unary elementwise ops.
func (g *Graph) Neg(x *Value) *Value        { return g.unary("Neg", x) }
func (g *Graph) Exp(x *Value) *Value        { return g.unary("Exp", x) }
func (g *Graph) Log(x *Value) *Value        { return g.unary("Log", x) }
func (g *Graph) Sqrt(x *Value) *Value       { return g.unary("Sqrt", x) }
func (g *Graph) Reciprocal(x *Value) *Value { return g.unary("Reciprocal", x) }
func (g *Graph) Sigmoid(x *Value) *Value    { return g.unary("Sigmoid", x) }
func (g *Graph) Tanh(x *Value) *Value       { return g.unary("Tanh", x) }
func (g *Graph) Abs(x *Value) *Value        { return g.unary("Abs", x) }
func (g *Graph) Relu(x *Value) *Value       { return g.unary("Relu", x) }
func (g *Graph) Identity(x *Value) *Value   { return g.unary("Identity", x) }
func (g *Graph) Not(x *Value) *Value        { return g.unary("Not", x) }
func (g *Graph) Sign(x *Value) *Value       { return g.unary("Sign", x) }
func (g *Graph) Cos(x *Value) *Value        { return g.unary("Cos", x) }
func (g *Graph) Sin(x *Value) *Value        { return g.unary("Sin", x) }
func (g *Graph) Erf(x *Value) *Value        { return g.unary("Erf", x) }
func (g *Graph) IsNaN(x *Value) *Value {
	return g.addNode("IsNaN", "", []*Value{x}, nil, []outSpec{{Bool, x.shape}}).Outputs[0]
}
func (g *Graph) IsInf(x *Value) *Value {
	return g.addNode("IsInf", "", []*Value{x}, nil, []outSpec{{Bool, x.shape}}).Outputs[0]
}

// StopGradient passes x through unchanged; autodiff does not propagate
// through it (an Identity node marked NoGrad).
func (g *Graph) StopGradient(x *Value) *Value {
	v := g.unary("Identity", x)
	v.node.NoGrad = true
	return v
}

// Softmax and LogSoftmax along axis.
func (g *Graph) Softmax(x *Value, axis int64) *Value {
	normAxis(axis, x.Rank())
	return g.unary("Softmax", x, AInt("axis", axis))
}
func (g *Graph) LogSoftmax(x *Value, axis int64) *Value {
	normAxis(axis, x.Rank())
	return g.unary("LogSoftmax", x, AInt("axis", axis))
}

// Cast converts to dtype to.
func (g *Graph) Cast(x *Value, to DType) *Value {
	g.own(x)
	return g.addNode("Cast", "", []*Value{x}, []Attr{AInt("to", int64(to))}, []outSpec{{to, x.shape}}).Outputs[0]
}

// Clip limits x to [lo, hi]; either bound may be nil. Bounds are 0-d
// tensors of x's dtype.
func (g *Graph) Clip(x, lo, hi *Value) *Value {
	g.own(x, lo, hi)
	for _, b := range []*Value{lo, hi} {
		if b != nil && (b.dtype != x.dtype || b.Rank() != 0) {
			panic(errorf("Clip(%s): bounds must be 0-d %v, got %s", x, x.dtype, b))
		}
	}
	return g.addNode("Clip", "", []*Value{x, lo, hi}, nil, []outSpec{{x.dtype, x.shape}}).Outputs[0]
}

// Where selects x where cond is true, else y (three-way broadcast).
func (g *Graph) Where(cond, x, y *Value) *Value {
	g.own(cond, x, y)
	if cond.dtype != Bool {
		panic(errorf("Where: condition %s must be bool", cond))
	}
	g.sameDType("Where", x, y)
	s, err := Broadcast(cond.shape, x.shape, y.shape)
	if err != nil {
		panic(errorf("Where(%s, %s, %s): %v", cond, x, y, err))
	}
	return g.addNode("Where", "", []*Value{cond, x, y}, nil, []outSpec{{x.dtype, s}}).Outputs[0]
}

// MatMul is numpy matmul for rank >= 2 operands with broadcast batch dims.
func (g *Graph) MatMul(a, b *Value) *Value {
	g.own(a, b)
	g.sameDType("MatMul", a, b)
	if a.Rank() < 2 || b.Rank() < 2 {
		panic(errorf("MatMul(%s, %s): operands must have rank >= 2", a, b))
	}
	k1, k2 := a.shape[a.Rank()-1], b.shape[b.Rank()-2]
	if k1.Static() && k2.Static() && k1.Size != k2.Size {
		panic(errorf("MatMul(%s, %s): inner dimensions differ (%v vs %v)", a, b, k1, k2))
	}
	batch, err := Broadcast(a.shape[:a.Rank()-2], b.shape[:b.Rank()-2])
	if err != nil {
		panic(errorf("MatMul(%s, %s): batch dims: %v", a, b, err))
	}
	out := append(batch, a.shape[a.Rank()-2], b.shape[b.Rank()-1])
	return g.addNode("MatMul", "", []*Value{a, b}, nil, []outSpec{{a.dtype, out}}).Outputs[0]
}

func normAxes(axes []int64, rank int) []int {
	out := make([]int, len(axes))
	for i, a := range axes {
		out[i] = normAxis(a, rank)
	}
	return out
}

func reducedShape(s Shape, axes []int, keepDims bool) Shape {
	var out Shape
	for i, d := range s {
		if slices.Contains(axes, i) {
			if keepDims {
				out = append(out, Dim{Size: 1})
			}
			continue
		}
		out = append(out, d)
	}
	return out
}

func allAxes(rank int) []int64 {
	a := make([]int64, rank)
	for i := range a {
		a[i] = int64(i)
	}
	return a
}

// ReduceSum sums over axes (all axes when empty). Axes are an input (opset 13+).
func (g *Graph) ReduceSum(x *Value, axes []int64, keepDims bool) *Value {
	g.own(x)
	if len(axes) == 0 {
		axes = allAxes(x.Rank())
	}
	ax := normAxes(axes, x.Rank())
	kd := int64(0)
	if keepDims {
		kd = 1
	}
	if x.Rank() == 0 {
		return g.Identity(x)
	}
	return g.addNode("ReduceSum", "", []*Value{x, g.Int64s(axes...)}, []Attr{AInt("keepdims", kd)},
		[]outSpec{{x.dtype, reducedShape(x.shape, ax, keepDims)}}).Outputs[0]
}

// reduceAttr covers ReduceMean/ReduceMax/ReduceMin, whose axes are still
// an attribute in opset 17.
func (g *Graph) reduceAttr(op string, x *Value, axes []int64, keepDims bool) *Value {
	g.own(x)
	if len(axes) == 0 {
		axes = allAxes(x.Rank())
	}
	ax := normAxes(axes, x.Rank())
	kd := int64(0)
	if keepDims {
		kd = 1
	}
	return g.addNode(op, "", []*Value{x}, []Attr{AInts("axes", axes...), AInt("keepdims", kd)},
		[]outSpec{{x.dtype, reducedShape(x.shape, ax, keepDims)}}).Outputs[0]
}

// ReduceMean, ReduceMax and ReduceMin reduce over axes (all when empty).
func (g *Graph) ReduceMean(x *Value, axes []int64, keepDims bool) *Value {
	return g.reduceAttr("ReduceMean", x, axes, keepDims)
}
func (g *Graph) ReduceMax(x *Value, axes []int64, keepDims bool) *Value {
	return g.reduceAttr("ReduceMax", x, axes, keepDims)
}
func (g *Graph) ReduceMin(x *Value, axes []int64, keepDims bool) *Value {
	return g.reduceAttr("ReduceMin", x, axes, keepDims)
}

// Reshape to a constant target shape using ONNX's conventions: 0 copies
// the input dimension, -1 is inferred (at most one).
func (g *Graph) Reshape(x *Value, target ...int64) *Value {
	g.own(x)
	out := make(Shape, len(target))
	infer := -1
	for i, t := range target {
		switch {
		case t == 0:
			if i >= x.Rank() {
				panic(errorf("Reshape(%s, %v): 0 at axis %d beyond input rank", x, target, i))
			}
			out[i] = x.shape[i]
		case t == -1:
			if infer >= 0 {
				panic(errorf("Reshape(%s, %v): more than one -1", x, target))
			}
			infer = i
		case t > 0:
			out[i] = Dim{Size: t}
		default:
			panic(errorf("Reshape(%s, %v): bad dimension %d", x, target, t))
		}
	}
	if infer >= 0 {
		out[infer] = inferDim(x.shape, out, infer)
	} else if n, m := x.shape.NumElements(), out.NumElements(); n >= 0 && m >= 0 && n != m {
		panic(errorf("Reshape(%s, %v): %d elements cannot become %d", x, target, n, m))
	}
	return g.addNode("Reshape", "", []*Value{x, g.Int64s(target...)}, nil, []outSpec{{x.dtype, out}}).Outputs[0]
}

// inferDim works out the -1 dimension of a reshape: the input's elements
// divided by the other output dims, symbolically where needed.
func inferDim(in, out Shape, skip int) Dim {
	// Cancel symbolic dims that appear on both sides, then divide statics.
	var inSyms []string
	inStatic := int64(1)
	for _, d := range in {
		if d.Static() {
			inStatic *= d.Size
		} else {
			inSyms = append(inSyms, d.Name)
		}
	}
	outStatic := int64(1)
	for i, d := range out {
		if i == skip {
			continue
		}
		if d.Static() {
			outStatic *= d.Size
		} else if j := slices.Index(inSyms, d.Name); j >= 0 {
			inSyms = slices.Delete(inSyms, j, j+1)
		} else {
			return Dim{Name: fmt.Sprintf("reshape_%v", in)}
		}
	}
	if outStatic == 0 || inStatic%outStatic != 0 {
		panic(errorf("Reshape: cannot infer -1 from %v to %v", in, out))
	}
	n := inStatic / outStatic
	if len(inSyms) == 0 {
		return Dim{Size: n}
	}
	ds := make([]Dim, 0, len(inSyms)+1)
	for _, s := range inSyms {
		ds = append(ds, Dim{Name: s})
	}
	ds = append(ds, Dim{Size: n})
	return dimProduct(ds...)
}

// ReshapeLike reshapes x to the (runtime) shape of like; used by autodiff
// where shapes are symbolic.
func (g *Graph) ReshapeLike(x, like *Value) *Value {
	g.own(x, like)
	if like.shape.IsStatic() {
		return g.Reshape(x, like.shape.Ints()...)
	}
	return g.addNode("Reshape", "", []*Value{x, g.ShapeOf(like)}, nil, []outSpec{{x.dtype, like.shape}}).Outputs[0]
}

// ShapeOf is ONNX Shape: the runtime shape of x as a 1-D int64 tensor.
func (g *Graph) ShapeOf(x *Value) *Value {
	g.own(x)
	return g.addNode("Shape", "", []*Value{x}, nil, []outSpec{{Int64, S(x.Rank())}}).Outputs[0]
}

// Transpose permutes axes (reverse when perm is empty).
func (g *Graph) Transpose(x *Value, perm ...int64) *Value {
	g.own(x)
	if len(perm) == 0 {
		for i := x.Rank() - 1; i >= 0; i-- {
			perm = append(perm, int64(i))
		}
	}
	if len(perm) != x.Rank() {
		panic(errorf("Transpose(%s): perm %v has wrong length", x, perm))
	}
	out := make(Shape, len(perm))
	seen := map[int64]bool{}
	for i, p := range perm {
		if p < 0 || int(p) >= x.Rank() || seen[p] {
			panic(errorf("Transpose(%s): bad perm %v", x, perm))
		}
		seen[p] = true
		out[i] = x.shape[p]
	}
	// A transpose of a transpose that composes to the identity is the
	// original value: autodiff produces such pairs (the gradient of a
	// transposed weight, see vjpMatMul), and each is a full copy at run time.
	if x.kind == kindNode && x.node.Op == "Transpose" {
		inner := x.node.IntsAttr("perm")
		identity := len(inner) == len(perm)
		for i, p := range perm {
			identity = identity && inner[p] == int64(i)
		}
		if identity {
			return x.node.Inputs[0]
		}
	}
	return g.addNode("Transpose", "", []*Value{x}, []Attr{AInts("perm", perm...)}, []outSpec{{x.dtype, out}}).Outputs[0]
}

// Unsqueeze inserts size-1 axes (positions in the output).
func (g *Graph) Unsqueeze(x *Value, axes ...int64) *Value {
	g.own(x)
	rank := x.Rank() + len(axes)
	ax := normAxes(axes, rank)
	out := make(Shape, 0, rank)
	j := 0
	for i := range rank {
		if slices.Contains(ax, i) {
			out = append(out, Dim{Size: 1})
		} else {
			out = append(out, x.shape[j])
			j++
		}
	}
	return g.addNode("Unsqueeze", "", []*Value{x, g.Int64s(axes...)}, nil, []outSpec{{x.dtype, out}}).Outputs[0]
}

// Squeeze removes size-1 axes.
func (g *Graph) Squeeze(x *Value, axes ...int64) *Value {
	g.own(x)
	ax := normAxes(axes, x.Rank())
	for _, a := range ax {
		if d := x.shape[a]; d.Static() && d.Size != 1 {
			panic(errorf("Squeeze(%s): axis %d has size %d", x, a, d.Size))
		}
	}
	return g.addNode("Squeeze", "", []*Value{x, g.Int64s(axes...)}, nil,
		[]outSpec{{x.dtype, reducedShape(x.shape, ax, false)}}).Outputs[0]
}

// Slice takes x[starts:ends:steps] along axes (constant bounds; ends may be
// math.MaxInt64 for "to the end", negative values count from the end).
func (g *Graph) Slice(x *Value, starts, ends, axes, steps []int64) *Value {
	g.own(x)
	if len(axes) == 0 {
		axes = allAxes(len(starts))
	}
	if len(steps) == 0 {
		steps = make([]int64, len(starts))
		for i := range steps {
			steps[i] = 1
		}
	}
	if len(ends) != len(starts) || len(axes) != len(starts) || len(steps) != len(starts) {
		panic(errorf("Slice(%s): starts/ends/axes/steps lengths differ", x))
	}
	out := x.shape.Clone()
	for i, a := range normAxes(axes, x.Rank()) {
		out[a] = sliceDim(x.shape[a], starts[i], ends[i], steps[i])
	}
	return g.addNode("Slice", "", []*Value{x, g.Int64s(starts...), g.Int64s(ends...), g.Int64s(axes...), g.Int64s(steps...)},
		nil, []outSpec{{x.dtype, out}}).Outputs[0]
}

func sliceDim(d Dim, start, end, step int64) Dim {
	if step == 0 {
		panic(errorf("Slice: step 0"))
	}
	if !d.Static() {
		// Bounds both non-negative and finite give a static size even on a
		// symbolic axis (the common "first k" case); otherwise symbolic.
		if start >= 0 && end >= 0 && end < 1<<40 && step > 0 {
			return Dim{Size: max(0, (end-start+step-1)/step)}
		}
		return Dim{Name: fmt.Sprintf("%s[%d:%d:%d]", d.Name, start, end, step)}
	}
	n := d.Size
	clamp := func(v, lo, hi int64) int64 { return min(max(v, lo), hi) }
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	if step > 0 {
		start, end = clamp(start, 0, n), clamp(end, 0, n)
		return Dim{Size: max(0, (end-start+step-1)/step)}
	}
	start, end = clamp(start, -1, n-1), clamp(end, -1, n-1)
	return Dim{Size: max(0, (start-end-step-1)/(-step))}
}

// Concat joins values along axis.
func (g *Graph) Concat(axis int64, vs ...*Value) *Value {
	g.own(vs...)
	if len(vs) == 0 {
		panic(errorf("Concat: no inputs"))
	}
	g.sameDType("Concat", vs...)
	a := normAxis(axis, vs[0].Rank())
	out := vs[0].shape.Clone()
	parts := []Dim{vs[0].shape[a]}
	for _, v := range vs[1:] {
		if v.Rank() != vs[0].Rank() {
			panic(errorf("Concat: rank mismatch %s vs %s", vs[0], v))
		}
		for i := range out {
			if i != a && out[i].Static() && v.shape[i].Static() && out[i] != v.shape[i] {
				panic(errorf("Concat along %d: %s vs %s differ at axis %d", axis, vs[0], v, i))
			}
		}
		parts = append(parts, v.shape[a])
	}
	out[a] = dimSum(parts)
	return g.addNode("Concat", "", vs, []Attr{AInt("axis", axis)}, []outSpec{{vs[0].dtype, out}}).Outputs[0]
}

func dimSum(ds []Dim) Dim {
	n := int64(0)
	var names []string
	for _, d := range ds {
		if d.Static() {
			n += d.Size
		} else {
			names = append(names, d.Name)
		}
	}
	if len(names) == 0 {
		return Dim{Size: n}
	}
	s := fmt.Sprint(names[0])
	for _, x := range names[1:] {
		s += "+" + x
	}
	if n != 0 {
		s += fmt.Sprintf("+%d", n)
	}
	return Dim{Name: s}
}

// Split cuts x along axis into pieces of the given sizes.
func (g *Graph) Split(x *Value, axis int64, sizes ...int64) []*Value {
	g.own(x)
	a := normAxis(axis, x.Rank())
	total := int64(0)
	outs := make([]outSpec, len(sizes))
	for i, s := range sizes {
		total += s
		sh := x.shape.Clone()
		sh[a] = Dim{Size: s}
		outs[i] = outSpec{x.dtype, sh}
	}
	if d := x.shape[a]; d.Static() && d.Size != total {
		panic(errorf("Split(%s, axis %d): sizes %v sum to %d", x, axis, sizes, total))
	}
	return g.addNode("Split", "", []*Value{x, g.Int64s(sizes...)}, []Attr{AInt("axis", axis)}, outs).Outputs
}

// Expand broadcasts x to shape (a 1-D int64 value; use Int64s for a
// constant) whose result shape the caller states as out.
func (g *Graph) Expand(x, shape *Value, out Shape) *Value {
	g.own(x, shape)
	if _, err := Broadcast(x.shape, out); err != nil {
		panic(errorf("Expand(%s) to %v: %v", x, out, err))
	}
	bs, _ := Broadcast(x.shape, out)
	return g.addNode("Expand", "", []*Value{x, shape}, nil, []outSpec{{x.dtype, bs}}).Outputs[0]
}

// ExpandTo broadcasts x to a constant shape.
func (g *Graph) ExpandTo(x *Value, dims ...int64) *Value {
	return g.Expand(x, g.Int64s(dims...), StaticShape(dims))
}

// ExpandLike broadcasts x to the runtime shape of like.
func (g *Graph) ExpandLike(x, like *Value) *Value {
	if like.shape.IsStatic() {
		return g.ExpandTo(x, like.shape.Ints()...)
	}
	return g.Expand(x, g.ShapeOf(like), like.shape)
}

// Gather takes slices of data along axis at integer indices (embedding lookup).
func (g *Graph) Gather(data, indices *Value, axis int64) *Value {
	g.own(data, indices)
	if indices.dtype != Int64 && indices.dtype != Int32 {
		panic(errorf("Gather: indices %s must be int32/int64", indices))
	}
	a := normAxis(axis, data.Rank())
	out := append(append(data.shape[:a:a].Clone(), indices.shape...), data.shape[a+1:]...)
	return g.addNode("Gather", "", []*Value{data, indices}, []Attr{AInt("axis", axis)}, []outSpec{{data.dtype, out}}).Outputs[0]
}

// GatherElements picks data elements by an index tensor of the same rank.
func (g *Graph) GatherElements(data, indices *Value, axis int64) *Value {
	g.own(data, indices)
	if indices.Rank() != data.Rank() {
		panic(errorf("GatherElements: rank of %s differs from %s", indices, data))
	}
	normAxis(axis, data.Rank())
	return g.addNode("GatherElements", "", []*Value{data, indices}, []Attr{AInt("axis", axis)},
		[]outSpec{{data.dtype, indices.shape}}).Outputs[0]
}

// ScatterElements writes (or, with reduction "add", accumulates) updates
// into data at indices along axis.
func (g *Graph) ScatterElements(data, indices, updates *Value, axis int64, reduction string) *Value {
	g.own(data, indices, updates)
	attrs := []Attr{AInt("axis", axis)}
	if reduction != "" && reduction != "none" {
		attrs = append(attrs, AString("reduction", reduction))
	}
	return g.addNode("ScatterElements", "", []*Value{data, indices, updates}, attrs,
		[]outSpec{{data.dtype, data.shape}}).Outputs[0]
}

// ScatterND writes (or accumulates with reduction "add") slices of updates
// into data at the index tuples in indices.
func (g *Graph) ScatterND(data, indices, updates *Value, reduction string) *Value {
	g.own(data, indices, updates)
	var attrs []Attr
	if reduction != "" && reduction != "none" {
		attrs = append(attrs, AString("reduction", reduction))
	}
	return g.addNode("ScatterND", "", []*Value{data, indices, updates}, attrs,
		[]outSpec{{data.dtype, data.shape}}).Outputs[0]
}

// ConstantOfShape makes a tensor of runtime shape (1-D int64 value) filled
// with value; out states the resulting shape.
func (g *Graph) ConstantOfShape(shape *Value, dt DType, value float64, out Shape) *Value {
	g.own(shape)
	t := scalarTensor(dt, value)
	t.Shape = []int64{1}
	return g.addNode("ConstantOfShape", "", []*Value{shape}, []Attr{ATensor("value", t)}, []outSpec{{dt, out}}).Outputs[0]
}

// ZerosLike is a zero tensor with x's runtime shape and dtype.
func (g *Graph) ZerosLike(x *Value) *Value {
	if x.shape.IsStatic() {
		return g.ExpandTo(g.ScalarLike(x, 0), x.shape.Ints()...)
	}
	return g.ConstantOfShape(g.ShapeOf(x), x.dtype, 0, x.shape)
}

// Trilu keeps the upper (upper=true) or lower triangle of the last two axes,
// offset by k diagonals.
func (g *Graph) Trilu(x *Value, k int64, upper bool) *Value {
	u := int64(0)
	if upper {
		u = 1
	}
	return g.addNode("Trilu", "", []*Value{x, g.Const(TensorI64([]int64{}, []int64{k}))}, []Attr{AInt("upper", u)}, []outSpec{{x.dtype, x.shape}}).Outputs[0]
}

// CumSum is the cumulative sum along axis.
func (g *Graph) CumSum(x *Value, axis int64, exclusive, reverse bool) *Value {
	normAxis(axis, x.Rank())
	var attrs []Attr
	if exclusive {
		attrs = append(attrs, AInt("exclusive", 1))
	}
	if reverse {
		attrs = append(attrs, AInt("reverse", 1))
	}
	ax := g.Const(TensorI64([]int64{}, []int64{axis}))
	return g.addNode("CumSum", "", []*Value{x, ax}, attrs, []outSpec{{x.dtype, x.shape}}).Outputs[0]
}

// Range is ONNX Range over 0-d start/limit/delta; n states the output length.
func (g *Graph) Range(start, limit, delta *Value, n Dim) *Value {
	g.sameDType("Range", start, limit, delta)
	return g.addNode("Range", "", []*Value{start, limit, delta}, nil, []outSpec{{start.dtype, Shape{n}}}).Outputs[0]
}

// ArgMax along axis (int64 out).
func (g *Graph) ArgMax(x *Value, axis int64, keepDims bool) *Value {
	a := normAxis(axis, x.Rank())
	kd := int64(0)
	if keepDims {
		kd = 1
	}
	return g.addNode("ArgMax", "", []*Value{x}, []Attr{AInt("axis", axis), AInt("keepdims", kd)},
		[]outSpec{{Int64, reducedShape(x.shape, []int{a}, keepDims)}}).Outputs[0]
}
