package qwen3

import (
	"fmt"

	"pz/export"
	"pz/models"
)

// MoE is Qwen3-MoE's sparse MLP block (transformers' Qwen3MoeSparseMoeBlock):
// router logits x·Gᵀ, their softmax, the top-k experts of each token, the
// chosen probabilities renormalised to sum to 1 when NormTopK, and
// y = Σ_chosen weight_e · expert_e(x). The choice itself is not
// differentiable (as in transformers); the weights are, through the
// softmax, so the router learns.
//
// Two forms compute the same y:
//   - dense (the reference): every expert runs on every token and its
//     output is multiplied by the routing weight, 0 off the top-k. E times
//     the expert work of the sparse form, but only standard dense ops.
//   - sparse: each expert gathers the tokens routed to it (NonZero of its
//     column of the choice mask, Gather), runs on those rows only, and
//     scatter-adds its weighted output back (ScatterND add). k/E of the
//     expert FLOPs, plus per-expert gather/scatter passes over n_e rows and
//     a NonZero, which for tiny experts can cost more than they save.
//
// ORT's com.microsoft MoE contrib op is not used: it is a CUDA kernel (no
// CPU provider in the builds pz targets) and has no gradient.
type MoE struct {
	Router   Linear // [experts, hidden]
	Experts  []MLP
	TopK     int
	NormTopK bool
	// Sparse selects the gathered form; false is the dense masked form.
	Sparse bool
	// record, when set, receives each Forward's router output (the
	// model's list, for RouterAuxLoss).
	record *[]routerOut
}

// routerOut is one MoE block's router softmax [..., E] and choice mask
// [..., E] (bool) from one Forward.
type routerOut struct{ probs, chosen *export.Value }

// bindMLP builds layer i's MLP block from the bound weights w: the dense
// MLP, or the routed experts of a sparse Qwen3-MoE layer (in their sparse
// form; tests switch to the dense reference with SetMoESparse).
func (mod *Model) bindMLP(cfg *models.Config, i int, w map[string]*export.Value) FeedForward {
	p := fmt.Sprintf("model.layers.%d.mlp.", i)
	if !cfg.SparseLayer(i) {
		return MLP{Gate: Linear{W: w[p+"gate_proj.weight"]}, Up: Linear{W: w[p+"up_proj.weight"]}, Down: Linear{W: w[p+"down_proj.weight"]}}
	}
	m := MoE{Router: Linear{W: w[models.RouterName(i)]}, TopK: cfg.MoE.NumExpertsPerTok, NormTopK: cfg.MoE.NormTopKProb, Sparse: true,
		record: &mod.routing}
	for e := range cfg.MoE.NumExperts {
		m.Experts = append(m.Experts, MLP{Gate: Linear{W: w[models.ExpertName(i, e, "gate_proj")]},
			Up: Linear{W: w[models.ExpertName(i, e, "up_proj")]}, Down: Linear{W: w[models.ExpertName(i, e, "down_proj")]}})
	}
	return m
}

// SetMoESparse switches every MoE block of m between the sparse and the
// dense form; call it after Bind and before building the layers' ops.
func (m *Model) SetMoESparse(sparse bool) {
	for i := range m.Layers {
		if e, ok := m.Layers[i].MLP.(MoE); ok {
			e.Sparse = sparse
			m.Layers[i].MLP = e
		}
	}
}

// Forward applies the block to x [..., hidden].
func (m MoE) Forward(g *export.Graph, x *export.Value) *export.Value {
	w, chosen := m.routing(g, x)
	if m.Sparse {
		return m.sparse(g, x, w, chosen)
	}
	E := len(m.Experts)
	ones := make([]int64, E)
	for i := range ones {
		ones[i] = 1
	}
	ws := g.Split(w, -1, ones...) // each [..., 1]
	var y *export.Value
	for e, ex := range m.Experts {
		ye := g.Mul(ex.Forward(g, x), ws[e])
		if y == nil {
			y = ye
		} else {
			y = g.Add(y, ye)
		}
	}
	return y
}

