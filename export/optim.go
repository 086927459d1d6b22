package export

import (
	"fmt"
	"math"
	"slices"
)

// Optimizer graphs. An optimizer step is an ONNX graph over all trainable
// parameters at once, built from a typed config (AdamW or SGD). Every name
// in its signature is derived from the parameter's own (Hugging Face) name,
// so the optimizer state can be saved next to the weights and resumed:
//
//	input          holds                                   output
//	<name>         the weight                              new/<name>
//	grad/<name>    its gradient                            -
//	<slot>/<name>  per-parameter state: AdamW m/ and v/,   new/<slot>/<name>
//	               SGD with momentum momentum/
//	step           int64 0-d: steps already taken          new/step (step+1)
//	lr             0-d, the optimizer's DType              -
//	-              global L2 norm of the gradients before  grad_norm
//	               clipping, in the optimizer's DType
//
// The rule is uniform: every input except grad/* and lr is state, and the
// graph returns its next value as new/<input>. A driver therefore keeps one
// map of state tensors, feeds it with the gradients and lr, and replaces
// each entry K by the output new/K. Initial state: zeros for every slot and
// 0 for step. The learning rate is an input, not part of the config, so a
// schedule changes it per step without rebuilding the graph.
//
// Gradients come in already summed (or averaged) over micro-batches: the
// learner accumulates them, the optimizer graph only steps. grad_norm is
// returned even when clipping is off, so the learner can log it and skip a
// step whose norm is not finite (by not applying the new/* outputs).
//
// The math runs in the optimizer's DType (float32 unless set; float64 is
// allowed, mainly for tests), whatever the weights' dtype: bfloat16 or
// float16 weights and gradients are cast up on the way in and the new
// weights cast back on the way out; slots are always in the optimizer's
// DType. The formulas are torch's (torch.optim.AdamW, torch.optim.SGD and
// torch.nn.utils.clip_grad_norm_), so a checkpoint's state means what it
// means there.

// Names of the scalar inputs and outputs every optimizer graph has.
const (
	LRName       = "lr"
	StepName     = "step"
	GradNormName = "grad_norm"
)

// GradName is the optimizer-graph input holding param's gradient.
func GradName(param string) string { return "grad/" + param }

// SlotName names the state slot (e.g. "m") of param: "m/<param>".
func SlotName(slot, param string) string { return slot + "/" + param }

// UpdatedName is the output that holds the next value of the state input
// (or weight) called name: "new/<name>".
func UpdatedName(name string) string { return "new/" + name }

// Param describes one trainable tensor for OptimizerGraph.
type Param struct {
	Name  string // Hugging Face tensor name, e.g. "model.layers.0.mlp.up_proj.weight"
	DType DType  // weight and gradient dtype (any float type)
	Shape []int64
}

// Optimizer is an optimizer config: AdamW or SGD. The interface is sealed
// (its update rule is unexported); use the config types.
type Optimizer interface {
	// Kind names the algorithm ("adamw", "sgd").
	Kind() string
	// Slots lists the per-parameter state slots in input order.
	Slots() []string
	// String gives the kind and every hyperparameter (written into the
	// graph's metadata as pz.optimizer).
	String() string

	config() optimConfig
	validate() error
	// update returns the new weight and slots of one parameter: w and grad
	// in the math dtype, grad not yet clipped (the rule applies s.scale);
	// slots in Slots() order.
	update(g *Graph, s *stepScalars, w, grad *Value, slots []*Value) (*Value, []*Value)
}

// optimConfig holds what every optimizer shares.
type optimConfig struct {
	dtype       DType
	maxGradNorm float64
}

// stepScalars are the 0-d values one step shares across parameters, in the
// math dtype.
type stepScalars struct {
	lr    *Value // learning rate
	t     *Value // the step being taken, 1-based
	scale *Value // clipping scale min(1, max_norm/(norm+ClipEps)); nil without clipping
	// per-optimizer scalars, computed once per graph
	adam *adamScalars
}

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter), as
// torch.optim.AdamW computes it, at step t (1-based) with gradient g:
//
//	w ← w·(1 − lr·WeightDecay)
//	m ← Beta1·m + (1 − Beta1)·g
//	v ← Beta2·v + (1 − Beta2)·g²
//	w ← w − lr/(1 − Beta1^t) · m / (√v / √(1 − Beta2^t) + Eps)
//
// Zero values are meaningful (Beta1 = 0 is RMSprop-like); start from
// DefaultAdamW for torch's defaults.
type AdamW struct {
	Beta1, Beta2 float64
	Eps          float64
	WeightDecay  float64
	// MaxGradNorm > 0 clips the global gradient norm first (see ClipEps).
	MaxGradNorm float64
	// DType is the math and slot dtype: Float32 (also for 0) or Float64.
	DType DType
}

