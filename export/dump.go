package export

import (
	"fmt"
	"math"
	"strings"
)

// Dump writes a readable, deterministic text form of the graph: one line
// per input, initializer, node and output, with dtypes and inferred shapes.
// Golden tests compare it.
func (g *Graph) Dump() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "graph %s\n", g.Name)
	for _, v := range g.inputs {
		fmt.Fprintf(&sb, "input  %s: %v%v\n", v.name, v.dtype, v.shape)
	}
	for _, v := range g.inits {
		fmt.Fprintf(&sb, "init   %s: %v%v%s\n", v.name, v.dtype, v.shape, smallValues(v.init))
	}
	for _, n := range g.nodes {
		ins := make([]string, len(n.Inputs))
		for i, in := range n.Inputs {
			if in == nil {
				ins[i] = "_"
			} else {
				ins[i] = in.name
			}
		}
		outs := make([]string, len(n.Outputs))
		for i, o := range n.Outputs {
			outs[i] = fmt.Sprintf("%s: %v%v", o.name, o.dtype, o.shape)
		}
		op := n.Op
		if n.Domain != "" {
			op = n.Domain + "." + op
		}
		var attrs []string
		for _, a := range n.Attrs {
			attrs = append(attrs, a.Name+"="+a.valueString())
		}
		as := ""
		if len(attrs) > 0 {
			as = " {" + strings.Join(attrs, ", ") + "}"
		}
		ng := ""
		if n.NoGrad {
			ng = " nograd"
		}
		fmt.Fprintf(&sb, "node   %s = %s(%s)%s%s\n", strings.Join(outs, ", "), op, strings.Join(ins, ", "), as, ng)
	}
	for _, v := range g.outputs {
		fmt.Fprintf(&sb, "output %s: %v%v\n", v.name, v.dtype, v.shape)
	}
	return sb.String()
}

func (a Attr) valueString() string {
	switch a.Kind {
	case AttrFloat:
		return fmt.Sprint(a.F)
	case AttrInt:
		return fmt.Sprint(a.I)
	case AttrString:
		return fmt.Sprintf("%q", a.S)
	case AttrTensor:
		return fmt.Sprintf("%v%v%s", a.T.DType, a.T.Shape, smallValues(a.T))
	case AttrFloats:
		return fmt.Sprint(a.Floats)
	case AttrInts:
		return fmt.Sprint(a.Ints)
	case AttrStrings:
		return fmt.Sprint(a.Strings)
	}
	return "?"
}

// smallValues shows the data of tiny constants (shapes, axes, scalars).
func smallValues(t *Tensor) string {
	if t == nil || t.NumElements() > 8 {
		return ""
	}
	return fmt.Sprintf(" = %v", t.Data)
}

func float32bits(f float32) uint32 { return math.Float32bits(f) }
