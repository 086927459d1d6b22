package export

import (
	"math"
	"slices"
)

// ruleFor returns the VJP rule of an op (domain-qualified for contrib ops).
// A switch rather than a package-level map keeps the table immutable.
func ruleFor(op string) (vjpRule, bool) {
	switch op {
	case "Add":
		return vjpAdd, true
	case "Sub":
		return vjpSub, true
	case "Mul":
		return vjpMul, true
	case "Div":
		return vjpDiv, true
	case "Pow":
		return vjpPow, true
	case "Max":
		return vjpMaxMin(true), true
	case "Min":
		return vjpMaxMin(false), true
	case "Neg":
		return unaryRule(func(g *Graph, x, y, dy *Value) *Value { return g.Neg(dy) }), true
	case "Exp":
		return unaryRule(func(g *Graph, x, y, dy *Value) *Value { return g.Mul(dy, y) }), true
	case "Log":
		return unaryRule(func(g *Graph, x, y, dy *Value) *Value { return g.Div(dy, x) }), true
	case "Sqrt":
		return unaryRule(func(g *Graph, x, y, dy *Value) *Value {
			return g.Div(g.Mul(dy, g.ScalarLike(x, 0.5)), y)
		}), true
	case "Reciprocal":
		return unaryRule(func(g *Graph, x, y, dy *Value) *Value { return g.Neg(g.Mul(dy, g.Mul(y, y))) }), true
	case "Sigmoid":
		return unaryRule(func(g *Graph, x, y, dy *Value) *Value {
			return g.Mul(dy, g.Mul(y, g.Sub(g.ScalarLike(y, 1), y)))
		}), true
	case "Tanh":
		return unaryRule(func(g *Graph, x, y, dy *Value) *Value {
			return g.Mul(dy, g.Sub(g.ScalarLike(y, 1), g.Mul(y, y)))
		}), true
	case "Abs":
		return unaryRule(func(g *Graph, x, y, dy *Value) *Value { return g.Mul(dy, g.Sign(x)) }), true
	case "Relu":
		return unaryRule(func(g *Graph, x, y, dy *Value) *Value {
			return g.Where(g.Greater(x, g.ScalarLike(x, 0)), dy, g.ScalarLike(dy, 0))
		}), true
	case "Erf":
		return unaryRule(func(g *Graph, x, y, dy *Value) *Value {
			return g.Mul(dy, g.Mul(g.ScalarLike(x, 2/math.Sqrt(math.Pi)), g.Exp(g.Neg(g.Mul(x, x)))))
		}), true
	case "Cos":
		return unaryRule(func(g *Graph, x, y, dy *Value) *Value { return g.Neg(g.Mul(dy, g.Sin(x))) }), true
	case "Sin":
		return unaryRule(func(g *Graph, x, y, dy *Value) *Value { return g.Mul(dy, g.Cos(x)) }), true
	case "Identity":
		return unaryRule(func(g *Graph, x, y, dy *Value) *Value { return dy }), true
	case "Cast":
		return vjpCast, true
	case "Softmax":
		return vjpSoftmax, true
	case "LogSoftmax":
		return vjpLogSoftmaxSparse, true
	case "MatMul":
		return vjpMatMul, true
	case "ReduceSum":
		return vjpReduceSum, true
	case "ReduceMean":
		return vjpReduceMean, true
	case "ReduceMax", "ReduceMin":
		return vjpReduceMaxMin, true
	case "Reshape", "Squeeze", "Unsqueeze":
		return vjpReshape, true
	case "Transpose":
		return vjpTranspose, true
	case "Slice":
		return vjpSlice, true
	case "Concat":
		return vjpConcat, true
	case "Split":
		return vjpSplit, true
	case "Expand":
		return vjpExpand, true
	case "Gather":
		return vjpGather, true
	case "GatherElements":
		return vjpGatherElements, true
	case "ScatterND":
		return vjpScatterND, true
	case "Where":
		return vjpWhere, true
	case "Clip":
		return vjpClip, true
	case "Trilu":
		return vjpTrilu, true
	case "CumSum":
		return vjpCumSum, true
	}
	return nil, false
}