// DefaultAdamW is torch.optim.AdamW's defaults (betas 0.9/0.999, eps 1e-8,
// weight decay 0.01), without clipping.
func DefaultAdamW() AdamW {
	return AdamW{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}
}

// Kind implements Optimizer.
func (AdamW) Kind() string { return "adamw" }

// Slots implements Optimizer: first and second moments.
func (AdamW) Slots() []string { return []string{"m", "v"} }

func (o AdamW) String() string {
	return fmt.Sprintf("adamw beta1=%g beta2=%g eps=%g weight_decay=%g max_grad_norm=%g dtype=%v",
		o.Beta1, o.Beta2, o.Eps, o.WeightDecay, o.MaxGradNorm, mathDType(o.DType))
}

func (o AdamW) config() optimConfig { return optimConfig{mathDType(o.DType), o.MaxGradNorm} }

func (o AdamW) validate() error {
	switch {
	case !(o.Beta1 >= 0 && o.Beta1 < 1):
		return fmt.Errorf("adamw: beta1 %g must be in [0, 1)", o.Beta1)
	case !(o.Beta2 >= 0 && o.Beta2 < 1):
		return fmt.Errorf("adamw: beta2 %g must be in [0, 1)", o.Beta2)
	case !(o.Eps >= 0) || math.IsInf(o.Eps, 0):
		return fmt.Errorf("adamw: eps %g must be finite and >= 0", o.Eps)
	case !(o.WeightDecay >= 0) || math.IsInf(o.WeightDecay, 0):
		return fmt.Errorf("adamw: weight_decay %g must be finite and >= 0", o.WeightDecay)
	}
	return validateCommon(o.config())
}

type adamScalars struct {
	decay    *Value // 1 − lr·wd
	c1, c2   *Value // (1 − β1)·c and (1 − β2)·c², c the clipping scale (1 without clipping)
	stepSize *Value // lr·√(1 − β2^t) / (1 − β1^t)
	eps      *Value // eps·√(1 − β2^t)
}

// update computes torch's w − lr/bc1 · m/(√v/√bc2 + eps) in the equal form
// w − (lr·√bc2/bc1) · m/(√v + eps·√bc2) (Kingma & Ba's "efficient
// version"), and folds the clipping scale into the moment coefficients:
// every factor that is the same for all elements is a 0-d value computed
// once, so a step costs 13 elementwise passes per parameter.
func (o AdamW) update(g *Graph, s *stepScalars, w, grad *Value, slots []*Value) (*Value, []*Value) {
	dt := w.dtype
	if s.adam == nil {
		one := g.Scalar(dt, 1)
		bc1 := g.Sub(one, g.Pow(g.Scalar(dt, o.Beta1), s.t))
		sqrtBC2 := g.Sqrt(g.Sub(one, g.Pow(g.Scalar(dt, o.Beta2), s.t)))
		a := &adamScalars{
			decay:    g.Sub(one, g.Mul(s.lr, g.Scalar(dt, o.WeightDecay))),
			c1:       g.Scalar(dt, 1-o.Beta1),
			c2:       g.Scalar(dt, 1-o.Beta2),
			stepSize: g.Div(g.Mul(s.lr, sqrtBC2), bc1),
			eps:      g.Mul(g.Scalar(dt, o.Eps), sqrtBC2),
		}
		if s.scale != nil {
			a.c1 = g.Mul(a.c1, s.scale)
			a.c2 = g.Mul(a.c2, g.Mul(s.scale, s.scale))
		}
		s.adam = a
	}
	a := s.adam
	m := g.Add(g.Mul(g.Scalar(dt, o.Beta1), slots[0]), g.Mul(a.c1, grad))
	v := g.Add(g.Mul(g.Scalar(dt, o.Beta2), slots[1]), g.Mul(g.Mul(a.c2, grad), grad))
	if o.WeightDecay != 0 {
		w = g.Mul(w, a.decay)
	}
	w = g.Sub(w, g.Mul(a.stepSize, g.Div(m, g.Add(g.Sqrt(v), a.eps))))
	return w, []*Value{m, v}
}

