package export

import (
	"fmt"
	"slices"
)

// Reverse-mode autodiff: one reverse sweep over the graph's nodes (which are
// kept in topological order by construction) plus a table of per-op
// vector-Jacobian rules (vjp.go) that emit ordinary ONNX nodes into the
// same graph. The resulting graph computes forward values and gradients in
// one Run.

// vjpRule returns the gradient contribution for each input of n, given the
// gradients dys of its outputs (nil for an output nothing depends on).
// need[i] says whether input i needs a gradient; a rule may return nil for
// inputs it was not asked about.
type vjpRule func(g *Graph, n *Node, dys []*Value, need []bool) []*Value

// Grad appends the gradient of the scalar (0-d or single-element) loss with
// respect to each of wrt and returns them in order. An input that loss does
// not depend on gets zeros. It panics with an *Error (an op with no VJP
// rule names the op) — call it inside Try, or use GradE.
func (g *Graph) Grad(loss *Value, wrt ...*Value) []*Value {
	if loss.shape.NumElements() != 1 {
		panic(errorf("Grad: loss %s must have one element", loss))
	}
	return g.VJP([]*Value{loss}, []*Value{g.ScalarLike(loss, 1)}, wrt)
}

// GradE is Grad returning an error instead of panicking.
func (g *Graph) GradE(loss *Value, wrt ...*Value) (grads []*Value, err error) {
	err = Try(func() { grads = g.Grad(loss, wrt...) })
	return grads, err
}

// VJP appends the vector-Jacobian product: the gradient of sum_i <ys[i],
// seeds[i]> with respect to each of xs. Seeds must broadcast to ys.
func (g *Graph) VJP(ys, seeds, xs []*Value) []*Value {
	g.own(ys...)
	g.own(seeds...)
	g.own(xs...)
	if len(ys) != len(seeds) {
		panic(errorf("VJP: %d outputs but %d seeds", len(ys), len(seeds)))
	}
	// Forward: which values depend on some x.
	dep := map[*Value]bool{}
	for _, x := range xs {
		if !x.dtype.IsFloat() {
			panic(errorf("VJP: cannot differentiate with respect to %s (not floating point)", x))
		}
		dep[x] = true
	}
	nodes := slices.Clone(g.nodes) // gradient nodes appended below are not revisited
	for _, n := range nodes {
		if n.NoGrad {
			continue
		}
		for _, in := range n.Inputs {
			if in != nil && dep[in] {
				for _, o := range n.Outputs {
					if o.dtype.IsFloat() {
						dep[o] = true
					}
				}
				break
			}
		}
	}
	grads := map[*Value]*Value{}
	accumulate := func(v, d *Value) {
		if prev, ok := grads[v]; ok {
			grads[v] = g.addGrads(prev, d)
		} else {
			grads[v] = d
		}
	}
	for i, y := range ys {
		if !dep[y] {
			continue
		}
		s := seeds[i]
		if s.dtype != y.dtype {
			panic(errorf("VJP: seed %s dtype differs from output %s", s, y))
		}
		if !s.shape.Equal(y.shape) {
			s = g.ExpandLike(s, y)
		}
		accumulate(y, s)
	}
	for i := len(nodes) - 1; i >= 0; i-- {
		n := nodes[i]
		if n.NoGrad {
			continue
		}
		dys := make([]*Value, len(n.Outputs))
		any := false
		for j, o := range n.Outputs {
			if d, ok := grads[o]; ok {
				dys[j] = d
				any = true
			}
		}
		if !any {
			continue
		}
		need := make([]bool, len(n.Inputs))
		needAny := false
		for j, in := range n.Inputs {
			need[j] = in != nil && dep[in]
			needAny = needAny || need[j]
		}
		if !needAny {
			continue
		}
		rule, ok := ruleFor(opKey(n))
		if !ok {
			panic(errorf("autodiff: no VJP rule for op %q (node %s)", opKey(n), n.Name))
		}
		dxs := rule(g, n, dys, need)
		if len(dxs) != len(n.Inputs) {
			panic(errorf("autodiff: VJP rule for %s returned %d gradients for %d inputs", n.Op, len(dxs), len(n.Inputs)))
		}
		for j, dx := range dxs {
			if !need[j] {
				continue
			}
			if dx == nil {
				panic(errorf("autodiff: VJP rule for %s (node %s) gave no gradient for input %d (%s)", n.Op, n.Name, j, n.Inputs[j]))
			}
			checkGradShape(n, j, dx)
			accumulate(n.Inputs[j], dx)
		}
	}
	out := make([]*Value, len(xs))
	for i, x := range xs {
		if d, ok := grads[x]; ok {
			out[i] = d
		} else {
			out[i] = g.ZerosLike(x)
		}
	}
	return out
}

