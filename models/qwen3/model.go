// Package qwen3 is the dense Qwen3 decoder (and, since they differ only in
// flags of the config, Qwen2/Qwen2.5 and Llama-style decoders) written once
// with the pz/export graph builder. One definition emits two flavours:
//
//   - the train graph (forward.go): the full-sequence forward pass giving
//     per-token log-probs of given targets (and entropy), built from
//     differentiable standard ops so export's autodiff can derive gradients;
//   - the decode graph (decode.go): batched prefill and incremental decode
//     with an explicit KV cache (past_key_values.* in, present.* out), whose
//     bookkeeping lives in Go.
//
// The layer code below reads like the architecture: RMSNorm → attention
// (q/k RMSNorm per head before rotate-half RoPE, grouped-query attention,
// causal + padding mask) → residual → RMSNorm → SwiGLU MLP → residual; a
// final norm and a tied or untied lm_head. Qwen3-MoE's routed experts are
// a FeedForward beside the MLP (moe.go); SmolLM3's NoPE layers skip RoPE.
package qwen3

import (
	"fmt"
	"math"

	"pz/export"
	"pz/models"
)

// WeightSource supplies a weight to a graph under its Hugging Face name:
// as a graph input (weights owned by Go and fed every run, so updates need
// no rebuild) or as an initializer (stored in the model, prepacked by ORT).
type WeightSource func(g *export.Graph, name string, shape []int64) *export.Value

// WeightsAsInputs makes every weight a graph input of dtype dt.
func WeightsAsInputs(dt export.DType) WeightSource {
	return func(g *export.Graph, name string, shape []int64) *export.Value {
		return g.Input(name, dt, export.StaticShape(shape))
	}
}

// WeightsAsInitializers stores weights in the graph from a map of float32
// tensors keyed by HF name.
func WeightsAsInitializers(w map[string][]float32) WeightSource {
	return func(g *export.Graph, name string, shape []int64) *export.Value {
		data, ok := w[name]
		if !ok {
			panic(&export.Error{Msg: fmt.Sprintf("weight %s is missing", name)})
		}
		return g.Initializer(name, export.TensorF32(shape, data))
	}
}

// Linear is y = x·Wᵀ (+ b), with W stored as HF does: [out, in].
type Linear struct {
	W, B *export.Value
}

// Forward applies the projection.
func (l Linear) Forward(g *export.Graph, x *export.Value) *export.Value {
	y := g.MatMul(x, g.Transpose(l.W, 1, 0))
	if l.B != nil {
		y = g.Add(y, l.B)
	}
	return y
}

// RMSNorm is x / sqrt(mean(x²) + eps) · w over the last axis.
type RMSNorm struct {
	W   *export.Value
	Eps float64
}

// Forward normalises x over its last axis.
func (n RMSNorm) Forward(g *export.Graph, x *export.Value) *export.Value {
	ms := g.ReduceMean(g.Mul(x, x), []int64{-1}, true)
	inv := g.Reciprocal(g.Sqrt(g.Add(ms, g.ScalarLike(x, n.Eps))))
	return g.Mul(g.Mul(x, inv), n.W)
}

// Attention is grouped-query self-attention with optional q/k norms.
type Attention struct {
	Q, K, V, O   Linear
	QNorm, KNorm *RMSNorm // Qwen3 only
	Heads        int
	KVHeads      int
	HeadDim      int
	// NoRoPE skips the rotary embedding (SmolLM3's NoPE layers).
	NoRoPE bool
}

// MLP is the SwiGLU feed-forward block: down(silu(gate(x)) · up(x)).
type MLP struct {
	Gate, Up, Down Linear
}

// Forward applies the MLP.
func (m MLP) Forward(g *export.Graph, x *export.Value) *export.Value {
	gate := m.Gate.Forward(g, x)
	silu := g.Mul(gate, g.Sigmoid(gate))
	return m.Down.Forward(g, g.Mul(silu, m.Up.Forward(g, x)))
}

// FeedForward is a layer's MLP block: the dense SwiGLU MLP or the routed
// experts of Qwen3-MoE (moe.go).
type FeedForward interface {
	Forward(g *export.Graph, x *export.Value) *export.Value
}

// Layer is one decoder block.
type Layer struct {
	AttnNorm RMSNorm
	Attn     Attention
	MLPNorm  RMSNorm
	MLP      FeedForward
}

// Model is the decoder with its weights bound to one graph.
type Model struct {
	Config *models.Config
	Embed  *export.Value // [vocab, hidden]
	Layers []Layer
	Norm   RMSNorm
	LMHead *export.Value // [vocab, hidden]; the embedding when tied
	// Params lists the weights in the order of Config.TensorSpecs.
	Params []*export.Value
	dtype  export.DType
	// routing collects every MoE block's router output as the graph is
	// built (moe.go: RouterAuxLoss).
	routing []routerOut
}