// unaryRule adapts f(g, x, y, dy) -> dx to a vjpRule for one-input ops.
func unaryRule(f func(g *Graph, x, y, dy *Value) *Value) vjpRule {
	return func(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
		return []*Value{f(g, n.Inputs[0], n.Outputs[0], dys[0])}
	}
}

// grads builds a gradient slice, applying each function only where needed.
func grads(need []bool, fs ...func() *Value) []*Value {
	out := make([]*Value, len(need))
	for i, f := range fs {
		if i < len(need) && need[i] && f != nil {
			out[i] = f()
		}
	}
	return out
}

func vjpAdd(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	a, b, dy := n.Inputs[0], n.Inputs[1], dys[0]
	return grads(need,
		func() *Value { return g.Unbroadcast(dy, a) },
		func() *Value { return g.Unbroadcast(dy, b) })
}

func vjpSub(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	a, b, dy := n.Inputs[0], n.Inputs[1], dys[0]
	return grads(need,
		func() *Value { return g.Unbroadcast(dy, a) },
		func() *Value { return g.Unbroadcast(g.Neg(dy), b) })
}

func vjpMul(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	a, b, dy := n.Inputs[0], n.Inputs[1], dys[0]
	return grads(need,
		func() *Value { return g.Unbroadcast(g.Mul(dy, b), a) },
		func() *Value { return g.Unbroadcast(g.Mul(dy, a), b) })
}

func vjpDiv(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	a, b, y, dy := n.Inputs[0], n.Inputs[1], n.Outputs[0], dys[0]
	return grads(need,
		func() *Value { return g.Unbroadcast(g.Div(dy, b), a) },
		// d(a/b)/db = -a/b^2 = -y/b
		func() *Value { return g.Unbroadcast(g.Neg(g.Div(g.Mul(dy, y), b)), b) })
}

func vjpPow(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	a, b, y, dy := n.Inputs[0], n.Inputs[1], n.Outputs[0], dys[0]
	return grads(need,
		// b * a^(b-1)
		func() *Value {
			return g.Unbroadcast(g.Mul(dy, g.Mul(b, g.Pow(a, g.Sub(b, g.ScalarLike(b, 1))))), a)
		},
		// a^b * log(a)
		func() *Value { return g.Unbroadcast(g.Mul(dy, g.Mul(y, g.Log(a))), b) })
}

// vjpMaxMin routes the gradient to the selected operand; ties go to the
// first operand.
func vjpMaxMin(isMax bool) vjpRule {
	return func(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
		if len(n.Inputs) != 2 {
			panic(errorf("autodiff: %s with %d inputs (only 2 supported)", n.Op, len(n.Inputs)))
		}
		a, b, dy := n.Inputs[0], n.Inputs[1], dys[0]
		var pickA *Value
		if isMax {
			pickA = g.GreaterOrEqual(a, b)
		} else {
			pickA = g.LessOrEqual(a, b)
		}
		zero := g.ScalarLike(dy, 0)
		return grads(need,
			func() *Value { return g.Unbroadcast(g.Where(pickA, dy, zero), a) },
			func() *Value { return g.Unbroadcast(g.Where(pickA, zero, dy), b) })
	}
}

func vjpCast(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	x := n.Inputs[0]
	if !x.dtype.IsFloat() {
		return []*Value{nil}
	}
	return []*Value{g.Cast(dys[0], x.dtype)}
}

func vjpSoftmax(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	y, dy := n.Outputs[0], dys[0]
	axis := n.IntAttr("axis", -1)
	s := g.ReduceSum(g.Mul(dy, y), []int64{axis}, true)
	return []*Value{g.Mul(y, g.Sub(dy, s))}
}

func vjpLogSoftmax(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	y, dy := n.Outputs[0], dys[0]
	axis := n.IntAttr("axis", -1)
	s := g.ReduceSum(dy, []int64{axis}, true)
	return []*Value{g.Sub(dy, g.Mul(g.Exp(y), s))}
}

// swapLast transposes the last two axes.
func (g *Graph) swapLast(x *Value) *Value {
	r := x.Rank()
	perm := make([]int64, r)
	for i := range perm {
		perm[i] = int64(i)
	}
	perm[r-1], perm[r-2] = perm[r-2], perm[r-1]
	return g.Transpose(x, perm...)
}

