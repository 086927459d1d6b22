package export

// vjpLogSoftmaxSparse is LogSoftmax's rule for the common case of a
// log-softmax whose only use is picking entries (GatherElements along the
// same axis, as a log-prob of targets does): the incoming cotangent is then
// GatherElements' scatter-add of the picked cotangents u into zeros, and
//
//	dx = dy − exp(y)·Σ dy = scatter_add(−exp(y)·Σu, idx, u)
//
// costs three passes over the full tensor (Exp, Mul, and the scatter's
// copy) instead of the general rule's three plus the zeros and the scatter
// that built dy (left unused, and pruned by ONNX Runtime). Any other
// cotangent takes the general rule.
func vjpLogSoftmaxSparse(g *Graph, n *Node, dys []*Value, need []bool) []*Value {
	y, dy := n.Outputs[0], dys[0]
	axis := normAxis(n.IntAttr("axis", -1), y.Rank())
	sc := dy.node
	if sc == nil || sc.Op != "ScatterElements" || len(sc.Inputs) != 3 || !isZeros(sc.Inputs[0]) {
		return vjpLogSoftmax(g, n, dys, need)
	}
	if r, ok := sc.Attr("reduction"); !ok || r.S != "add" || normAxis(sc.IntAttr("axis", 0), y.Rank()) != axis {
		return vjpLogSoftmax(g, n, dys, need)
	}
	idx, u := sc.Inputs[1], sc.Inputs[2]
	if !u.shape.Equal(idx.shape) || idx.Rank() != y.Rank() {
		return vjpLogSoftmax(g, n, dys, need)
	}
	s := g.ReduceSum(u, []int64{int64(axis)}, true)
	return []*Value{g.ScatterElements(g.Mul(g.Exp(y), g.Neg(s)), idx, u, int64(axis), "add")}
}

// isZeros reports whether v is a zero tensor made by ZerosLike.
func isZeros(v *Value) bool {
	n := v.node
	if n == nil {
		return false
	}
	switch n.Op {
	case "Expand":
		c := n.Inputs[0].init
		return c != nil && c.Shape != nil && len(c.Shape) == 0 && scalarIsZero(c)
	case "ConstantOfShape":
		a, ok := n.Attr("value")
		return ok && a.T != nil && scalarIsZero(a.T)
	}
	return false
}

func scalarIsZero(t *Tensor) bool {
	switch d := t.Data.(type) {
	case []float32:
		return len(d) == 1 && d[0] == 0
	case []float64:
		return len(d) == 1 && d[0] == 0
	}
	return false
}
