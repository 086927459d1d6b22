// Package mlp is the smallest model that exercises pz's whole training
// chain: a two-layer perceptron classifier written with the export builder,
// its gradient graph derived by export's autodiff, and AdamW steps taken by
// an export optimizer graph, all run through ONNX Runtime. It proves the
// chain trains (its tests reach a known low loss on a synthetic task) and
// backs `pz demo` until the real train loop lands.
//
// The task is XOR of signs: points drawn uniformly from [-1, 1]^2, labelled
// 1 when their coordinates have different signs. No linear model fits it,
// so the loss can only fall well below ln 2 if the hidden layer trains.
package mlp

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"pz/export"
	"pz/export/ort"
)

// Config is the model's size and precision.
type Config struct {
	In, Hidden, Classes int
	// DType of weights, inputs and activations: Float32 (also for 0) or
	// Float64 (for gradient checks; the Trainer runs float32 only).
	DType export.DType
}

func (c Config) dtype() export.DType {
	if c.DType == 0 {
		return export.Float32
	}
	return c.DType
}

// DefaultConfig is the size the tests and the demo use.
func DefaultConfig() Config { return Config{In: 2, Hidden: 16, Classes: 2} }

func (c Config) validate() error {
	switch {
	case c.In < 2:
		return fmt.Errorf("mlp config: in (%d) must be >= 2 (the task reads two coordinates)", c.In)
	case c.Hidden < 1:
		return fmt.Errorf("mlp config: hidden (%d) must be >= 1", c.Hidden)
	case c.Classes != 2:
		return fmt.Errorf("mlp config: classes (%d) must be 2 (the task is binary)", c.Classes)
	case c.dtype() != export.Float32 && c.dtype() != export.Float64:
		return fmt.Errorf("mlp config: dtype %v must be float32 or float64", c.DType)
	}
	return nil
}

// Parameter names, as torch's nn.Linear would name them in a
// Sequential-free module with fields fc1 and fc2.
const (
	FC1Weight = "fc1.weight" // [Hidden, In]
	FC1Bias   = "fc1.bias"   // [Hidden]
	FC2Weight = "fc2.weight" // [Classes, Hidden]
	FC2Bias   = "fc2.bias"   // [Classes]
)

// Params lists the model's parameters (torch's nn.Linear layout).
func (c Config) Params() []export.Param {
	dt := c.dtype()
	return []export.Param{
		{Name: FC1Weight, DType: dt, Shape: []int64{int64(c.Hidden), int64(c.In)}},
		{Name: FC1Bias, DType: dt, Shape: []int64{int64(c.Hidden)}},
		{Name: FC2Weight, DType: dt, Shape: []int64{int64(c.Classes), int64(c.Hidden)}},
		{Name: FC2Bias, DType: dt, Shape: []int64{int64(c.Classes)}},
	}
}

// tensor makes a tensor of the config's dtype from float64 values.
func (c Config) tensor(shape []int64, x []float64) *ort.Tensor {
	if c.dtype() == export.Float64 {
		return ort.F64(shape, x)
	}
	f := make([]float32, len(x))
	for i, v := range x {
		f[i] = float32(v)
	}
	return ort.F32(shape, f)
}

// Init draws weights as torch's nn.Linear does: uniform in ±1/√fan_in,
// from a PCG generator seeded with seed.
func (c Config) Init(seed uint64) map[string]*ort.Tensor {
	rng := rand.New(rand.NewPCG(seed, 0x6d6c70))
	out := map[string]*ort.Tensor{}
	fanIn := map[string]int{FC1Weight: c.In, FC1Bias: c.In, FC2Weight: c.Hidden, FC2Bias: c.Hidden}
	for _, p := range c.Params() {
		b := 1 / math.Sqrt(float64(fanIn[p.Name]))
		x := make([]float64, ort.NumElements(p.Shape))
		for i := range x {
			x[i] = b * (2*rng.Float64() - 1)
		}
		out[p.Name] = c.tensor(p.Shape, x)
	}
	return out
}

// Names of the training graph's data inputs and statistics outputs.
const (
	InputX      = "x"        // [batch, In], the config's dtype
	InputLabels = "labels"   // int64 [batch]
	OutLoss     = "loss"     // 0-d: mean cross-entropy
	OutAccuracy = "accuracy" // 0-d: fraction of argmax hits
)