// routing returns the dense routing weights [..., E] (the chosen experts'
// softmax probabilities, renormalised when NormTopK; 0 elsewhere) and the
// choice mask [..., E] (bool), which carries no gradient.
func (m MoE) routing(g *export.Graph, x *export.Value) (w, chosen *export.Value) {
	probs := g.Softmax(m.Router.Forward(g, x), -1) // [..., E]
	defer func() {
		if m.record != nil {
			*m.record = append(*m.record, routerOut{probs, chosen})
		}
	}()
	E := int64(len(m.Experts))
	sh := probs.Shape()
	kShape := append(sh[:len(sh)-1:len(sh)-1].Clone(), export.Dim{Size: int64(m.TopK)})
	// TopK on the probabilities, as transformers does (ties, which the
	// softmax's rounding could create from distinct logits, then break the
	// same way); the lowest index wins a tie, as in torch.topk and ggml's
	// argsort.
	outs := g.Op("TopK", "", []*export.Value{g.StopGradient(probs), g.Int64s(int64(m.TopK))},
		[]export.Attr{export.AInt("axis", -1), export.AInt("largest", 1), export.AInt("sorted", 1)},
		export.OutType{DType: probs.DType(), Shape: kShape}, export.OutType{DType: export.Int64, Shape: kShape})
	experts := make([]int64, E)
	for i := range experts {
		experts[i] = int64(i)
	}
	ids := g.Const(export.TensorI64([]int64{E}, experts))
	onehot := g.Equal(g.Unsqueeze(outs[1], -1), ids)                                             // [..., k, E]
	chosen = g.Cast(g.ReduceSum(g.Cast(onehot, probs.DType()), []int64{-2}, false), export.Bool) // [..., E]
	w = g.Where(chosen, probs, g.ScalarLike(probs, 0))
	if m.NormTopK {
		w = g.Div(w, g.ReduceSum(w, []int64{-1}, true))
	}
	return w, chosen
}

// sparse runs each expert on the tokens routed to it only.
func (m MoE) sparse(g *export.Graph, x, w, chosen *export.Value) *export.Value {
	E := int64(len(m.Experts))
	H := x.Shape()[x.Rank()-1].Size
	xf := g.Reshape(x, -1, H)                           // [N, H]
	cols := g.Transpose(g.Reshape(chosen, -1, E), 1, 0) // [E, N] bool
	wcols := g.Transpose(g.Reshape(w, -1, E), 1, 0)     // [E, N]
	y := g.ZerosLike(xf)
	routed := export.Dim{Name: "routed"}
	for e, ex := range m.Experts {
		sel := g.Gather(cols, g.Const(export.TensorI64([]int64{}, []int64{int64(e)})), 0)                                                    // [N] bool
		nz := g.Op("NonZero", "", []*export.Value{sel}, nil, export.OutType{DType: export.Int64, Shape: export.Shape{{Size: 1}, routed}})[0] // [1, n_e]
		idx := g.Squeeze(nz, 0)                                                                                                              // [n_e]
		we := g.Gather(g.Gather(wcols, g.Const(export.TensorI64([]int64{}, []int64{int64(e)})), 0), idx, 0)                                  // [n_e]
		ye := g.Mul(ex.Forward(g, g.Gather(xf, idx, 0)), g.Unsqueeze(we, -1))                                                                // [n_e, H]
		y = g.ScatterND(y, g.Unsqueeze(idx, -1), ye, "add")
	}
	return g.ReshapeLike(y, x)
}

// RouterAuxLoss is transformers' load-balancing loss of Qwen3-MoE
// (load_balancing_loss_func, which Qwen3MoeForCausalLM adds times
// router_aux_loss_coef when output_router_logits is set), over the router
// outputs of every MoE block built so far in this model's graph, e.g. by
// TargetLogProbs: with every layer's tokens pooled and padding (mask 0)
// left out,
//
//	E · Σ_e f_e · P_e,  f_e = share of (token, layer) pairs routed to e
//	                          (summed over the top-k slots),
//	                    P_e = mean router probability of e,
//
// a 0-d value. Only P_e carries gradient (the choice does not). mask is
// the [b, t] int64 attention mask of the batch the blocks ran on. It
// panics (an *export.Error) when the model has no MoE block.
func (m *Model) RouterAuxLoss(g *export.Graph, mask *export.Value) *export.Value {
	if len(m.routing) == 0 {
		panic(&export.Error{Msg: "router aux loss: the graph has no MoE block"})
	}
	E := int64(m.Config.MoE.NumExperts)
	valid := g.Reshape(g.Cast(mask, m.dtype), -1, 1) // [N, 1]
	var f, p *export.Value
	for _, r := range m.routing {
		fe := g.ReduceSum(g.Mul(g.Cast(g.Reshape(r.chosen, -1, E), m.dtype), valid), []int64{0}, false) // [E]
		pe := g.ReduceSum(g.Mul(g.Reshape(r.probs, -1, E), valid), []int64{0}, false)
		if f == nil {
			f, p = fe, pe
		} else {
			f, p = g.Add(f, fe), g.Add(p, pe)
		}
	}
	// Both means divide by the pooled token count L·Σmask.
	n := g.Mul(g.ReduceSum(valid, nil, false), g.ScalarLike(valid, float64(len(m.routing))))
	dot := g.ReduceSum(g.Mul(f, p), nil, false)
	return g.Mul(g.Div(dot, g.Mul(n, n)), g.ScalarLike(dot, float64(E)))
}
