package export

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"

	"google.golang.org/protobuf/encoding/protowire"

	"pz/internal/atomicfile"
)

// The ONNX protobuf is written directly with protowire rather than through
// code generated from onnx.proto: pz only ever *writes* models (ORT reads
// them), the few messages involved have stable field numbers, and writing
// by hand lets large initializers stream to an external data file without
// first materialising a 2 GB message in memory. The field numbers below are
// those of onnx.proto (ONNX 1.12, IR version 8).
const (
	modelIRVersion     = 1
	modelProducerName  = 2
	modelProducerVer   = 3
	modelGraph         = 7
	modelOpsetImport   = 8
	modelMetadataProps = 14

	opsetDomain  = 1
	opsetVersion = 2

	graphNode        = 1
	graphName        = 2
	graphInitializer = 5
	graphInput       = 11
	graphOutput      = 12

	nodeInput     = 1
	nodeOutput    = 2
	nodeName      = 3
	nodeOpType    = 4
	nodeAttribute = 5
	nodeDomain    = 7

	attrName    = 1
	attrF       = 2
	attrI       = 3
	attrS       = 4
	attrT       = 5
	attrFloats  = 7
	attrInts    = 8
	attrStrings = 9
	attrType    = 20

	vinfoName = 1
	vinfoType = 2

	typeTensor     = 1
	tensorElemType = 1
	tensorShape    = 2
	shapeDim       = 1
	dimValue       = 1
	dimParam       = 2

	tpDims         = 1
	tpDataType     = 2
	tpName         = 8
	tpRawData      = 9
	tpExternalData = 13
	tpDataLocation = 14

	entryKey   = 1
	entryValue = 2
)

// Model is a finished graph, ready to serialise.
type Model struct {
	Graph *Graph
	// Producer names the writer in ModelProto.producer_name.
	Producer string
}

// Build checks the graph and prunes nodes and initializers that no output
// depends on (autodiff leaves some). Graph-building panics raised while
// pruning are returned as errors.
func (g *Graph) Build() (m *Model, err error) {
	err = Try(func() {
		if len(g.outputs) == 0 {
			panic(errorf("graph %q has no outputs", g.Name))
		}
		g.prune()
		m = &Model{Graph: g, Producer: "pz"}
	})
	return m, err
}

// prune drops nodes and initializers not needed by any output.
func (g *Graph) prune() {
	live := map[*Value]bool{}
	var stack []*Value
	for _, o := range g.outputs {
		stack = append(stack, o)
	}
	liveNodes := map[*Node]bool{}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if v == nil || live[v] {
			continue
		}
		live[v] = true
		if v.node != nil && !liveNodes[v.node] {
			liveNodes[v.node] = true
			stack = append(stack, v.node.Inputs...)
		}
	}
	g.nodes = slices.DeleteFunc(g.nodes, func(n *Node) bool { return !liveNodes[n] })
	g.inits = slices.DeleteFunc(g.inits, func(v *Value) bool { return !live[v] })
	for k, v := range g.consts {
		if !live[v] {
			delete(g.consts, k)
		}
	}
}

// Marshal encodes the model as ONNX protobuf with every initializer inline
// (protobuf caps a message at 2 GB; use WriteFile with external data for
// larger models).
func (m *Model) Marshal() ([]byte, error) {
	var total int64
	for _, v := range m.Graph.inits {
		total += v.init.NumElements() * int64(v.dtype.Size())
	}
	if total > 2<<30-(64<<20) {
		return nil, fmt.Errorf("model %q: %d bytes of initializers exceed protobuf's 2 GB limit: use WriteFile with external data", m.Graph.Name, total)
	}
	return m.encode(nil), nil
}

// ExternalData configures WriteFile: initializers of at least Threshold
// bytes go to one data file beside the model (ONNX external data).
type ExternalData struct {
	Threshold int64 // bytes; <= 0 means 1024
}

// WriteFile writes the model to path atomically (temp file + rename). With
// ext non-nil, large initializers are stored in path+".data".
func (m *Model) WriteFile(path string, ext *ExternalData) error {
	var extMap map[*Value]extLoc
	dataPath := path + ".data"
	if ext != nil {
		th := ext.Threshold
		if th <= 0 {
			th = 1024
		}
		var err error
		extMap, err = writeExternal(dataPath, m.Graph.inits, th)
		if err != nil {
			return err
		}
	}
	// The location recorded is relative to the model file.
	b := m.encode(func(v *Value) (extLoc, bool) {
		l, ok := extMap[v]
		l.file = filepath.Base(dataPath)
		return l, ok
	})
	return atomicfile.WriteFile(path, b, 0o644)
}

type extLoc struct {
	file           string
	offset, length int64
}