// TrainGraph builds the forward pass, the mean cross-entropy loss and its
// gradients for a fixed batch size: inputs are the parameters (by name), x
// and labels; outputs loss, accuracy and export.GradName(p) per parameter.
// With opt non-nil the optimizer step is fused in (export.AppendOptimizer)
// and the outputs are the optimizer's new/* state and grad_norm instead of
// the gradients.
func (c Config) TrainGraph(batch int, opt export.Optimizer) (*export.Graph, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if batch < 1 {
		return nil, fmt.Errorf("mlp train graph: batch (%d) must be >= 1", batch)
	}
	g := export.NewGraph("mlp_train")
	err := export.Try(func() {
		ps := c.Params()
		ws := make([]*export.Value, len(ps))
		for i, p := range ps {
			ws[i] = g.Input(p.Name, p.DType, export.StaticShape(p.Shape))
		}
		x := g.Input(InputX, c.dtype(), export.S(batch, c.In))
		labels := g.Input(InputLabels, export.Int64, export.S(batch))

		h := g.Tanh(g.Add(g.MatMul(x, g.Transpose(ws[0])), ws[1]))
		logits := g.Add(g.MatMul(h, g.Transpose(ws[2])), ws[3])
		logp := g.GatherElements(g.LogSoftmax(logits, -1), g.Unsqueeze(labels, 1), 1)
		loss := g.Neg(g.ReduceMean(logp, nil, false))
		hits := g.Cast(g.Equal(g.ArgMax(logits, -1, false), labels), c.dtype())

		grads := g.Grad(loss, ws...)
		g.Output(OutLoss, loss)
		g.Output(OutAccuracy, g.ReduceMean(hits, nil, false))
		if opt != nil {
			export.AppendOptimizer(g, opt, ws, grads)
			return
		}
		for i, p := range ps {
			g.Output(export.GradName(p.Name), grads[i])
		}
	})
	if err != nil {
		return nil, fmt.Errorf("mlp train graph: %w", err)
	}
	return g, nil
}

// XOR returns n labelled points of the XOR-of-signs task in c.In
// dimensions (coordinates beyond the first two are noise), drawn from a PCG
// generator seeded with seed: x is [n, In], labels [n].
func (c Config) XOR(n int, seed uint64) (x, labels *ort.Tensor) {
	rng := rand.New(rand.NewPCG(seed, 0x786f72))
	xs := make([]float64, n*c.In)
	ls := make([]int64, n)
	for i := range n {
		for j := range c.In {
			xs[i*c.In+j] = 2*rng.Float64() - 1
		}
		if (xs[i*c.In] > 0) != (xs[i*c.In+1] > 0) {
			ls[i] = 1
		}
	}
	return c.tensor([]int64{int64(n), int64(c.In)}, xs), ort.I64([]int64{int64(n)}, ls)
}

// Options configures a Trainer.
type Options struct {
	Config Config
	Batch  int    // examples per step (the whole data set in Train)
	Seed   uint64 // weights and data
	// Optimizer is the update rule; nil means export.DefaultAdamW().
	Optimizer export.Optimizer
	LR        float64
	// Fused runs forward, backward and the optimizer step as one graph and
	// one ORT call; otherwise the gradients come back to Go and a separate
	// optimizer graph steps (the layout the learner uses, since it
	// accumulates gradients over micro-batches).
	Fused bool
	// Threads is ORT's intra-op pool size (0: ORT's default).
	Threads int
}

func (o *Options) fill() {
	if o.Config == (Config{}) {
		o.Config = DefaultConfig()
	}
	if o.Batch == 0 {
		o.Batch = 256
	}
	if o.Optimizer == nil {
		o.Optimizer = export.DefaultAdamW()
	}
	if o.LR == 0 {
		o.LR = 0.05
	}
}

// Trainer holds the sessions and the training state (weights, optimizer
// slots, step), keyed by the names the graphs use.
type Trainer struct {
	opts  Options
	train *ort.Session
	optim *ort.Session // nil when fused
	state map[string]*ort.Tensor
	names []string // export.StateNames order
}

// NewTrainer builds and loads the graphs and initialises the state: seeded
// weights, zero slots, step 0.
func NewTrainer(rt *ort.Runtime, opts Options) (*Trainer, error) {
	opts.fill()
	if opts.Config.dtype() != export.Float32 {
		return nil, fmt.Errorf("mlp trainer: dtype %v: the trainer runs float32 only", opts.Config.DType)
	}
	var fused export.Optimizer
	if opts.Fused {
		fused = opts.Optimizer
	}
	g, err := opts.Config.TrainGraph(opts.Batch, fused)
	if err != nil {
		return nil, err
	}
	so := ort.SessionOptions{IntraOpThreads: opts.Threads}
	t := &Trainer{opts: opts, state: opts.Config.Init(opts.Seed)}
	if t.train, err = load(rt, g, so); err != nil {
		return nil, err
	}
	if !opts.Fused {
		og, err := export.OptimizerGraph(opts.Optimizer, opts.Config.Params())
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("mlp optimizer graph: %w", err)
		}
		if t.optim, err = load(rt, og, so); err != nil {
			t.Close()
			return nil, err
		}
	}
	var pnames []string
	for _, p := range opts.Config.Params() {
		pnames = append(pnames, p.Name)
		for _, s := range opts.Optimizer.Slots() {
			t.state[export.SlotName(s, p.Name)] = ort.Zeros(slotDType(opts.Optimizer), p.Shape...)
		}
	}
	t.state[export.StepName] = ort.I64(nil, []int64{0})
	t.names = export.StateNames(opts.Optimizer, pnames)
	return t, nil
}

