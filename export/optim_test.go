package export_test

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"pz/export"
	"pz/export/exporttest"
	"pz/export/ort"
)

// The optimizer graphs are checked against refStep, an independent float64
// re-implementation written from torch's documented formulas
// (torch.optim.AdamW, torch.optim.SGD, torch.nn.utils.clip_grad_norm_),
// run side by side for several steps with a changing learning rate.

// refState is one parameter's state in the reference.
type refState struct {
	w, m, v, buf []float64
}

// refStep takes one step of o over every parameter (t is 1-based) and
// returns the global gradient norm before clipping.
func refStep(o export.Optimizer, ps []*refState, grads [][]float64, t int, lr float64) float64 {
	var sq float64
	for _, g := range grads {
		for _, x := range g {
			sq += x * x
		}
	}
	norm := math.Sqrt(sq)
	scale := 1.0
	var maxNorm float64
	switch o := o.(type) {
	case export.AdamW:
		maxNorm = o.MaxGradNorm
	case export.SGD:
		maxNorm = o.MaxGradNorm
	}
	if maxNorm > 0 {
		scale = math.Min(1, maxNorm/(norm+1e-6))
	}
	for i, p := range ps {
		for j := range p.w {
			g := grads[i][j] * scale
			switch o := o.(type) {
			case export.AdamW:
				p.w[j] -= lr * o.WeightDecay * p.w[j]
				p.m[j] = o.Beta1*p.m[j] + (1-o.Beta1)*g
				p.v[j] = o.Beta2*p.v[j] + (1-o.Beta2)*g*g
				mhat := p.m[j] / (1 - math.Pow(o.Beta1, float64(t)))
				vhat := p.v[j] / (1 - math.Pow(o.Beta2, float64(t)))
				p.w[j] -= lr * mhat / (math.Sqrt(vhat) + o.Eps)
			case export.SGD:
				d := g + o.WeightDecay*p.w[j]
				if o.Momentum != 0 {
					if t == 1 {
						p.buf[j] = d // torch: buf = clone(d) on the first step
					} else {
						p.buf[j] = o.Momentum*p.buf[j] + d
					}
					if o.Nesterov {
						d += o.Momentum * p.buf[j]
					} else {
						d = p.buf[j]
					}
				}
				p.w[j] -= lr * d
			}
		}
	}
	return norm
}

// optimParams are the parameters of the tests: a matrix, a vector and a
// scalar, with Hugging Face-style names.
var optimParams = []export.Param{
	{Name: "layer.weight", Shape: []int64{2, 3}},
	{Name: "layer.bias", Shape: []int64{3}},
	{Name: "scale", Shape: []int64{}},
}

// optimDriver runs an optimizer graph step by step, rolling its state
// forward by the UpdatedName rule, as a learner would.
type optimDriver struct {
	t      *testing.T
	sess   *ort.Session
	params []export.Param
	mathDT export.DType
	state  map[string]*ort.Tensor
	names  []string
}

func newOptimDriver(t *testing.T, o export.Optimizer, params []export.Param, init [][]float64) *optimDriver {
	t.Helper()
	g, err := export.OptimizerGraph(o, params)
	if err != nil {
		t.Fatal(err)
	}
	mathDT := export.Float32
	if strings.Contains(o.String(), "dtype=float64") {
		mathDT = export.Float64
	}
	d := &optimDriver{t: t, sess: exporttest.Session(t, g), params: params, mathDT: mathDT, state: map[string]*ort.Tensor{}}
	var names []string
	for i, p := range params {
		names = append(names, p.Name)
		d.state[p.Name] = tensorOf(p.DType, p.Shape, init[i])
		for _, s := range o.Slots() {
			d.state[export.SlotName(s, p.Name)] = tensorOf(mathDT, p.Shape, make([]float64, len(init[i])))
		}
	}
	d.state[export.StepName] = ort.I64(nil, []int64{0})
	d.names = export.StateNames(o, names)
	if len(d.names) != len(d.state) {
		t.Fatalf("StateNames %v do not match the state fed (%d tensors)", d.names, len(d.state))
	}
	return d
}