func vjpMatMul(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	a, b, dy := n.Inputs[0], n.Inputs[1], dys[0]
	return grads(need,
		func() *Value { return g.Unbroadcast(g.MatMul(dy, g.swapLast(b)), a) },
		func() *Value {
			if b.Rank() == 2 && a.Rank() > 2 {
				// A weight shared across the batch: fold the batch into the
				// rows so the gradient is one large MatMul, not a batched one
				// followed by a sum.
				k, nn := a.shape[a.Rank()-1], dy.shape[dy.Rank()-1]
				a2 := g.Reshape(a, -1, dimOrMinus(k))
				d2 := g.Reshape(dy, -1, dimOrMinus(nn))
				if b.kind == kindNode && b.node.Op == "Transpose" {
					// b = Wᵀ (a Hugging Face [out, in] weight used as x·Wᵀ):
					// Transpose's VJP will transpose this gradient back, so
					// write it as (d2ᵀ·a2)ᵀ, and the builder cancels the
					// pair into d2ᵀ·a2 — [out, in] straight from the MatMul
					// (ORT folds d2ᵀ into it) instead of a copy of every
					// weight gradient.
					return g.Transpose(g.MatMul(g.Transpose(d2, 1, 0), a2), 1, 0)
				}
				return g.MatMul(g.Transpose(a2, 1, 0), d2)
			}
			return g.Unbroadcast(g.MatMul(g.swapLast(a), dy), b)
		})
}

func dimOrMinus(d Dim) int64 {
	if d.Static() {
		return d.Size
	}
	panic(errorf("autodiff: MatMul weight gradient needs a static inner dimension, got %s", d.Name))
}

// restoreReduced gives dy (reduced over axes of x) the rank of x again.
func restoreReduced(g *Graph, n *Node, dy *Value, axes []int64) *Value {
	x := n.Inputs[0]
	if n.IntAttr("keepdims", 1) == 1 || x.Rank() == 0 {
		return dy
	}
	ax := normAxes(axes, x.Rank())
	slices.Sort(ax)
	ia := make([]int64, len(ax))
	for i, a := range ax {
		ia[i] = int64(a)
	}
	return g.Unsqueeze(dy, ia...)
}

// reduceAxes returns a reduce node's axes (input for ReduceSum, attribute
// otherwise), all axes when absent.
func reduceAxes(n *Node) []int64 {
	x := n.Inputs[0]
	var axes []int64
	if n.Op == "ReduceSum" {
		if len(n.Inputs) > 1 && n.Inputs[1] != nil {
			c := n.Inputs[1].init
			if c == nil {
				panic(errorf("autodiff: %s axes must be a constant", describe(n)))
			}
			axes = c.Data.([]int64)
		}
	} else {
		axes = n.IntsAttr("axes")
	}
	if len(axes) == 0 {
		axes = allAxes(x.Rank())
	}
	return axes
}

func vjpReduceSum(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	x := n.Inputs[0]
	d := restoreReduced(g, n, dys[0], reduceAxes(n))
	return []*Value{g.ExpandLike(d, x), nil}[:len(n.Inputs)]
}

func vjpReduceMean(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	x, y := n.Inputs[0], n.Outputs[0]
	d := restoreReduced(g, n, dys[0], reduceAxes(n))
	var count *Value
	if x.shape.IsStatic() && y.shape.IsStatic() {
		count = g.ScalarLike(x, float64(x.shape.NumElements()/max(1, y.shape.NumElements())))
	} else {
		sx := g.addNode("Size", "", []*Value{x}, nil, []outSpec{{Int64, Shape{}}}).Outputs[0]
		sy := g.addNode("Size", "", []*Value{y}, nil, []outSpec{{Int64, Shape{}}}).Outputs[0]
		count = g.Cast(g.Div(sx, sy), x.dtype)
	}
	return []*Value{g.ExpandLike(g.Div(d, count), x)}
}

