package export_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"pz/export"
	"pz/export/exporttest"
	"pz/export/mlp"
	"pz/export/ort"
)

// BenchmarkTrainStep times one training step of the end-to-end model
// (forward + loss + backward + AdamW, through ORT) and reports it per
// example, with the optimizer as a separate graph and session (the
// learner's layout) and fused into the training graph.
//
//	go test ./export -run '^$' -bench TrainStep
func BenchmarkTrainStep(b *testing.B) {
	rt := exporttest.Runtime(b)
	for _, batch := range []int{32, 256} {
		for _, fused := range []bool{false, true} {
			for _, threads := range []int{1, 0} {
				name := fmt.Sprintf("batch=%d/%s/threads=%d", batch, map[bool]string{false: "separate", true: "fused"}[fused], threads)
				b.Run(name, func(b *testing.B) {
					opts := mlp.Options{Seed: 1, Batch: batch, LR: 0.05, Fused: fused, Threads: threads, Optimizer: export.DefaultAdamW()}
					tr, err := mlp.NewTrainer(rt, opts)
					if err != nil {
						b.Fatal(err)
					}
					defer tr.Close()
					x, labels := mlp.DefaultConfig().XOR(batch, 1)
					ctx := context.Background()
					for b.Loop() {
						if _, err := tr.Step(ctx, x, labels); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/example")
				})
			}
		}
	}
}

// Qwen2.5-0.5B shapes: 24 layers in the real model; the benchmark stacks 28
// (a Qwen2.5-1.5B/Qwen3-0.6B-deep stack) of its layer shapes.
const (
	decLayers  = 28
	decHidden  = 896
	decFFN     = 4864
	decHeads   = 14
	decKVHeads = 2
	decHeadDim = 64
)

// decoderWeights are the MatMul weights of one layer, named as in Hugging
// Face checkpoints but stored [in, out] so each projection is one MatMul
// with no Transpose.
func decoderWeights(layer int) []export.Param {
	p := func(name string, in, out int) export.Param {
		return export.Param{Name: fmt.Sprintf("model.layers.%d.%s.weight", layer, name), DType: export.Float32, Shape: []int64{int64(in), int64(out)}}
	}
	return []export.Param{
		p("self_attn.q_proj", decHidden, decHeads*decHeadDim),
		p("self_attn.k_proj", decHidden, decKVHeads*decHeadDim),
		p("self_attn.v_proj", decHidden, decKVHeads*decHeadDim),
		p("self_attn.o_proj", decHeads*decHeadDim, decHidden),
		p("mlp.gate_proj", decHidden, decFFN),
		p("mlp.up_proj", decHidden, decFFN),
		p("mlp.down_proj", decFFN, decHidden),
	}
}

// decoderStack builds the synthetic stack: per layer the seven projections
// of a decoder layer (attention itself replaced by the identity, the MLP a
// real SwiGLU) with residual adds, outputs the final hidden state and each
// layer's k and v (as a decode graph's present.* would). Weights come from
// weight(param): a graph input when it returns nil, else an initializer.
func decoderStack(weight func(export.Param) *export.Tensor) *export.Graph {
	g := export.NewGraph("decoder_stack")
	h := g.Input("hidden_states", export.Float32, export.S(1, "seq", decHidden))
	for l := range decLayers {
		ws := map[string]*export.Value{}
		for _, p := range decoderWeights(l) {
			if t := weight(p); t != nil {
				ws[p.Name] = g.Initializer(p.Name, t)
			} else {
				ws[p.Name] = g.Input(p.Name, p.DType, export.StaticShape(p.Shape))
			}
		}
		w := func(name string) *export.Value { return ws[fmt.Sprintf("model.layers.%d.%s.weight", l, name)] }
		q := g.MatMul(h, w("self_attn.q_proj"))
		g.Output(fmt.Sprintf("present.%d.key", l), g.MatMul(h, w("self_attn.k_proj")))
		g.Output(fmt.Sprintf("present.%d.value", l), g.MatMul(h, w("self_attn.v_proj")))
		h = g.Add(h, g.MatMul(q, w("self_attn.o_proj")))
		gate := g.MatMul(h, w("mlp.gate_proj"))
		act := g.Mul(g.Mul(gate, g.Sigmoid(gate)), g.MatMul(h, w("mlp.up_proj")))
		h = g.Add(h, g.MatMul(act, w("mlp.down_proj")))
	}
	g.Output("last_hidden_state", h)
	return g
}

// decoderData fills every weight of the stack with small pseudo-random
// values (xorshift; the values do not matter, their bytes do).
func decoderData() map[string][]float32 {
	out := map[string][]float32{}
	s := uint32(2463534242)
	for l := range decLayers {
		for _, p := range decoderWeights(l) {
			x := make([]float32, ort.NumElements(p.Shape))
			for i := range x {
				s ^= s << 13
				s ^= s >> 17
				s ^= s << 5
				x[i] = (float32(s)/(1<<32) - 0.5) * 0.04
			}
			out[p.Name] = x
		}
	}
	return out
}

// BenchmarkDecoderStack times building, serialising and loading a
// 28-layer decoder-sized stack of MatMuls (Qwen2.5-0.5B layer shapes,
// 417M float32 weights, 1.67 GB): with the weights as graph inputs (the
// model file holds no data), as initializers written to an external data
// file, and as initializers inline in the protobuf (still under 2 GB at
// this size). "run" is one forward pass over 16 tokens with 2 threads.
//
//	go test ./export -run '^$' -bench DecoderStack -benchtime 3x -timeout 30m
func BenchmarkDecoderStack(b *testing.B) {
	if testing.Short() {
		b.Skip("allocates ~2 GB of weights and writes them to disk")
	}
	rt := exporttest.Runtime(b)
	data := decoderData()
	var total int64
	for _, x := range data {
		total += int64(len(x))
	}
	b.Logf("%d layers, %d weights, %.2f GB float32", decLayers, total, float64(4*total)/1e9)
	asInit := func(p export.Param) *export.Tensor { return export.TensorF32(p.Shape, data[p.Name]) }
	asInput := func(export.Param) *export.Tensor { return nil }
	so := ort.SessionOptions{IntraOpThreads: 2}
	const seq = 16
	hidden := make([]float32, seq*decHidden)
	for i := range hidden {
		hidden[i] = float32(i%7) * 0.1
	}
	feeds := func(withWeights bool) map[string]*ort.Tensor {
		f := map[string]*ort.Tensor{"hidden_states": ort.F32([]int64{1, seq, decHidden}, hidden)}
		if withWeights {
			for l := range decLayers {
				for _, p := range decoderWeights(l) {
					f[p.Name] = ort.F32(p.Shape, data[p.Name])
				}
			}
		}
		return f
	}
	build := func(b *testing.B, weight func(export.Param) *export.Tensor) *export.Model {
		m, err := decoderStack(weight).Build()
		if err != nil {
			b.Fatal(err)
		}
		return m
	}
	marshal := func(b *testing.B, m *export.Model) []byte {
		buf, err := m.Marshal()
		if err != nil {
			b.Fatal(err)
		}
		return buf
	}
	forward := func(b *testing.B, s *ort.Session, f map[string]*ort.Tensor) {
		for b.Loop() {
			if _, err := s.Run(context.Background(), f, "last_hidden_state"); err != nil {
				b.Fatal(err)
			}
		}
	}

	b.Run("inputs/build", func(b *testing.B) {
		for b.Loop() {
			build(b, asInput)
		}
	})
	inputsModel := marshal(b, build(b, asInput))
	b.Run("inputs/marshal", func(b *testing.B) {
		m := build(b, asInput)
		for b.Loop() {
			marshal(b, m)
		}
		b.ReportMetric(float64(len(inputsModel)), "bytes")
	})
	b.Run("inputs/session", func(b *testing.B) {
		for b.Loop() {
			s, err := rt.NewSession(inputsModel, so)
			if err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
	})
	b.Run("inputs/run", func(b *testing.B) {
		s, err := rt.NewSession(inputsModel, so)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		forward(b, s, feeds(true))
	})

	b.Run("external/build", func(b *testing.B) {
		for b.Loop() {
			build(b, asInit)
		}
	})
	dir := b.TempDir()
	path := filepath.Join(dir, "decoder.onnx")
	b.Run("external/write", func(b *testing.B) {
		m := build(b, asInit)
		for b.Loop() {
			if err := m.WriteFile(path, &export.ExternalData{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	written := func(b *testing.B) { // when external/write was filtered out
		if _, err := os.Stat(path); err != nil {
			if err := build(b, asInit).WriteFile(path, &export.ExternalData{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("external/session", func(b *testing.B) {
		written(b)
		for b.Loop() {
			s, err := rt.NewSessionFile(path, so)
			if err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
	})
	b.Run("external/run", func(b *testing.B) {
		written(b)
		s, err := rt.NewSessionFile(path, so)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		forward(b, s, feeds(false))
	})
	os.Remove(path)
	os.Remove(path + ".data")

	b.Run("inline/marshal", func(b *testing.B) {
		m := build(b, asInit)
		for b.Loop() {
			marshal(b, m)
		}
	})
	b.Run("inline/session", func(b *testing.B) {
		buf := marshal(b, build(b, asInit))
		for b.Loop() {
			s, err := rt.NewSession(buf, so)
			if err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
	})
}

// BenchmarkOptimizerStep times one AdamW step (with clipping) over the
// weights of one decoder layer of the stack above (14.9M float32
// parameters), through ORT with 2 threads, and reports it per parameter:
// with Run (outputs allocated per call) and RunInto (the learner's layout:
// two sets of state tensors used in turn, nothing allocated per step).
//
//	go test ./export -run '^$' -bench OptimizerStep
func BenchmarkOptimizerStep(b *testing.B) {
	rt := exporttest.Runtime(b)
	params := decoderWeights(0)
	o := export.DefaultAdamW()
	o.MaxGradNorm = 1
	g, err := export.OptimizerGraph(o, params)
	if err != nil {
		b.Fatal(err)
	}
	m, err := g.Build()
	if err != nil {
		b.Fatal(err)
	}
	buf, err := m.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	s, err := rt.NewSession(buf, ort.SessionOptions{IntraOpThreads: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var n int64
	var names []string
	feeds := map[string]*ort.Tensor{export.LRName: ort.F32(nil, []float32{1e-3})}
	grads := map[string]*ort.Tensor{}
	for _, p := range params {
		n += ort.NumElements(p.Shape)
		names = append(names, p.Name)
		w := ort.Zeros(ort.Float32, p.Shape...)
		gr := ort.Zeros(ort.Float32, p.Shape...)
		for i, x := range gr.Float32s() {
			gr.Float32s()[i] = x + float32(i%13)*1e-3
		}
		feeds[p.Name], grads[export.GradName(p.Name)] = w, gr
		for _, sl := range o.Slots() {
			feeds[export.SlotName(sl, p.Name)] = ort.Zeros(ort.Float32, p.Shape...)
		}
	}
	feeds[export.StepName] = ort.I64(nil, []int64{0})
	state := export.StateNames(o, names)
	ctx := context.Background()
	in := func(st map[string]*ort.Tensor) map[string]*ort.Tensor {
		f := map[string]*ort.Tensor{export.LRName: feeds[export.LRName]}
		for k, v := range st {
			f[k] = v
		}
		for k, v := range grads {
			f[k] = v
		}
		return f
	}
	b.Run("run", func(b *testing.B) {
		st := map[string]*ort.Tensor{}
		for _, k := range state {
			st[k] = feeds[k]
		}
		for b.Loop() {
			out, err := s.Run(ctx, in(st))
			if err != nil {
				b.Fatal(err)
			}
			for _, k := range state {
				st[k] = out[export.UpdatedName(k)]
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(int64(b.N)*n), "ns/param")
	})
	b.Run("run-into", func(b *testing.B) {
		cur, next := map[string]*ort.Tensor{}, map[string]*ort.Tensor{}
		for _, k := range state {
			cur[k] = feeds[k]
			next[k] = ort.Zeros(feeds[k].DType, feeds[k].Shape...)
		}
		outs := map[string]*ort.Tensor{export.GradNormName: ort.Zeros(ort.Float32)}
		for b.Loop() {
			for _, k := range state {
				outs[export.UpdatedName(k)] = next[k]
			}
			if err := s.RunInto(ctx, in(cur), outs); err != nil {
				b.Fatal(err)
			}
			cur, next = next, cur
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(int64(b.N)*n), "ns/param")
	})
}
