// Package export builds ONNX graphs in Go: a typed builder with shape
// inference (this file and ops*.go), reverse-mode autodiff (autodiff.go and
// vjp*.go), optimizer graphs (optim.go) and a protobuf writer (proto.go).
//
// Graphs target ONNX opset 17 (IR version 8, the onnx.proto of ONNX 1.12)
// in the default domain and opset 1 of ORT's com.microsoft domain for its
// contrib ops. A graph is built by calling methods on *Graph; each returns a
// *Value whose dtype and shape are inferred at build time, so a mismatch is
// caught where it is made, not when ORT loads the model.
package export

import (
	"fmt"
	"maps"
	"slices"
)

// Opset versions written into every model.
const (
	OpsetONNX      = 17
	OpsetMicrosoft = 1
	IRVersion      = 8
	// DomainMicrosoft is ORT's contrib-op domain.
	DomainMicrosoft = "com.microsoft"
)

type valueKind uint8

const (
	kindNode valueKind = iota
	kindInput
	kindInitializer
)

// Value is a tensor in a graph: a graph input, an initializer, or an
// output of a node.
type Value struct {
	g     *Graph
	name  string
	dtype DType
	shape Shape
	kind  valueKind
	node  *Node   // producer when kind == kindNode
	index int     // output index within node
	init  *Tensor // data when kind == kindInitializer
}

// Name is the value's name in the ONNX graph.
func (v *Value) Name() string { return v.name }

// DType is the element type.
func (v *Value) DType() DType { return v.dtype }

// Shape is the inferred shape (do not modify).
func (v *Value) Shape() Shape { return v.shape }

// Rank is the number of dimensions.
func (v *Value) Rank() int { return len(v.shape) }

// Graph returns the graph the value belongs to.
func (v *Value) Graph() *Graph { return v.g }

// Node returns the producing node, or nil for inputs and initializers.
func (v *Value) Node() *Node { return v.node }

// IsInitializer reports whether the value is a constant initializer.
func (v *Value) IsInitializer() bool { return v.kind == kindInitializer }

// IsInput reports whether the value is a graph input.
func (v *Value) IsInput() bool { return v.kind == kindInput }

// Tensor returns the constant data of an initializer (nil otherwise).
func (v *Value) Tensor() *Tensor { return v.init }

func (v *Value) String() string { return fmt.Sprintf("%s:%v%v", v.name, v.dtype, v.shape) }

// AttrKind is the type of a node attribute (AttributeProto.AttributeType).
type AttrKind int32

// Attribute kinds.
const (
	AttrFloat   AttrKind = 1
	AttrInt     AttrKind = 2
	AttrString  AttrKind = 3
	AttrTensor  AttrKind = 4
	AttrFloats  AttrKind = 6
	AttrInts    AttrKind = 7
	AttrStrings AttrKind = 8
)

// Attr is a node attribute.
type Attr struct {
	Name    string
	Kind    AttrKind
	F       float32
	I       int64
	S       string
	T       *Tensor
	Floats  []float32
	Ints    []int64
	Strings []string
}

// AInt, AInts, AFloat, AString and ATensor build attributes.
func AInt(name string, v int64) Attr         { return Attr{Name: name, Kind: AttrInt, I: v} }
func AInts(name string, v ...int64) Attr     { return Attr{Name: name, Kind: AttrInts, Ints: v} }
func AFloat(name string, v float32) Attr     { return Attr{Name: name, Kind: AttrFloat, F: v} }
func AString(name string, v string) Attr     { return Attr{Name: name, Kind: AttrString, S: v} }
func ATensor(name string, v *Tensor) Attr    { return Attr{Name: name, Kind: AttrTensor, T: v} }
func AFloats(name string, v ...float32) Attr { return Attr{Name: name, Kind: AttrFloats, Floats: v} }

// Node is one operator application.
type Node struct {
	Name    string
	Op      string
	Domain  string
	Inputs  []*Value // nil for an omitted optional input
	Outputs []*Value
	Attrs   []Attr
	// NoGrad marks a stop-gradient: autodiff does not propagate through it.
	NoGrad bool
}

// Attr returns the named attribute.
func (n *Node) Attr(name string) (Attr, bool) {
	for _, a := range n.Attrs {
		if a.Name == name {
			return a, true
		}
	}
	return Attr{}, false
}

// IntAttr returns an int attribute or def.
func (n *Node) IntAttr(name string, def int64) int64 {
	if a, ok := n.Attr(name); ok {
		return a.I
	}
	return def
}

// IntsAttr returns an ints attribute (nil if absent).
func (n *Node) IntsAttr(name string) []int64 {
	if a, ok := n.Attr(name); ok {
		return a.Ints
	}
	return nil
}

// FloatAttr returns a float attribute or def.
func (n *Node) FloatAttr(name string, def float32) float32 {
	if a, ok := n.Attr(name); ok {
		return a.F
	}
	return def
}

// Graph is an ONNX graph under construction. It is not safe for concurrent use.
type Graph struct {
	Name     string
	inputs   []*Value
	outputs  []*Value
	inits    []*Value
	nodes    []*Node
	names    map[string]bool
	counter  map[string]int
	metadata map[string]string
	consts   map[string]*Value // cache of small int64 constants by key
}

// NewGraph starts an empty graph.
func NewGraph(name string) *Graph {
	return &Graph{Name: name, names: map[string]bool{}, counter: map[string]int{},
		metadata: map[string]string{}, consts: map[string]*Value{}}
}

// SetMetadata records a key/value in the model's metadata_props (e.g. the
// graph kind and pz's version, checked when a session loads it).
func (g *Graph) SetMetadata(key, value string) { g.metadata[key] = value }

