package qwen3

import (
	"fmt"
	"math"

	"pz/export"
	"pz/models"
)

// PastKey, PastValue, PresentKey and PresentValue name layer i's cache
// tensors in the decode graph ([batch, kv_heads, past|total, head_dim]),
// as onnxruntime-genai names them.
func PastKey(i int) string      { return fmt.Sprintf("past_key_values.%d.key", i) }
func PastValue(i int) string    { return fmt.Sprintf("past_key_values.%d.value", i) }
func PresentKey(i int) string   { return fmt.Sprintf("present.%d.key", i) }
func PresentValue(i int) string { return fmt.Sprintf("present.%d.value", i) }

// DecodeOptions configures the decode flavour.
type DecodeOptions struct {
	// Weights supplies weights; nil means float32 graph inputs (weights
	// fed every run, so a learner's update reaches the next run for free).
	Weights WeightSource
	// AllLogits outputs logits for every new position ([b, seq, vocab])
	// instead of only the last one ([b, vocab]).
	AllLogits bool
	// Fused builds the flavour written with ONNX Runtime contrib ops
	// (GroupQueryAttention with an in-place KV cache, RMSNorm kernels; see
	// decode_fused.go), whose inputs differ: seqlens_k and
	// total_sequence_length replace position_ids and attention_mask.
	Fused bool
	Name  string
}

// BuildDecode builds the decode graph: one step of batched prefill or
// incremental decode with an explicit KV cache. Inputs: input_ids and
// position_ids [b, seq], attention_mask [b, past+seq] over every cache slot
// (0 for padding, so batches may be left-padded), and past_key_values.*
// ([b, kvh, past, d]; past may be 0). Outputs: logits of the last position
// [b, vocab] (or of all positions with AllLogits) and present.* ([b, kvh,
// past+seq, d]), which the caller feeds back as the next step's past.
func BuildDecode(cfg *models.Config, opts DecodeOptions) (*export.Model, error) {
	if opts.Weights == nil {
		opts.Weights = WeightsAsInputs(export.Float32)
	}
	if opts.Name == "" {
		opts.Name = "qwen3_decode"
	}
	if opts.Fused {
		return buildFusedDecode(cfg, opts)
	}
	if _, err := invFreq(cfg); err != nil {
		return nil, err
	}
	var g *export.Graph
	err := export.Try(func() {
		g = export.NewGraph(opts.Name)
		g.SetMetadata("pz.graph", "decode")
		ids := g.Input(InputIDs, export.Int64, export.S(DimBatch, DimSeq))
		pos := g.Input(PositionIDs, export.Int64, export.S(DimBatch, DimSeq))
		mask := g.Input(AttentionMask, export.Int64, export.S(DimBatch, DimTotal))
		kvShape := export.S(DimBatch, cfg.NumKeyValueHeads, DimPast, cfg.HeadDim)
		var pastK, pastV []*export.Value
		for i := range cfg.NumHiddenLayers {
			pastK = append(pastK, g.Input(PastKey(i), export.Float32, kvShape))
			pastV = append(pastV, g.Input(PastValue(i), export.Float32, kvShape))
		}
		m := Bind(g, cfg, export.Float32, opts.Weights)
		h, presK, presV := m.cached(g, ids, pos, mask, pastK, pastV)
		if !opts.AllLogits {
			h = g.Slice(h, []int64{-1}, []int64{math.MaxInt64}, []int64{1}, nil) // [b,1,H]
			g.Output(Logits, g.Reshape(m.logits(g, h), 0, int64(cfg.VocabSize)))
		} else {
			g.Output(Logits, m.logits(g, h))
		}
		for i := range presK {
			g.Output(PresentKey(i), presK[i])
			g.Output(PresentValue(i), presV[i])
		}
	})
	if err != nil {
		return nil, fmt.Errorf("build %s decode graph: %w", cfg.ModelType, err)
	}
	return g.Build()
}

// cached runs the stack over new tokens with a KV cache and returns the
// final hidden states [b, seq, H] and each layer's full keys and values.
func (m *Model) cached(g *export.Graph, ids, pos, mask *export.Value, pastK, pastV []*export.Value) (h *export.Value, presK, presV []*export.Value) {
	x := m.embed(g, ids)
	cos, sin := m.rope(g, pos)
	past := g.Squeeze(g.Gather(g.ShapeOf(pastK[0]), g.Int64s(2), 0), 0)
	allowed := m.causalMask(g, mask, past)
	for i, l := range m.Layers {
		q, k, v := l.Attn.qkv(g, l.AttnNorm.Forward(g, x), cos, sin)
		k = g.Concat(2, pastK[i], k)
		v = g.Concat(2, pastV[i], v)
		presK = append(presK, k)
		presV = append(presV, v)
		x = g.Add(x, l.Attn.O.Forward(g, l.Attn.attend(g, q, k, v, allowed)))
		x = g.Add(x, l.MLP.Forward(g, l.MLPNorm.Forward(g, x)))
	}
	return m.Norm.Forward(g, x), presK, presV
}