// step feeds grads and lr, checks that every state input has its new/*
// output, rolls the state forward and returns grad_norm.
func (d *optimDriver) step(grads [][]float64, lr float64) float64 {
	d.t.Helper()
	feeds := map[string]*ort.Tensor{export.LRName: tensorOf(d.mathDT, nil, []float64{lr})}
	for k, v := range d.state {
		feeds[k] = v
	}
	for i, p := range d.params {
		feeds[export.GradName(p.Name)] = tensorOf(p.DType, p.Shape, grads[i])
	}
	out, err := d.sess.Run(context.Background(), feeds)
	if err != nil {
		d.t.Fatal(err)
	}
	for _, k := range d.names {
		nv, ok := out[export.UpdatedName(k)]
		if !ok {
			d.t.Fatalf("no output %s", export.UpdatedName(k))
		}
		d.state[k] = nv
	}
	return floats(out[export.GradNormName])[0]
}

func tensorOf(dt export.DType, shape []int64, x []float64) *ort.Tensor {
	switch dt {
	case export.Float64:
		return ort.F64(shape, append([]float64(nil), x...))
	case export.BFloat16:
		b := make([]uint16, len(x))
		for i, v := range x {
			b[i] = uint16(math.Float32bits(float32(v)) >> 16) // test values are exact in bf16
		}
		return ort.BF16(shape, b)
	default:
		f := make([]float32, len(x))
		for i, v := range x {
			f[i] = float32(v)
		}
		return ort.F32(shape, f)
	}
}

func floats(t *ort.Tensor) []float64 {
	switch t.DType {
	case ort.Float64:
		return t.Float64s()
	case ort.Float32:
		out := make([]float64, len(t.Float32s()))
		for i, v := range t.Float32s() {
			out[i] = float64(v)
		}
		return out
	case ort.BFloat16:
		out := make([]float64, len(t.Uint16s()))
		for i, v := range t.Uint16s() {
			out[i] = float64(math.Float32frombits(uint32(v) << 16))
		}
		return out
	}
	panic("floats: dtype " + t.DType.String())
}

func withDType(ps []export.Param, dt export.DType) []export.Param {
	out := make([]export.Param, len(ps))
	for i, p := range ps {
		p.DType = dt
		out[i] = p
	}
	return out
}

func randVals(rng *rand.Rand, n int64, scale float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = scale * (2*rng.Float64() - 1)
	}
	return x
}