func opKey(n *Node) string {
	if n.Domain != "" {
		return n.Domain + "." + n.Op
	}
	return n.Op
}

// checkGradShape verifies a returned gradient against its forward input:
// same dtype, same rank, equal static dimensions.
func checkGradShape(n *Node, j int, dx *Value) {
	x := n.Inputs[j]
	bad := dx.dtype != x.dtype || dx.Rank() != x.Rank()
	for k := 0; !bad && k < x.Rank(); k++ {
		a, b := x.shape[k], dx.shape[k]
		if a.Static() && b.Static() && a.Size != b.Size {
			bad = true
		}
	}
	if bad {
		panic(errorf("autodiff: gradient of %s input %d is %s, want %v%v (node %s)", n.Op, j, dx, x.dtype, x.shape, n.Name))
	}
}

// Unbroadcast sums d over the axes along which x was broadcast to d's
// shape, and reshapes the result to x's shape.
func (g *Graph) Unbroadcast(d, x *Value) *Value {
	if d.shape.Equal(x.shape) {
		return d
	}
	off := d.Rank() - x.Rank()
	if off < 0 {
		panic(errorf("unbroadcast: %s has lower rank than %s", d, x))
	}
	var axes []int64
	for i := 0; i < d.Rank(); i++ {
		if i < off {
			axes = append(axes, int64(i))
			continue
		}
		xd, dd := x.shape[i-off], d.shape[i]
		if xd.isOne() && !dd.isOne() {
			axes = append(axes, int64(i))
		}
	}
	r := d
	if len(axes) > 0 {
		r = g.ReduceSum(d, axes, true)
	}
	if r.Rank() != x.Rank() || !r.shape.Equal(x.shape) {
		r = g.ReshapeLike(r, x)
	}
	return r
}

func describe(n *Node) string { return fmt.Sprintf("%s (%s)", n.Name, n.Op) }

// addGrads sums two gradient contributions. A Gather's contribution is a
// scatter-add into zeros (vjpGather); summed with a dense contribution (a
// tied embedding's, whose lm_head use gives a full MatMul gradient) it is
// scattered straight into that one instead: one pass over the table
// instead of a zero fill, a scatter and a full-size Add.
func (g *Graph) addGrads(a, b *Value) *Value {
	if s, ok := g.scatterInto(a, b); ok {
		return s
	}
	if s, ok := g.scatterInto(b, a); ok {
		return s
	}
	return g.Add(a, b)
}

func (g *Graph) scatterInto(sparse, dense *Value) (*Value, bool) {
	if sparse.kind != kindNode || sparse.node.Op != "ScatterND" || sparse.dtype != dense.dtype || !sparse.shape.Equal(dense.shape) {
		return nil, false
	}
	n := sparse.node
	if r, ok := n.Attr("reduction"); !ok || r.S != "add" || !isZeros(n.Inputs[0]) {
		return nil, false
	}
	return g.ScatterND(dense, n.Inputs[1], n.Inputs[2], "add"), true
}