func vjpReduceMaxMin(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	x := n.Inputs[0]
	axes := reduceAxes(n)
	y := restoreReduced(g, n, n.Outputs[0], axes)
	d := restoreReduced(g, n, dys[0], axes)
	// The gradient goes to every position equal to the extremum.
	return []*Value{g.Where(g.Equal(x, y), g.ExpandLike(d, x), g.ScalarLike(x, 0))}
}

func vjpReshape(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	out := make([]*Value, len(n.Inputs))
	out[0] = g.ReshapeLike(dys[0], n.Inputs[0])
	return out
}

func vjpTranspose(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	perm := n.IntsAttr("perm")
	inv := make([]int64, len(perm))
	for i, p := range perm {
		inv[p] = int64(i)
	}
	return []*Value{g.Transpose(dys[0], inv...)}
}

func constInts(n *Node, i int) []int64 {
	if i >= len(n.Inputs) || n.Inputs[i] == nil {
		return nil
	}
	c := n.Inputs[i].init
	if c == nil {
		panic(errorf("autodiff: %s input %d must be a constant", describe(n), i))
	}
	return c.Data.([]int64)
}

// vjpSlice pads the gradient back to the input's shape with zeros.
func vjpSlice(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	x, dy := n.Inputs[0], dys[0]
	starts, ends, axes, steps := constInts(n, 1), constInts(n, 2), constInts(n, 3), constInts(n, 4)
	if len(axes) == 0 {
		axes = allAxes(len(starts))
	}
	for _, s := range steps {
		if s != 1 {
			panic(errorf("autodiff: Slice with step %d has no VJP rule (only step 1)", s))
		}
	}
	r := x.Rank()
	before := make([]*Value, r)
	after := make([]*Value, r)
	zero := g.Int64s(0)
	for i := range r {
		before[i], after[i] = zero, zero
	}
	for i, ax := range normAxes(axes, r) {
		d := x.shape[ax]
		if d.Static() {
			b, e := clampSlice(starts[i], ends[i], d.Size)
			before[ax], after[ax] = g.Int64s(b), g.Int64s(d.Size-e)
			continue
		}
		// Symbolic axis: compute the clamped bounds at run time.
		dim := g.Gather(g.ShapeOf(x), g.Int64s(int64(ax)), 0)
		b := g.runtimeClamp(starts[i], dim)
		e := g.runtimeClamp(ends[i], dim)
		before[ax], after[ax] = b, g.Sub(dim, e)
	}
	pads := g.Concat(0, append(before, after...)...)
	out := make([]*Value, len(n.Inputs))
	out[0] = g.addNode("Pad", "", []*Value{dy, pads}, []Attr{AString("mode", "constant")}, []outSpec{{x.dtype, x.shape}}).Outputs[0]
	return out
}

func clampSlice(start, end, n int64) (int64, int64) {
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	return min(max(start, 0), n), min(max(end, 0), n)
}

// runtimeClamp is clampSlice for one bound against a runtime dimension
// (a 1-element int64 value).
func (g *Graph) runtimeClamp(v int64, dim *Value) *Value {
	c := g.Int64s(v)
	if v < 0 {
		c = g.Add(c, dim)
	}
	return g.Min(g.Max(c, g.Int64s(0)), dim)
}

func vjpConcat(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	axis := n.IntAttr("axis", 0)
	ax := normAxis(axis, n.Inputs[0].Rank())
	sizes := make([]*Value, len(n.Inputs))
	static := true
	var ss []int64
	for i, in := range n.Inputs {
		d := in.shape[ax]
		if d.Static() {
			ss = append(ss, d.Size)
			sizes[i] = g.Int64s(d.Size)
		} else {
			static = false
			sizes[i] = g.Gather(g.ShapeOf(in), g.Int64s(int64(ax)), 0)
		}
	}
	if static {
		return g.Split(dys[0], axis, ss...)
	}
	outs := make([]outSpec, len(n.Inputs))
	for i, in := range n.Inputs {
		outs[i] = outSpec{in.dtype, in.shape}
	}
	return g.addNode("Split", "", []*Value{dys[0], g.Concat(0, sizes...)}, []Attr{AInt("axis", axis)}, outs).Outputs
}