func TestOptimizerMatchesReference(t *testing.T) {
	adam := export.AdamW{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1}
	clipped := adam
	clipped.MaxGradNorm = 0.5 // the gradients below have norm ~1.5-3: clipping is active
	loose := adam
	loose.MaxGradNorm = 100 // inactive
	sgd := export.SGD{}
	mom := export.SGD{Momentum: 0.9, WeightDecay: 0.01}
	nest := export.SGD{Momentum: 0.8, Nesterov: true, MaxGradNorm: 0.7}
	cases := []struct {
		name string
		o    export.Optimizer
		dt   export.DType // weights (and the math, when float64)
		tol  float64
	}{
		{"adamw-f64", f64(adam), export.Float64, 1e-12},
		{"adamw-f32", adam, export.Float32, 1e-6},
		{"adamw-clip-active-f64", f64(clipped), export.Float64, 1e-12},
		{"adamw-clip-active-f32", clipped, export.Float32, 1e-6},
		{"adamw-clip-inactive", loose, export.Float32, 1e-6},
		{"adamw-no-decay-beta1-0", export.AdamW{Beta2: 0.999, Eps: 1e-6}, export.Float32, 1e-6},
		{"sgd-f64", f64(sgd), export.Float64, 1e-12},
		{"sgd-momentum-decay", mom, export.Float32, 1e-6},
		{"sgd-nesterov-clip-f64", f64(nest), export.Float64, 1e-12},
	}
	lrs := []float64{1e-2, 5e-3, 2e-2, 1e-3, 1e-2}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 11))
			params := withDType(optimParams, tc.dt)
			var init [][]float64
			var ref []*refState
			for _, p := range params {
				n := ort.NumElements(p.Shape)
				w := randVals(rng, n, 1)
				if tc.dt == export.Float32 {
					w = roundF32(w)
				}
				init = append(init, w)
				ref = append(ref, &refState{w: append([]float64(nil), w...), m: make([]float64, n), v: make([]float64, n), buf: make([]float64, n)})
			}
			d := newOptimDriver(t, tc.o, params, init)
			for step, lr := range lrs {
				if tc.dt == export.Float32 {
					lr = float64(float32(lr))
				}
				var grads [][]float64
				for _, p := range params {
					g := randVals(rng, ort.NumElements(p.Shape), 1)
					if tc.dt == export.Float32 {
						g = roundF32(g)
					}
					grads = append(grads, g)
				}
				gotNorm := d.step(grads, lr)
				wantNorm := refStep(tc.o, ref, grads, step+1, lr)
				if err := exporttest.AllClose([]float64{gotNorm}, []float64{wantNorm}, tc.tol, tc.tol); err != nil {
					t.Fatalf("step %d: grad_norm: %v", step+1, err)
				}
				for i, p := range params {
					if err := exporttest.AllClose(floats(d.state[p.Name]), ref[i].w, tc.tol, tc.tol); err != nil {
						t.Fatalf("step %d: %s: %v", step+1, p.Name, err)
					}
					for _, s := range tc.o.Slots() {
						want := map[string][]float64{"m": ref[i].m, "v": ref[i].v, "momentum": ref[i].buf}[s]
						if err := exporttest.AllClose(floats(d.state[export.SlotName(s, p.Name)]), want, tc.tol, tc.tol); err != nil {
							t.Fatalf("step %d: %s: %v", step+1, export.SlotName(s, p.Name), err)
						}
					}
				}
				if got := d.state[export.StepName].Int64s()[0]; got != int64(step+1) {
					t.Fatalf("new/step = %d, want %d", got, step+1)
				}
			}
		})
	}
}

func f64(o export.Optimizer) export.Optimizer {
	switch o := o.(type) {
	case export.AdamW:
		o.DType = export.Float64
		return o
	case export.SGD:
		o.DType = export.Float64
		return o
	}
	panic("f64")
}

func roundF32(x []float64) []float64 {
	for i, v := range x {
		x[i] = float64(float32(v))
	}
	return x
}