// Bind creates the model's weights in g through src, in TensorSpecs order.
func Bind(g *export.Graph, cfg *models.Config, dt export.DType, src WeightSource) *Model {
	m := &Model{Config: cfg, dtype: dt}
	w := map[string]*export.Value{}
	for _, s := range cfg.TensorSpecs() {
		v := src(g, s.Name, s.Shape)
		if v.DType() != dt {
			v = g.Cast(v, dt)
		}
		w[s.Name] = v
		m.Params = append(m.Params, v)
	}
	lin := func(p string, bias bool) Linear {
		l := Linear{W: w[p+".weight"]}
		if bias {
			l.B = w[p+".bias"]
		}
		return l
	}
	eps := cfg.RMSNormEps
	m.Embed = w["model.embed_tokens.weight"]
	for i := range cfg.NumHiddenLayers {
		p := fmt.Sprintf("model.layers.%d.", i)
		a := Attention{
			Q: lin(p+"self_attn.q_proj", cfg.QKVBias()), K: lin(p+"self_attn.k_proj", cfg.QKVBias()),
			V: lin(p+"self_attn.v_proj", cfg.QKVBias()), O: lin(p+"self_attn.o_proj", cfg.OBias()),
			Heads: cfg.NumAttentionHeads, KVHeads: cfg.NumKeyValueHeads, HeadDim: cfg.HeadDim,
			NoRoPE: !cfg.UseRoPE(i),
		}
		if cfg.QKNorm() {
			a.QNorm = &RMSNorm{W: w[p+"self_attn.q_norm.weight"], Eps: eps}
			a.KNorm = &RMSNorm{W: w[p+"self_attn.k_norm.weight"], Eps: eps}
		}
		m.Layers = append(m.Layers, Layer{
			AttnNorm: RMSNorm{W: w[p+"input_layernorm.weight"], Eps: eps},
			Attn:     a,
			MLPNorm:  RMSNorm{W: w[p+"post_attention_layernorm.weight"], Eps: eps},
			MLP:      m.bindMLP(cfg, i, w),
		})
	}
	m.Norm = RMSNorm{W: w["model.norm.weight"], Eps: eps}
	if cfg.TieWordEmbeddings {
		m.LMHead = m.Embed
	} else {
		m.LMHead = w["lm_head.weight"]
	}
	return m
}

// invFreq is RoPE's inverse frequencies 1/θ^(2i/d), with linear scaling
// applied (positions divided by the factor). Computed in float64 in Go.
func invFreq(cfg *models.Config) ([]float64, error) {
	d := cfg.HeadDim
	f := make([]float64, d/2)
	for i := range f {
		f[i] = 1 / math.Pow(cfg.RopeTheta, float64(2*i)/float64(d))
	}
	if rs := cfg.RopeScaling; rs != nil {
		switch rs.Type {
		case "linear":
			for i := range f {
				f[i] /= rs.Factor
			}
		default:
			return nil, fmt.Errorf("rope_scaling type %q is not implemented in the graph yet", rs.Type)
		}
	}
	return f, nil
}

// rope computes cos and sin of shape [b, 1, t, headDim] from position ids
// [b, t] (HF layout: the half-frequencies repeated twice).
func (m *Model) rope(g *export.Graph, pos *export.Value) (cos, sin *export.Value) {
	f, err := invFreq(m.Config)
	if err != nil {
		panic(&export.Error{Msg: err.Error()})
	}
	// Angles are formed in float32 (float64 for gradient checks) from
	// integer positions, as transformers does in float32.
	inv := m.constVec(g, f)
	p := g.Unsqueeze(g.Cast(pos, m.dtype), -1) // [b,t,1]
	ang := g.Mul(p, inv)                       // [b,t,d/2]
	emb := g.Concat(-1, ang, ang)              // [b,t,d]
	emb = g.Unsqueeze(emb, 1)                  // [b,1,t,d]
	return g.Cos(emb), g.Sin(emb)
}

func (m *Model) constVec(g *export.Graph, v []float64) *export.Value {
	if m.dtype == export.Float64 {
		return g.Const(export.TensorF64([]int64{int64(len(v))}, v))
	}
	f := make([]float32, len(v))
	for i, x := range v {
		f[i] = float32(x)
	}
	return g.Cast(g.Const(export.TensorF32([]int64{int64(len(v))}, f)), m.dtype)
}

// rotateHalf maps x = [x1, x2] (halves of the last axis) to [-x2, x1].
func rotateHalf(g *export.Graph, x *export.Value, d int) *export.Value {
	h := g.Split(x, -1, int64(d/2), int64(d/2))
	return g.Concat(-1, g.Neg(h[1]), h[0])
}

func applyRope(g *export.Graph, x, cos, sin *export.Value, d int) *export.Value {
	return g.Add(g.Mul(x, cos), g.Mul(rotateHalf(g, x, d), sin))
}

// heads reshapes [b, t, n·d] to [b, n, t, d].
func heads(g *export.Graph, x *export.Value, n, d int) *export.Value {
	return g.Transpose(g.Reshape(x, 0, 0, int64(n), int64(d)), 0, 2, 1, 3)
}