// slotDType is the dtype of the optimizer's slots and lr input.
func slotDType(o export.Optimizer) ort.DType {
	var dt export.DType
	switch o := o.(type) {
	case export.AdamW:
		dt = o.DType
	case export.SGD:
		dt = o.DType
	}
	if dt == export.Float64 {
		return ort.Float64
	}
	return ort.Float32
}

func load(rt *ort.Runtime, g *export.Graph, so ort.SessionOptions) (*ort.Session, error) {
	m, err := g.Build()
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", g.Name, err)
	}
	b, err := m.Marshal()
	if err != nil {
		return nil, err
	}
	return rt.NewSession(b, so)
}

// Close releases the sessions.
func (t *Trainer) Close() error {
	for _, s := range []*ort.Session{t.train, t.optim} {
		if s != nil {
			s.Close()
		}
	}
	return nil
}

// Weights returns the current value of parameter name (shared, do not modify).
func (t *Trainer) Weights(name string) *ort.Tensor { return t.state[name] }

// Stats describes one step.
type Stats struct {
	Step     int64   // steps taken, this one included
	Loss     float32 // before the update
	Accuracy float32 // before the update
	GradNorm float32 // global gradient norm before clipping
	Elapsed  time.Duration
}

// Step runs forward, backward and one optimizer step on a batch, and
// applies the update unless the gradient norm is not finite (then it
// returns an error and leaves the state as it was).
func (t *Trainer) Step(ctx context.Context, x, labels *ort.Tensor) (Stats, error) {
	start := time.Now()
	pool := make(map[string]*ort.Tensor, len(t.state)+8)
	for k, v := range t.state {
		pool[k] = v
	}
	pool[InputX], pool[InputLabels] = x, labels
	lr := ort.F32(nil, []float32{float32(t.opts.LR)})
	if slotDType(t.opts.Optimizer) == ort.Float64 {
		lr = ort.F64(nil, []float64{t.opts.LR})
	}
	pool[export.LRName] = lr
	out, err := t.train.Run(ctx, feedsFor(t.train, pool))
	if err != nil {
		return Stats{}, err
	}
	st := Stats{Loss: out[OutLoss].Float32s()[0], Accuracy: out[OutAccuracy].Float32s()[0]}
	if !t.opts.Fused {
		for _, p := range t.opts.Config.Params() {
			pool[export.GradName(p.Name)] = out[export.GradName(p.Name)]
		}
		if out, err = t.optim.Run(ctx, feedsFor(t.optim, pool)); err != nil {
			return Stats{}, err
		}
	}
	norm := out[export.GradNormName]
	if norm.DType == ort.Float64 {
		st.GradNorm = float32(norm.Float64s()[0])
	} else {
		st.GradNorm = norm.Float32s()[0]
	}
	if math.IsNaN(float64(st.GradNorm)) || math.IsInf(float64(st.GradNorm), 0) {
		return st, fmt.Errorf("step %d: gradient norm is %v; update skipped", t.state[export.StepName].Int64s()[0]+1, st.GradNorm)
	}
	for _, k := range t.names {
		t.state[k] = out[export.UpdatedName(k)]
	}
	st.Step = t.state[export.StepName].Int64s()[0]
	st.Elapsed = time.Since(start)
	return st, nil
}

// feedsFor picks a session's inputs from pool (sessions reject inputs they
// do not have).
func feedsFor(s *ort.Session, pool map[string]*ort.Tensor) map[string]*ort.Tensor {
	ins := s.Inputs()
	out := make(map[string]*ort.Tensor, len(ins))
	for _, vi := range ins {
		out[vi.Name] = pool[vi.Name]
	}
	return out
}

// Result summarises Train.
type Result struct {
	First, Last Stats
	Elapsed     time.Duration
}

// Train fits the model to opts.Batch points of the XOR task (full-batch)
// for steps steps, calling onStep (if non-nil) after each, and returns the
// first and last step's statistics. It is deterministic for a given
// Options with Threads 1.
func Train(ctx context.Context, rt *ort.Runtime, opts Options, steps int, onStep func(Stats)) (Result, error) {
	opts.fill()
	t, err := NewTrainer(rt, opts)
	if err != nil {
		return Result{}, err
	}
	defer t.Close()
	x, labels := opts.Config.XOR(opts.Batch, opts.Seed)
	var res Result
	start := time.Now()
	for i := range steps {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		st, err := t.Step(ctx, x, labels)
		if err != nil {
			return res, err
		}
		if i == 0 {
			res.First = st
		}
		res.Last = st
		if onStep != nil {
			onStep(st)
		}
	}
	res.Elapsed = time.Since(start)
	return res, nil
}