// SGD is stochastic gradient descent with optional momentum, as
// torch.optim.SGD computes it (dampening 0), with gradient g:
//
//	d ← g + WeightDecay·w          (coupled L2, as torch's SGD)
//	b ← Momentum·b + d;  d ← b     (Nesterov: d ← d + Momentum·b)
//	w ← w − lr·d
//
// With Momentum 0 there are no slots; otherwise the slot is "momentum".
type SGD struct {
	Momentum    float64
	Nesterov    bool
	WeightDecay float64
	// MaxGradNorm > 0 clips the global gradient norm first (see ClipEps).
	MaxGradNorm float64
	// DType is the math and slot dtype: Float32 (also for 0) or Float64.
	DType DType
}

// Kind implements Optimizer.
func (SGD) Kind() string { return "sgd" }

// Slots implements Optimizer: the momentum buffer, if any.
func (o SGD) Slots() []string {
	if o.Momentum == 0 {
		return nil
	}
	return []string{"momentum"}
}

func (o SGD) String() string {
	return fmt.Sprintf("sgd momentum=%g nesterov=%t weight_decay=%g max_grad_norm=%g dtype=%v",
		o.Momentum, o.Nesterov, o.WeightDecay, o.MaxGradNorm, mathDType(o.DType))
}

func (o SGD) config() optimConfig { return optimConfig{mathDType(o.DType), o.MaxGradNorm} }

func (o SGD) validate() error {
	switch {
	case !(o.Momentum >= 0) || math.IsInf(o.Momentum, 0):
		return fmt.Errorf("sgd: momentum %g must be finite and >= 0", o.Momentum)
	case o.Nesterov && o.Momentum == 0:
		return fmt.Errorf("sgd: nesterov needs momentum > 0")
	case !(o.WeightDecay >= 0) || math.IsInf(o.WeightDecay, 0):
		return fmt.Errorf("sgd: weight_decay %g must be finite and >= 0", o.WeightDecay)
	}
	return validateCommon(o.config())
}

func (o SGD) update(g *Graph, s *stepScalars, w, grad *Value, slots []*Value) (*Value, []*Value) {
	dt := w.dtype
	d := grad
	if s.scale != nil {
		d = g.Mul(d, s.scale)
	}
	if o.WeightDecay != 0 {
		d = g.Add(d, g.Mul(g.Scalar(dt, o.WeightDecay), w))
	}
	var out []*Value
	if o.Momentum != 0 {
		b := g.Add(g.Mul(g.Scalar(dt, o.Momentum), slots[0]), d)
		out = []*Value{b}
		if o.Nesterov {
			d = g.Add(d, g.Mul(g.Scalar(dt, o.Momentum), b))
		} else {
			d = b
		}
	}
	return g.Sub(w, g.Mul(s.lr, d)), out
}

func mathDType(d DType) DType {
	if d == 0 {
		return Float32
	}
	return d
}

func validateCommon(c optimConfig) error {
	if c.dtype != Float32 && c.dtype != Float64 {
		return fmt.Errorf("optimizer dtype %v: want float32 or float64", c.dtype)
	}
	if !(c.maxGradNorm >= 0) || math.IsInf(c.maxGradNorm, 0) {
		return fmt.Errorf("max_grad_norm %g must be finite and >= 0 (0 disables clipping)", c.maxGradNorm)
	}
	return nil
}

// ClipEps is added to the global norm before dividing, as in
// torch.nn.utils.clip_grad_norm_: scale = min(1, max_norm/(norm + ClipEps)).
const ClipEps = 1e-6