func vjpSplit(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	parts := make([]*Value, len(dys))
	for i, d := range dys {
		if d == nil {
			d = g.ZerosLike(n.Outputs[i])
		}
		parts[i] = d
	}
	out := make([]*Value, len(n.Inputs))
	out[0] = g.Concat(n.IntAttr("axis", 0), parts...)
	return out
}

func vjpExpand(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	return []*Value{g.Unbroadcast(dys[0], n.Inputs[0]), nil}
}

// vjpGather scatters the gradient rows back with add reduction (repeated
// indices accumulate, as an embedding gradient must).
func vjpGather(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	data, idx, dy := n.Inputs[0], n.Inputs[1], dys[0]
	if normAxis(n.IntAttr("axis", 0), data.Rank()) != 0 {
		panic(errorf("autodiff: Gather VJP supports axis 0 only (node %s)", n.Name))
	}
	if idx.dtype != Int64 {
		idx = g.Cast(idx, Int64)
	}
	out := g.ScatterND(g.ZerosLike(data), g.Unsqueeze(idx, -1), dy, "add")
	return []*Value{out, nil}
}

func vjpGatherElements(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	data, idx, dy := n.Inputs[0], n.Inputs[1], dys[0]
	out := g.ScatterElements(g.ZerosLike(data), idx, dy, n.IntAttr("axis", 0), "add")
	return []*Value{out, nil}
}

// vjpScatterND differentiates an accumulating ScatterND (reduction "add",
// as the MoE graph writes each expert's rows back): the data's gradient
// passes through unchanged, the updates' is the output gradient gathered
// at their indices. Overwriting scatters are not supported.
func vjpScatterND(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	if r, ok := n.Attr("reduction"); !ok || r.S != "add" {
		panic(errorf("autodiff: ScatterND VJP supports reduction add only (node %s)", n.Name))
	}
	idx, upd, dy := n.Inputs[1], n.Inputs[2], dys[0]
	return grads(need,
		func() *Value { return dy },
		nil,
		func() *Value {
			return g.Op("GatherND", "", []*Value{dy, idx}, nil, OutType{DType: dy.dtype, Shape: upd.shape})[0]
		})
}

func vjpWhere(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	c, x, y, dy := n.Inputs[0], n.Inputs[1], n.Inputs[2], dys[0]
	zero := g.ScalarLike(dy, 0)
	return grads(need, nil,
		func() *Value { return g.Unbroadcast(g.Where(c, dy, zero), x) },
		func() *Value { return g.Unbroadcast(g.Where(c, zero, dy), y) })
}

// vjpClip passes the gradient where lo <= x <= hi (bounds included, as
// PyTorch's clamp does). Gradients of the bounds are not supported.
func vjpClip(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	if (len(need) > 1 && need[1]) || (len(need) > 2 && need[2]) {
		panic(errorf("autodiff: Clip bounds must not depend on the differentiated inputs (node %s)", n.Name))
	}
	x, dy := n.Inputs[0], dys[0]
	mask := (*Value)(nil)
	if len(n.Inputs) > 1 && n.Inputs[1] != nil {
		mask = g.GreaterOrEqual(x, n.Inputs[1])
	}
	if len(n.Inputs) > 2 && n.Inputs[2] != nil {
		m := g.LessOrEqual(x, n.Inputs[2])
		if mask == nil {
			mask = m
		} else {
			mask = g.And(mask, m)
		}
	}
	out := make([]*Value, len(n.Inputs))
	if mask == nil {
		out[0] = dy
	} else {
		out[0] = g.Where(mask, dy, g.ScalarLike(dy, 0))
	}
	return out
}

func vjpTrilu(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	k := constInts(n, 1)
	kk := int64(0)
	if len(k) > 0 {
		kk = k[0]
	}
	return []*Value{g.Trilu(dys[0], kk, n.IntAttr("upper", 1) == 1), nil}[:len(n.Inputs)]
}

func vjpCumSum(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	ax := n.Inputs[1].init
	if ax == nil {
		panic(errorf("autodiff: CumSum axis must be a constant (node %s)", n.Name))
	}
	axis := ax.Data.([]int64)[0]
	return []*Value{g.CumSum(dys[0], axis, n.IntAttr("exclusive", 0) == 1, n.IntAttr("reverse", 0) == 0), nil}
}