// TestOptimizerHandComputed checks closed forms worked out by hand, with no
// reference implementation in between.
func TestOptimizerHandComputed(t *testing.T) {
	params := []export.Param{{Name: "w", DType: export.Float64, Shape: []int64{4}}}
	w0 := []float64{1, -2, 0.5, 3}
	g := []float64{0.3, -4, 1e-3, 0} // norm = sqrt(0.09 + 16 + 1e-6) = 4.011235...
	norm := math.Sqrt(0.09 + 16 + 1e-6)
	const lr = 0.1
	cases := []struct {
		name string
		o    export.Optimizer
		want func(i int) float64
	}{
		// Step 1 bias correction: m̂ = g, v̂ = g², so w1 = w0 − lr·g/(|g|+eps).
		{"adamw-step1", export.AdamW{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, DType: export.Float64},
			func(i int) float64 { return w0[i] - lr*g[i]/(math.Abs(g[i])+1e-8) }},
		// Decoupled decay: w1 = w0·(1 − lr·wd) − lr·g/(|g|+eps) (any betas give m̂ = g, v̂ = g² at step 1).
		{"adamw-decay", export.AdamW{Beta1: 0.5, Beta2: 0.5, Eps: 1e-8, WeightDecay: 0.2, DType: export.Float64},
			func(i int) float64 { return w0[i]*(1-lr*0.2) - lr*g[i]/(math.Abs(g[i])+1e-8) }},
		// Clipping to max norm 1: g·1/(norm+1e-6); Adam's step 1 is scale-free up to eps,
		// so use SGD to see the scale: w1 = w0 − lr·g/(norm+1e-6).
		{"sgd-clip", export.SGD{MaxGradNorm: 1, DType: export.Float64},
			func(i int) float64 { return w0[i] - lr*g[i]/(norm+1e-6) }},
		// Clipping inactive when max norm exceeds the norm: w1 = w0 − lr·g.
		{"sgd-clip-inactive", export.SGD{MaxGradNorm: 5, DType: export.Float64},
			func(i int) float64 { return w0[i] - lr*g[i] }},
		// Coupled decay in SGD: w1 = w0 − lr·(g + wd·w0).
		{"sgd-decay", export.SGD{WeightDecay: 0.5, DType: export.Float64},
			func(i int) float64 { return w0[i] - lr*(g[i]+0.5*w0[i]) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newOptimDriver(t, tc.o, params, [][]float64{w0})
			gotNorm := d.step([][]float64{g}, lr)
			if math.Abs(gotNorm-norm) > 1e-12 {
				t.Errorf("grad_norm %.15g, want %.15g", gotNorm, norm)
			}
			want := make([]float64, len(w0))
			for i := range want {
				want[i] = tc.want(i)
			}
			if err := exporttest.AllClose(floats(d.state["w"]), want, 1e-12, 1e-12); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestOptimizerBFloat16Weights checks the cast path: bfloat16 weights and
// gradients, float32 math and slots, new weights rounded back to bfloat16.
func TestOptimizerBFloat16Weights(t *testing.T) {
	params := []export.Param{{Name: "w", DType: export.BFloat16, Shape: []int64{3}}}
	w0 := []float64{1, -2, 0.5}
	g := []float64{0.25, -1, 2}
	o := export.AdamW{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	d := newOptimDriver(t, o, params, [][]float64{w0})
	d.step([][]float64{g}, 0.125)
	// Step 1 without decay: w0 − lr·sign(g) = {0.875, -1.875, 0.375}, all exact in bfloat16.
	if err := exporttest.AllClose(floats(d.state["w"]), []float64{0.875, -1.875, 0.375}, 1e-6, 0); err != nil {
		t.Error(err)
	}
	if dt := d.state[export.SlotName("m", "w")].DType; dt != ort.Float32 {
		t.Errorf("slot m has dtype %v, want float32", dt)
	}
	if err := exporttest.AllClose(floats(d.state[export.SlotName("m", "w")]), []float64{0.025, -0.1, 0.2}, 1e-7, 1e-6); err != nil {
		t.Errorf("m: %v", err)
	}
}

// TestOptimizerSignature pins the names a checkpoint depends on.
func TestOptimizerSignature(t *testing.T) {
	g, err := export.OptimizerGraph(export.DefaultAdamW(), []export.Param{
		{Name: "model.embed_tokens.weight", DType: export.Float32, Shape: []int64{4, 2}},
		{Name: "model.norm.weight", DType: export.Float32, Shape: []int64{2}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var ins, outs []string
	for _, v := range g.Inputs() {
		ins = append(ins, v.Name())
	}
	for _, v := range g.Outputs() {
		outs = append(outs, v.Name())
	}
	wantIns := "model.embed_tokens.weight grad/model.embed_tokens.weight model.norm.weight grad/model.norm.weight lr step " +
		"m/model.embed_tokens.weight v/model.embed_tokens.weight m/model.norm.weight v/model.norm.weight"
	wantOuts := "new/model.embed_tokens.weight new/m/model.embed_tokens.weight new/v/model.embed_tokens.weight " +
		"new/model.norm.weight new/m/model.norm.weight new/v/model.norm.weight new/step grad_norm"
	if got := strings.Join(ins, " "); got != wantIns {
		t.Errorf("inputs:\n got %s\nwant %s", got, wantIns)
	}
	if got := strings.Join(outs, " "); got != wantOuts {
		t.Errorf("outputs:\n got %s\nwant %s", got, wantOuts)
	}
	if got := g.Metadata()["pz.optimizer"]; !strings.HasPrefix(got, "adamw beta1=0.9 beta2=0.999 eps=1e-08 weight_decay=0.01") {
		t.Errorf("metadata pz.optimizer = %q", got)
	}
	wantState := []string{"model.embed_tokens.weight", "model.norm.weight", "m/model.embed_tokens.weight", "m/model.norm.weight",
		"v/model.embed_tokens.weight", "v/model.norm.weight", "step"}
	if got := export.StateNames(export.DefaultAdamW(), []string{"model.embed_tokens.weight", "model.norm.weight"}); strings.Join(got, " ") != strings.Join(wantState, " ") {
		t.Errorf("StateNames = %v, want %v", got, wantState)
	}
}

func TestOptimizerErrors(t *testing.T) {
	p := []export.Param{{Name: "w", DType: export.Float32, Shape: []int64{2}}}
	cases := []struct {
		name   string
		o      export.Optimizer
		params []export.Param
		want   string
	}{
		{"beta1", export.AdamW{Beta1: 1, Beta2: 0.9}, p, "beta1 1 must be in [0, 1)"},
		{"beta2-nan", export.AdamW{Beta2: math.NaN()}, p, "beta2 NaN"},
		{"eps", export.AdamW{Eps: -1}, p, "eps -1"},
		{"max-norm", export.AdamW{MaxGradNorm: -1}, p, "max_grad_norm -1"},
		{"dtype", export.AdamW{DType: export.BFloat16}, p, "optimizer dtype bfloat16"},
		{"nesterov", export.SGD{Nesterov: true}, p, "nesterov needs momentum"},
		{"sgd-decay", export.SGD{WeightDecay: -0.1}, p, "weight_decay -0.1"},
		{"no-params", export.SGD{}, nil, "no parameters"},
		{"unnamed", export.SGD{}, []export.Param{{DType: export.Float32}}, "parameter 0 has no name"},
		{"int", export.SGD{}, []export.Param{{Name: "ids", DType: export.Int64}}, `parameter "ids" has dtype int64`},
		{"duplicate", export.SGD{}, append(p, p[0]), `name "w" is used twice`},
		{"clash", export.SGD{}, append(p, export.Param{Name: "grad/w", DType: export.Float32}), `name "grad/w" is used twice`},
		{"reserved", export.SGD{}, append(p, export.Param{Name: "lr", DType: export.Float32}), `name "lr" is used twice`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := export.OptimizerGraph(tc.o, tc.params)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestOptimizerResume: four steps in one go equal two steps, the state
// saved by name (copied out), a new graph and session, and two more steps,
// bit for bit.
func TestOptimizerResume(t *testing.T) {
	o := export.AdamW{Beta1: 0.9, Beta2: 0.99, Eps: 1e-8, WeightDecay: 0.05, MaxGradNorm: 1}
	params := withDType(optimParams, export.Float32)
	rng := rand.New(rand.NewPCG(3, 4))
	var init [][]float64
	for _, p := range params {
		init = append(init, randVals(rng, ort.NumElements(p.Shape), 1))
	}
	var grads [][][]float64
	for range 4 {
		var gs [][]float64
		for _, p := range params {
			gs = append(gs, randVals(rng, ort.NumElements(p.Shape), 2))
		}
		grads = append(grads, gs)
	}
	whole := newOptimDriver(t, o, params, init)
	first := newOptimDriver(t, o, params, init)
	for i, gs := range grads {
		whole.step(gs, 1e-2)
		if i < 2 {
			first.step(gs, 1e-2)
		}
	}
	saved := map[string][]float64{}
	for k, v := range first.state {
		if v.DType == ort.Int64 {
			saved[k] = []float64{float64(v.Int64s()[0])}
		} else {
			saved[k] = slices.Clone(floats(v))
		}
	}
	resumed := newOptimDriver(t, o, params, init)
	for k := range resumed.state {
		if k == export.StepName {
			resumed.state[k] = ort.I64(nil, []int64{int64(saved[k][0])})
		} else {
			resumed.state[k] = tensorOf(export.Float32, resumed.state[k].Shape, saved[k])
		}
	}
	for _, gs := range grads[2:] {
		resumed.step(gs, 1e-2)
	}
	for _, k := range whole.names {
		var a, b []float64
		if k == export.StepName {
			a, b = []float64{float64(whole.state[k].Int64s()[0])}, []float64{float64(resumed.state[k].Int64s()[0])}
		} else {
			a, b = floats(whole.state[k]), floats(resumed.state[k])
		}
		if !slices.Equal(a, b) {
			t.Errorf("%s: resumed %v, uninterrupted %v", k, b, a)
		}
	}
}