// qkv projects x to rotated queries [b, h, t, d] and keys/values
// [b, kvh, t, d], applying the per-head q/k norms before RoPE.
func (a Attention) qkv(g *export.Graph, x, cos, sin *export.Value) (q, k, v *export.Value) {
	q = g.Reshape(a.Q.Forward(g, x), 0, 0, int64(a.Heads), int64(a.HeadDim))
	k = g.Reshape(a.K.Forward(g, x), 0, 0, int64(a.KVHeads), int64(a.HeadDim))
	if a.QNorm != nil {
		q = a.QNorm.Forward(g, q)
		k = a.KNorm.Forward(g, k)
	}
	q, k = g.Transpose(q, 0, 2, 1, 3), g.Transpose(k, 0, 2, 1, 3)
	if !a.NoRoPE {
		q = applyRope(g, q, cos, sin, a.HeadDim)
		k = applyRope(g, k, cos, sin, a.HeadDim)
	}
	v = heads(g, a.V.Forward(g, x), a.KVHeads, a.HeadDim)
	return q, k, v
}

// attend computes softmax(q·kᵀ/√d + mask)·v with grouped-query heads:
// the queries of one key head's group are stacked along the query axis,
// q as [b, kvh, group·tq, d] against keys/values [b, kvh, tk, d], so each
// product is one plain batched MatMul over a taller matrix — no broadcast
// over the group, and the key/value gradients need no sum over it. allowed
// is a bool mask broadcastable to [b, 1, 1, tq, tk]. The result is
// [b, tq, h·d].
func (a Attention) attend(g *export.Graph, q, k, v, allowed *export.Value) *export.Value {
	group := int64(a.Heads / a.KVHeads)
	kvh := int64(a.KVHeads)
	d := int64(a.HeadDim)
	// The 1/√d scale goes on the queries ([.., tq, d]) rather than the
	// scores ([.., tq, tk]): in the backward pass that is a pass over the
	// small tensor instead of the large one.
	q4 := g.Reshape(g.Mul(q, g.ScalarLike(q, 1/math.Sqrt(float64(d)))), 0, kvh, -1, d) // [b,kvh,group·tq,d]
	scores := g.MatMul(q4, g.Transpose(k, 0, 1, 3, 2))                                 // [b,kvh,group·tq,tk]
	// The mask is added as a bias (0 or a large finite negative, built on
	// the small broadcast mask and shared by every layer): unlike Where,
	// Add's gradient is the identity, so the backward pass makes no copy of
	// the scores. The masked weights are exactly 0 after the softmax either
	// way, and a query row with every key masked (padding) gets finite
	// weights instead of NaN. Scores and bias are viewed with (tq, tk)
	// flattened, so the bias broadcasts over the group.
	bias := g.Reshape(maskBias(g, allowed, q.DType()), 0, 1, 1, -1) // [b,1,1,tq·tk]
	sh := scores.Shape()
	flat := reshapeAs(g, scores, export.Shape{sh[0], sh[1], {Size: group}, bias.Shape()[3]}, 0, kvh, group, -1)
	masked := g.ReshapeLike(g.Add(flat, bias), scores)           // [b,kvh,group·tq,tk]
	ctx := g.MatMul(g.Softmax(masked, -1), v)                    // [b,kvh,group·tq,d]
	ctx = reshapeAs(g, ctx, q.Shape(), 0, int64(a.Heads), -1, d) // [b,h,tq,d]
	ctx = g.Transpose(ctx, 0, 2, 1, 3)                           // [b,tq,h,d]
	return g.Reshape(ctx, 0, 0, int64(a.Heads)*d)                // [b,tq,h·d]
}

// reshapeAs is Reshape to target whose result shape the caller states
// (for symbolic shapes the builder's inference cannot divide).
func reshapeAs(g *export.Graph, x *export.Value, out export.Shape, target ...int64) *export.Value {
	return g.Op("Reshape", "", []*export.Value{x, g.Int64s(target...)}, nil, export.OutType{DType: x.DType(), Shape: out})[0]
}

// maskBias turns a bool attention mask into the additive bias 0 (allowed)
// or -1e9 (masked), as (float(allowed) − 1)·1e9: exact in float32 and
// float64, and ORT's Cast/Sub/Mul run on it many times faster than its
// Where with broadcast scalars (measured 72 ms per forward at 8 × 512²).
func maskBias(g *export.Graph, allowed *export.Value, dt export.DType) *export.Value {
	return g.Mul(g.Sub(g.Cast(allowed, dt), g.Scalar(dt, 1)), g.Scalar(dt, 1e9))
}

// embed looks up token embeddings.
func (m *Model) embed(g *export.Graph, ids *export.Value) *export.Value {
	return g.Gather(m.Embed, ids, 0)
}

// logits projects hidden states onto the vocabulary.
func (m *Model) logits(g *export.Graph, h *export.Value) *export.Value {
	return g.MatMul(h, g.Transpose(m.LMHead, 1, 0))
}