// Metadata returns a copy of the metadata.
func (g *Graph) Metadata() map[string]string { return maps.Clone(g.metadata) }

func (g *Graph) claim(name string) string {
	if g.names[name] {
		panic(errorf("graph %q: name %q is used twice", g.Name, name))
	}
	g.names[name] = true
	return name
}

// fresh returns an unused name with the given prefix.
func (g *Graph) fresh(prefix string) string {
	for {
		n := g.counter[prefix]
		g.counter[prefix] = n + 1
		name := fmt.Sprintf("%s_%d", prefix, n)
		if !g.names[name] {
			return g.claim(name)
		}
	}
}

// Input declares a graph input: a tensor that changes every run.
func (g *Graph) Input(name string, dt DType, shape Shape) *Value {
	v := &Value{g: g, name: g.claim(name), dtype: dt, shape: shape.Clone(), kind: kindInput}
	g.inputs = append(g.inputs, v)
	return v
}

// Initializer adds a named constant tensor (weights stored in the model).
func (g *Graph) Initializer(name string, t *Tensor) *Value {
	t.check(name)
	v := &Value{g: g, name: g.claim(name), dtype: t.DType, shape: StaticShape(t.Shape), kind: kindInitializer, init: t}
	g.inits = append(g.inits, v)
	return v
}

// Const adds an anonymous constant.
func (g *Graph) Const(t *Tensor) *Value {
	t.check("const")
	v := &Value{g: g, name: g.fresh("const"), dtype: t.DType, shape: StaticShape(t.Shape), kind: kindInitializer, init: t}
	g.inits = append(g.inits, v)
	return v
}

// Int64s is a 1-D int64 constant (shapes, axes, indices); identical
// constants are shared.
func (g *Graph) Int64s(vals ...int64) *Value {
	key := fmt.Sprint("i64", vals)
	if v, ok := g.consts[key]; ok {
		return v
	}
	v := g.Const(TensorI64([]int64{int64(len(vals))}, slices.Clone(vals)))
	g.consts[key] = v
	return v
}

// Scalar is a 0-d constant of dtype dt.
func (g *Graph) Scalar(dt DType, x float64) *Value {
	key := fmt.Sprint("s", dt, x)
	if v, ok := g.consts[key]; ok {
		return v
	}
	v := g.Const(scalarTensor(dt, x))
	g.consts[key] = v
	return v
}

// ScalarLike is a 0-d constant with v's dtype.
func (g *Graph) ScalarLike(v *Value, x float64) *Value { return g.Scalar(v.dtype, x) }

// Output marks v as a graph output called name. If v already has another
// name (or is an input or already an output), an Identity node renames it.
func (g *Graph) Output(name string, v *Value) *Value {
	g.own(v)
	if v.name != name || v.kind != kindNode || slices.Contains(g.outputs, v) {
		if g.names[name] {
			panic(errorf("graph %q: output name %q is used twice", g.Name, name))
		}
		n := g.addNode("Identity", "", []*Value{v}, nil, []outSpec{{v.dtype, v.shape}}, name)
		v = n.Outputs[0]
	}
	g.outputs = append(g.outputs, v)
	return v
}

// Inputs, Outputs, Initializers and Nodes expose the graph's parts (read only).
func (g *Graph) Inputs() []*Value       { return g.inputs }
func (g *Graph) Outputs() []*Value      { return g.outputs }
func (g *Graph) Initializers() []*Value { return g.inits }
func (g *Graph) Nodes() []*Node         { return g.nodes }

// ValueByName finds an input, initializer or node output.
func (g *Graph) ValueByName(name string) *Value {
	for _, v := range g.inputs {
		if v.name == name {
			return v
		}
	}
	for _, v := range g.inits {
		if v.name == name {
			return v
		}
	}
	for _, n := range g.nodes {
		for _, o := range n.Outputs {
			if o.name == name {
				return o
			}
		}
	}
	return nil
}

func (g *Graph) own(vs ...*Value) {
	for _, v := range vs {
		if v != nil && v.g != g {
			panic(errorf("graph %q: value %s belongs to another graph", g.Name, v.name))
		}
	}
}

type outSpec struct {
	dtype DType
	shape Shape
}

// addNode appends a node. outNames, when given, names the outputs;
// otherwise they are named after the node.
func (g *Graph) addNode(op, domain string, inputs []*Value, attrs []Attr, outs []outSpec, outNames ...string) *Node {
	g.own(inputs...)
	n := &Node{Name: g.fresh(op), Op: op, Domain: domain, Inputs: inputs, Attrs: attrs}
	for i, o := range outs {
		var name string
		if i < len(outNames) && outNames[i] != "" {
			name = g.claim(outNames[i])
		} else if len(outs) == 1 {
			name = g.claim(n.Name + "_out")
		} else {
			name = g.claim(fmt.Sprintf("%s_out%d", n.Name, i))
		}
		n.Outputs = append(n.Outputs, &Value{g: g, name: name, dtype: o.dtype, shape: o.shape, kind: kindNode, node: n, index: i})
	}
	g.nodes = append(g.nodes, n)
	return n
}

// Op adds an arbitrary node whose output types the caller states. Typed
// helpers (Add, MatMul, ...) are preferred: they infer shapes.
func (g *Graph) Op(op, domain string, inputs []*Value, attrs []Attr, outTypes ...OutType) []*Value {
	specs := make([]outSpec, len(outTypes))
	for i, t := range outTypes {
		specs[i] = outSpec{t.DType, t.Shape}
	}
	return g.addNode(op, domain, inputs, attrs, specs).Outputs
}

// OutType states the dtype and shape of an output of Op.
type OutType struct {
	DType DType
	Shape Shape
}
