package qwen3

import (
	"fmt"
	"math"

	"pz/export"
	"pz/models"
)

// Fused decode flavour: the same model as BuildDecode, but written with
// ONNX Runtime's contrib ops, as onnxruntime-genai's model builder emits
// them (design/STYLE.md point 6; BuildDecode is its standard-op twin):
//
//   - GroupQueryAttention (com.microsoft) does the rotary embedding, the
//     causal attention over grouped key/value heads and the KV-cache
//     append in one kernel. Its cache is a fixed-capacity buffer
//     [b, kv_heads, capacity, d] with each row's tokens at slots
//     0..len-1 (right-aligned layouts need no mask); when the caller binds
//     the same memory as past_* input and present_* output, the new
//     keys/values are written in place, so a decode step costs O(1) cache
//     traffic instead of the O(past) copy of the twin's Concat.
//   - SimplifiedLayerNormalization (RMSNorm) for every norm.
//
// Projections stay MatMul(x, Transpose(W)): ORT folds the Transpose of an
// initializer once at load (and prepacks the result) and rewrites it into
// FusedMatMul(transB=1) when W is a graph input, so no run transposes a
// weight (checked in ORT profiles; emitting FusedMatMul directly measured
// the same, and stacking q/k/v or gate/up into one MatMul no faster).
//
// Inputs: input_ids [b, seq]; seqlens_k [b] int32, each row's token count
// after this step minus one; total_sequence_length, an int32 scalar: seq
// for a prefill from an empty cache (each row's prompt right-padded to
// seq), else the largest seqlens_k + 1; past_key_values.* [b, kvh, past, d].
// Outputs: logits [b, vocab] of each row's last real token, and present.*
// [b, kvh, max(past, total), d]. Two kinds of call are supported: a
// prefill from an empty cache (past = 0) and single-token steps.
const (
	SeqLensK    = "seqlens_k"             // int32 [batch]
	TotalSeqLen = "total_sequence_length" // int32 scalar
)

// FusedDecodeSupported says whether cfg can use the fused decode graph:
// ORT's CPU GroupQueryAttention with rotary wants a head size that is a
// multiple of 16.
func FusedDecodeSupported(cfg *models.Config) error {
	switch {
	case cfg.HeadDim%16 != 0:
		return fmt.Errorf("fused decode: head_dim %d is not a multiple of 16 (ORT GroupQueryAttention with rotary)", cfg.HeadDim)
	case cfg.NumKeyValueHeads <= 0 || cfg.NumAttentionHeads%cfg.NumKeyValueHeads != 0:
		return fmt.Errorf("fused decode: %d query heads are not a multiple of %d key/value heads", cfg.NumAttentionHeads, cfg.NumKeyValueHeads)
	case cfg.MaxPositionEmbeddings <= 0:
		return fmt.Errorf("fused decode: max_position_embeddings must be set (it sizes the rotary cache)")
	}
	_, err := invFreq(cfg)
	return err
}