func writeExternal(path string, inits []*Value, threshold int64) (map[*Value]extLoc, error) {
	out := map[*Value]extLoc{}
	err := atomicfile.WriteFunc(path, 0o644, func(w io.Writer) error {
		var off int64
		for _, v := range inits {
			n := v.init.NumElements() * int64(v.dtype.Size())
			if n < threshold {
				continue
			}
			// Align each tensor to 4 KiB so it can be memory-mapped.
			if pad := (4096 - off%4096) % 4096; pad > 0 {
				if _, err := w.Write(make([]byte, pad)); err != nil {
					return err
				}
				off += pad
			}
			if _, err := w.Write(v.init.RawBytes()); err != nil {
				return err
			}
			out[v] = extLoc{offset: off, length: n}
			off += n
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("write external data %w", err)
	}
	return out, nil
}

func appendMsg(b []byte, field protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

func appendStr(b []byte, field protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendVarint(b []byte, field protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, field, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func (m *Model) encode(ext func(*Value) (extLoc, bool)) []byte {
	var b []byte
	b = appendVarint(b, modelIRVersion, IRVersion)
	b = appendStr(b, modelProducerName, m.Producer)
	b = appendStr(b, modelProducerVer, "1")
	b = appendMsg(b, modelGraph, encodeGraph(m.Graph, ext))
	b = appendMsg(b, modelOpsetImport, appendVarint(appendStr(nil, opsetDomain, ""), opsetVersion, OpsetONNX))
	if m.Graph.usesDomain(DomainMicrosoft) {
		b = appendMsg(b, modelOpsetImport, appendVarint(appendStr(nil, opsetDomain, DomainMicrosoft), opsetVersion, OpsetMicrosoft))
	}
	keys := make([]string, 0, len(m.Graph.metadata))
	for k := range m.Graph.metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b = appendMsg(b, modelMetadataProps, appendStr(appendStr(nil, entryKey, k), entryValue, m.Graph.metadata[k]))
	}
	return b
}

func (g *Graph) usesDomain(d string) bool {
	for _, n := range g.nodes {
		if n.Domain == d {
			return true
		}
	}
	return false
}

func encodeGraph(g *Graph, ext func(*Value) (extLoc, bool)) []byte {
	var b []byte
	for _, n := range g.nodes {
		b = appendMsg(b, graphNode, encodeNode(n))
	}
	b = appendStr(b, graphName, g.Name)
	for _, v := range g.inits {
		var loc *extLoc
		if ext != nil {
			if l, ok := ext(v); ok {
				loc = &l
			}
		}
		b = appendMsg(b, graphInitializer, encodeTensor(v.name, v.init, loc))
	}
	for _, v := range g.inputs {
		b = appendMsg(b, graphInput, encodeValueInfo(v))
	}
	for _, v := range g.outputs {
		b = appendMsg(b, graphOutput, encodeValueInfo(v))
	}
	return b
}

func encodeNode(n *Node) []byte {
	var b []byte
	for _, in := range n.Inputs {
		name := ""
		if in != nil {
			name = in.name
		}
		b = appendStr(b, nodeInput, name)
	}
	for _, o := range n.Outputs {
		b = appendStr(b, nodeOutput, o.name)
	}
	b = appendStr(b, nodeName, n.Name)
	b = appendStr(b, nodeOpType, n.Op)
	for _, a := range n.Attrs {
		b = appendMsg(b, nodeAttribute, encodeAttr(a))
	}
	if n.Domain != "" {
		b = appendStr(b, nodeDomain, n.Domain)
	}
	return b
}

func encodeAttr(a Attr) []byte {
	b := appendStr(nil, attrName, a.Name)
	switch a.Kind {
	case AttrFloat:
		b = protowire.AppendTag(b, attrF, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, float32bits(a.F))
	case AttrInt:
		b = appendVarint(b, attrI, uint64(a.I))
	case AttrString:
		b = appendStr(b, attrS, a.S)
	case AttrTensor:
		b = appendMsg(b, attrT, encodeTensor("", a.T, nil))
	case AttrFloats:
		var p []byte
		for _, f := range a.Floats {
			p = protowire.AppendFixed32(p, float32bits(f))
		}
		b = appendMsg(b, attrFloats, p)
	case AttrInts:
		var p []byte
		for _, i := range a.Ints {
			p = protowire.AppendVarint(p, uint64(i))
		}
		b = appendMsg(b, attrInts, p)
	case AttrStrings:
		for _, s := range a.Strings {
			b = appendStr(b, attrStrings, s)
		}
	}
	return appendVarint(b, attrType, uint64(a.Kind))
}

func encodeTensor(name string, t *Tensor, loc *extLoc) []byte {
	var b []byte
	if len(t.Shape) > 0 {
		var p []byte
		for _, d := range t.Shape {
			p = protowire.AppendVarint(p, uint64(d))
		}
		b = appendMsg(b, tpDims, p)
	}
	b = appendVarint(b, tpDataType, uint64(t.DType))
	if name != "" {
		b = appendStr(b, tpName, name)
	}
	if loc != nil {
		for _, kv := range [][2]string{{"location", loc.file}, {"offset", fmt.Sprint(loc.offset)}, {"length", fmt.Sprint(loc.length)}} {
			b = appendMsg(b, tpExternalData, appendStr(appendStr(nil, entryKey, kv[0]), entryValue, kv[1]))
		}
		return appendVarint(b, tpDataLocation, 1)
	}
	b = protowire.AppendTag(b, tpRawData, protowire.BytesType)
	return protowire.AppendBytes(b, t.RawBytes())
}

func encodeValueInfo(v *Value) []byte {
	var dims []byte
	for _, d := range v.shape {
		var db []byte
		if d.Static() {
			db = appendVarint(nil, dimValue, uint64(d.Size))
		} else {
			db = appendStr(nil, dimParam, d.Name)
		}
		dims = appendMsg(dims, shapeDim, db)
	}
	tt := appendVarint(nil, tensorElemType, uint64(v.dtype))
	tt = appendMsg(tt, tensorShape, dims)
	typ := appendMsg(nil, typeTensor, tt)
	return appendMsg(appendStr(nil, vinfoName, v.name), vinfoType, typ)
}