// OptimizerGraph builds the optimizer graph over params (see the signature
// at the top of this file). Parameter names must be unique and non-empty.
func OptimizerGraph(o Optimizer, params []Param) (*Graph, error) {
	if o == nil {
		return nil, fmt.Errorf("optimizer graph: no optimizer")
	}
	g := NewGraph("optimizer_" + o.Kind())
	err := Try(func() {
		ws := make([]*Value, len(params))
		grads := make([]*Value, len(params))
		for i, p := range params {
			if p.Name == "" {
				panic(errorf("optimizer graph: parameter %d has no name", i))
			}
			if !p.DType.IsFloat() {
				panic(errorf("optimizer graph: parameter %q has dtype %v, want a float type", p.Name, p.DType))
			}
			ws[i] = g.Input(p.Name, p.DType, StaticShape(p.Shape))
			grads[i] = g.Input(GradName(p.Name), p.DType, StaticShape(p.Shape))
		}
		AppendOptimizer(g, o, ws, grads)
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// AppendOptimizer appends one optimizer step to g: params are graph inputs
// (the weights), grads their gradients (graph inputs or values computed in
// g, such as Grad's results, which fuses the step into a training graph).
// It declares the state inputs (slots, step, lr) and the outputs new/*,
// new/step and grad_norm. It panics with an *Error on misuse (call it
// inside Try); an invalid config panics with its validation error.
func AppendOptimizer(g *Graph, o Optimizer, params, grads []*Value) {
	if err := o.validate(); err != nil {
		panic(errorf("%v", err))
	}
	if len(params) != len(grads) {
		panic(errorf("optimizer: %d parameters but %d gradients", len(params), len(grads)))
	}
	if len(params) == 0 {
		panic(errorf("optimizer: no parameters"))
	}
	g.own(params...)
	g.own(grads...)
	for i, w := range params {
		if !w.IsInput() {
			panic(errorf("optimizer: parameter %s must be a graph input", w))
		}
		if !w.dtype.IsFloat() || !grads[i].dtype.IsFloat() {
			panic(errorf("optimizer: parameter %s and gradient %s must be floating point", w, grads[i]))
		}
		if !w.shape.IsStatic() || !w.shape.Equal(grads[i].shape) {
			panic(errorf("optimizer: parameter %s and its gradient %s must have the same static shape", w, grads[i]))
		}
	}
	cfg := o.config()
	dt := cfg.dtype
	g.SetMetadata("pz.graph", "optimizer")
	g.SetMetadata("pz.optimizer", o.String())

	lr := g.Input(LRName, dt, S())
	step := g.Input(StepName, Int64, S())
	next := g.Add(step, g.Scalar(Int64, 1))
	s := &stepScalars{lr: lr, t: g.Cast(next, dt)}

	// Global norm over every gradient, in the math dtype. The rules apply
	// the clipping scale themselves (AdamW folds it into 0-d factors).
	gs := make([]*Value, len(grads))
	var sumSq *Value
	for i, d := range grads {
		if d.dtype != dt {
			d = g.Cast(d, dt)
		}
		gs[i] = d
		var sq *Value
		if d.Rank() == 0 {
			sq = g.Mul(d, d)
		} else { // one pass, no temporary; never differentiated, so no VJP rule is needed
			sq = g.Op("ReduceSumSquare", "", []*Value{d}, []Attr{AInt("keepdims", 0)}, OutType{DType: dt, Shape: S()})[0]
		}
		if sumSq == nil {
			sumSq = sq
		} else {
			sumSq = g.Add(sumSq, sq)
		}
	}
	norm := g.Sqrt(sumSq)
	if cfg.maxGradNorm > 0 {
		s.scale = g.Min(g.Scalar(dt, 1), g.Div(g.Scalar(dt, cfg.maxGradNorm), g.Add(norm, g.Scalar(dt, ClipEps))))
	}

	slotNames := o.Slots()
	for i, w := range params {
		wm := w
		if w.dtype != dt {
			wm = g.Cast(w, dt)
		}
		shape := w.shape
		slots := make([]*Value, len(slotNames))
		for j, sn := range slotNames {
			slots[j] = g.Input(SlotName(sn, w.name), dt, shape)
		}
		nw, ns := o.update(g, s, wm, gs[i], slots)
		if nw.dtype != w.dtype {
			nw = g.Cast(nw, w.dtype)
		}
		g.Output(UpdatedName(w.name), nameOutput(g, nw, UpdatedName(w.name)))
		for j, v := range ns {
			g.Output(UpdatedName(slots[j].name), nameOutput(g, v, UpdatedName(slots[j].name)))
		}
	}
	g.Output(UpdatedName(StepName), next)
	g.Output(GradNormName, norm)
}

// nameOutput gives v, the fresh output of an update node, the name it is
// about to be output under, so Output needs no Identity node (a copy of a
// whole parameter-sized tensor per slot per step). Values that are not
// fresh node outputs are returned unchanged.
func nameOutput(g *Graph, v *Value, name string) *Value {
	if v.kind != kindNode || v.name == name || g.names[name] || slices.Contains(g.outputs, v) {
		return v
	}
	delete(g.names, v.name)
	v.name = g.claim(name)
	return v
}

// StateNames lists the names of the state an optimizer graph over params
// rolls forward (weights, slots, step), in a stable order: each input K
// among them has the output UpdatedName(K).
func StateNames(o Optimizer, params []string) []string {
	out := slices.Clone(params)
	for _, sn := range o.Slots() {
		for _, p := range params {
			out = append(out, SlotName(sn, p))
		}
	}
	return append(out, StepName)
}