// buildFusedDecode is BuildDecode with Fused set.
func buildFusedDecode(cfg *models.Config, opts DecodeOptions) (*export.Model, error) {
	if err := FusedDecodeSupported(cfg); err != nil {
		return nil, err
	}
	if opts.AllLogits {
		return nil, fmt.Errorf("fused decode: AllLogits is not supported (use the standard flavour)")
	}
	var g *export.Graph
	err := export.Try(func() {
		g = export.NewGraph(opts.Name)
		g.SetMetadata("pz.graph", "decode")
		g.SetMetadata("pz.decode_flavour", "fused")
		ids := g.Input(InputIDs, export.Int64, export.S(DimBatch, DimSeq))
		seqlens := g.Input(SeqLensK, export.Int32, export.S(DimBatch))
		total := g.Input(TotalSeqLen, export.Int32, export.S())
		kvShape := export.S(DimBatch, cfg.NumKeyValueHeads, DimPast, cfg.HeadDim)
		var pastK, pastV []*export.Value
		for i := range cfg.NumHiddenLayers {
			pastK = append(pastK, g.Input(PastKey(i), export.Float32, kvShape))
			pastV = append(pastV, g.Input(PastValue(i), export.Float32, kvShape))
		}
		m := Bind(g, cfg, export.Float32, opts.Weights)
		cosC, sinC := ropeCache(g, cfg)
		x := m.embed(g, ids)
		for i, l := range m.Layers {
			a := l.Attn
			rotary := int64(1)
			if a.NoRoPE {
				rotary = 0
			}
			h := fusedRMS(g, x, l.AttnNorm)
			q, k, v := a.Q.Forward(g, h), a.K.Forward(g, h), a.V.Forward(g, h)
			if a.QNorm != nil {
				q = g.Reshape(fusedRMS(g, g.Reshape(q, 0, 0, int64(a.Heads), int64(a.HeadDim)), *a.QNorm), 0, 0, int64(a.Heads*a.HeadDim))
				k = g.Reshape(fusedRMS(g, g.Reshape(k, 0, 0, int64(a.KVHeads), int64(a.HeadDim)), *a.KNorm), 0, 0, int64(a.KVHeads*a.HeadDim))
			}
			outs := g.Op("GroupQueryAttention", export.DomainMicrosoft,
				[]*export.Value{q, k, v, pastK[i], pastV[i], seqlens, total, cosC, sinC},
				[]export.Attr{
					export.AInt("num_heads", int64(a.Heads)), export.AInt("kv_num_heads", int64(a.KVHeads)),
					export.AInt("do_rotary", rotary), export.AInt("rotary_interleaved", 0),
				},
				export.OutType{DType: export.Float32, Shape: export.S(DimBatch, DimSeq, a.Heads*a.HeadDim)},
				export.OutType{DType: export.Float32, Shape: export.S(DimBatch, a.KVHeads, "present", a.HeadDim)},
				export.OutType{DType: export.Float32, Shape: export.S(DimBatch, a.KVHeads, "present", a.HeadDim)})
			x = g.Add(x, a.O.Forward(g, outs[0]))
			x = g.Add(x, l.MLP.Forward(g, fusedRMS(g, x, l.MLPNorm)))
			g.Output(PresentKey(i), outs[1])
			g.Output(PresentValue(i), outs[2])
		}
		h := fusedRMS(g, x, m.Norm) // [b,seq,H]
		// Each row's last real token: seqlens_k for a right-padded prefill
		// (past 0), position 0 of a single-token step: min(seqlens_k, seq-1).
		seqM1 := g.Sub(g.Cast(g.Squeeze(g.Gather(g.ShapeOf(ids), g.Int64s(1), 0), 0), export.Int32), g.Const(export.TensorI32([]int64{}, []int32{1})))
		last := g.Cast(g.Min(seqlens, seqM1), export.Int64)                    // [b]
		first := g.Slice(h, []int64{0}, []int64{1}, []int64{1}, nil)           // [b,1,H]
		idx := g.ExpandLike(g.Unsqueeze(last, 1, 2), first)                    // [b,1,H]
		hl := g.Reshape(g.GatherElements(h, idx, 1), 0, int64(cfg.HiddenSize)) // [b,H]
		g.Output(Logits, m.logits(g, hl))
	})
	if err != nil {
		return nil, fmt.Errorf("build %s fused decode graph: %w", cfg.ModelType, err)
	}
	return g.Build()
}

// ropeCache holds cos and sin of every position's angles [max_pos, d/2],
// formed as the twin forms them (float32 position × float32 inverse
// frequency, then cos/sin) so both flavours rotate identically.
func ropeCache(g *export.Graph, cfg *models.Config) (cos, sin *export.Value) {
	f, err := invFreq(cfg)
	if err != nil {
		panic(&export.Error{Msg: err.Error()})
	}
	n, h := cfg.MaxPositionEmbeddings, len(f)
	c, s := make([]float32, n*h), make([]float32, n*h)
	for p := range n {
		for i, fi := range f {
			ang := float32(p) * float32(fi)
			c[p*h+i] = float32(math.Cos(float64(ang)))
			s[p*h+i] = float32(math.Sin(float64(ang)))
		}
	}
	sh := []int64{int64(n), int64(h)}
	return g.Const(export.TensorF32(sh, c)), g.Const(export.TensorF32(sh, s))
}

// fusedRMS is RMSNorm as ORT's SimplifiedLayerNormalization over the last axis.
func fusedRMS(g *export.Graph, x *export.Value, n RMSNorm) *export.Value {
	return g.Op("SimplifiedLayerNormalization", "", []*export.Value{x, n.W},
		[]export.Attr{export.AInt("axis", -1), export.AFloat("epsilon", float32(n.Eps)), export.AInt("stash_type", 1)},
		export.OutType{DType: x.DType(), Shape: x.Shape()})[0]
}
