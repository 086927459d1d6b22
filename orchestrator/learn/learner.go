// Package learn turns scored completions into gradient steps: it packs
// sequences into micro-batches, runs the train graph (the model's forward
// pass, the policy or next-token loss and their gradients, all one ONNX
// graph) through ONNX Runtime, accumulates gradients in Go and applies the
// optimizer graph. Weights and optimizer state are owned here, in Go.
package learn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"pz/export"
	rt "pz/export/ort"
	"pz/models"
	"pz/models/loss"
	"pz/models/qwen3"
	"pz/models/safetensors"
)

// Sample is one sequence to learn from: a prompt and a completion (the
// tokens that get loss), with the rollout's values.
type Sample struct {
	PromptIDs     []int32
	CompletionIDs []int32
	// Advantage applies to every completion token.
	Advantage float32
	// OldLogProbs are the sampling policy's log-probs of the completion
	// tokens (nil: recomputed by the learner).
	OldLogProbs []float32
	// RefLogProbs feed the optional KL term.
	RefLogProbs []float32
	// BehaviourLogProbs are the sampling engine's log-probs when
	// OldLogProbs hold the learner's own, frozen before the first of
	// several updates over one rollout batch (Update sets both): TIS
	// weights and the mismatch metric read them.
	BehaviourLogProbs []float32
	// LossMask (optional) zeroes the loss of completion tokens.
	LossMask []int8
	// EntropyCoef is this row's entropy-bonus coefficient, added to
	// Options.Policy.EntropyCoef; it is read only with
	// Options.Policy.EntropyPerToken (how pz train gives the generator
	// role alone a bonus).
	EntropyCoef   float32
	Step          int64
	PolicyVersion int64
}

// Aggregation names how token losses are averaged.
type Aggregation string

// Loss aggregation modes (verl's names). The denominator is always taken
// over the whole batch, never per micro-batch.
const (
	TokenMean           Aggregation = "token-mean"
	SeqMeanTokenMean    Aggregation = "seq-mean-token-mean"
	SeqMeanTokenSumNorm Aggregation = "seq-mean-token-sum-norm"
)

// Objective is the loss the learner optimises.
type Objective string

// Objectives.
const (
	GRPO      Objective = "grpo"       // clipped policy gradient
	NextToken Objective = "next-token" // cross-entropy on completion tokens (pretraining)
)

// Options configures a Learner.
type Options struct {
	Objective   Objective
	Optimizer   string // "adamw" or "sgd"
	LR          float64
	Schedule    string // "constant" or "cosine"
	WarmupSteps int
	TotalSteps  int     // cosine horizon
	MinLRRatio  float64 // cosine floor as a fraction of LR
	WeightDecay float64
	MaxGradNorm float64 // 0: no clipping
	Beta1       float64
	Beta2       float64
	Eps         float64
	Momentum    float64 // SGD
	Policy      loss.PolicyOptions
	Aggregation Aggregation
	// Horizon normalises seq-mean-token-sum-norm (the max response length).
	Horizon int
	// MicroBatchTokens caps padded tokens per micro-batch.
	MicroBatchTokens int
	// TISCap > 0 applies truncated importance sampling: the learner
	// computes the old log-probs itself (TIS implies recomputation) and
	// weights each token's loss by min(exp(old_learner − old_rollout),
	// TISCap); every sample must then carry the rollout's log-probs.
	TISCap float64
	// RecomputeOld makes the learner compute old log-probs itself even when
	// the rollout gave them (they then serve for TIS and the mismatch metric).
	RecomputeOld   bool
	IntraOpThreads int
	// SharedPrefix runs the completions that share a prompt (a GRPO
	// group) over one pass of the prompt: its keys and values are computed
	// once and gathered to each completion (qwen3.BuildPrefixForward).
	// The update is the plain batch's; samples whose prompt is a single
	// token take the plain path.
	SharedPrefix bool `json:",omitempty"`
	// LowMemory turns off ONNX Runtime's CPU memory arena in the learner's
	// sessions: measured on the small preset (8×512, 1 thread) peak RSS
	// 11.5 → 7.0 GB, but 15.8 → 21.1 s per step, so it is off by default.
	// Since the chunked head and the memory pattern's removal it no longer
	// saves memory (2 threads: 6192 MiB against 5796 MiB with the arena).
	LowMemory bool `json:",omitempty"`
	// MemPattern turns ORT's memory pattern back on in the learner's
	// sessions. It is off by default (rt.SessionOptions.NoMemPattern):
	// with the arena, ORT then kept both the planned block and the first
	// run's allocations; measured on the small preset (8×512, 2 threads,
	// chunked head, one process) peak RSS 8837 → 5796 MiB and CPU 20.9 →
	// 18.3 s per step without it.
	MemPattern bool `json:",omitempty"`
	// TF32 lets CUDA sessions run float32 MatMuls in TF32
	// (rt.SessionOptions.TF32); no effect on the CPU.
	TF32 bool `json:",omitempty"`
	// RecycleWeights lets a step write the new weights into the buffers
	// of the weights from two steps before, instead of fresh ones (168 MB,
	// ~41 k page faults per step on the small preset). The maps Weights
	// returns then stay valid only until the second Step after the call: a
	// caller that holds a version longer (an engine that does not load
	// every new version) must leave this off. pz train, pretrain and learn
	// turn it on: their engine loads each version before the next step.
	RecycleWeights bool `json:",omitempty"`
	// ProfilePrefix, when set, makes ONNX Runtime write a per-node JSON
	// trace of each session (<prefix>_<graph>_<date>.json) when the
	// learner is closed.
	ProfilePrefix string `json:",omitempty"`
	// DType of the compute (Float32; Float64 for gradient tests).
	DType export.DType
	// VocabChunk is the number of vocabulary rows per chunk of the train
	// graph's log-softmax (qwen3.ForwardOptions.VocabChunk; logits are
	// recomputed chunk by chunk in the backward pass, so no [tokens,
	// vocab] tensor is held): 0 means DefaultVocabChunk, < 0 the plain
	// full-vocabulary head. Graphs with an entropy term take the plain head.
	VocabChunk int `json:",omitempty"`
	// RouterAuxLossCoef > 0 adds Qwen3-MoE's load-balancing loss times it
	// to the objective (moe.go); 0, the default, leaves it out.
	RouterAuxLossCoef float64 `json:",omitempty"`
}

// DefaultVocabChunk is the default Options.VocabChunk: [tokens, 4096]
// float32 chunks are 64 MiB at 4096 tokens.
const DefaultVocabChunk = 4096

// Defaults fills unset options.
func (o *Options) Defaults() {
	if o.Objective == "" {
		o.Objective = GRPO
	}
	if o.Optimizer == "" {
		o.Optimizer = "adamw"
	}
	if o.Schedule == "" {
		o.Schedule = "constant"
	}
	if o.Aggregation == "" {
		o.Aggregation = TokenMean
	}
	if o.MicroBatchTokens <= 0 {
		o.MicroBatchTokens = 4096
	}
	if o.Policy == (loss.PolicyOptions{}) {
		o.Policy = loss.DefaultPolicy()
	}
	if o.Beta1 == 0 && o.Beta2 == 0 {
		o.Beta1, o.Beta2 = 0.9, 0.999
	}
	if o.Eps == 0 {
		o.Eps = 1e-8
	}
	if o.DType == 0 {
		o.DType = export.Float32
	}
}

func (o *Options) optimizer() (export.Optimizer, error) {
	switch o.Optimizer {
	case "adamw":
		return export.AdamW{Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Eps, WeightDecay: o.WeightDecay, MaxGradNorm: o.MaxGradNorm, DType: o.DType}, nil
	case "sgd":
		return export.SGD{Momentum: o.Momentum, WeightDecay: o.WeightDecay, MaxGradNorm: o.MaxGradNorm, DType: o.DType}, nil
	}
	return nil, fmt.Errorf("optimizer %q (want adamw or sgd)", o.Optimizer)
}

// LRAt is the learning rate of optimizer step `step` (0-based): linear
// warmup, then constant or cosine decay to MinLRRatio·LR at TotalSteps.
func (o *Options) LRAt(step int64) float64 {
	if o.WarmupSteps > 0 && step < int64(o.WarmupSteps) {
		return o.LR * float64(step+1) / float64(o.WarmupSteps)
	}
	if o.Schedule != "cosine" || o.TotalSteps <= o.WarmupSteps {
		return o.LR
	}
	p := float64(step-int64(o.WarmupSteps)) / float64(o.TotalSteps-o.WarmupSteps)
	p = min(max(p, 0), 1)
	floor := o.LR * o.MinLRRatio
	return floor + (o.LR-floor)*0.5*(1+math.Cos(math.Pi*p))
}

// Metrics of one optimizer step.
type Metrics struct {
	Step     int64   `json:"step"`
	LR       float64 `json:"lr"`
	Loss     float64 `json:"loss"`
	PGLoss   float64 `json:"pg_loss"`
	ClipFrac float64 `json:"clip_frac"`
	ApproxKL float64 `json:"approx_kl"`
	KLLoss   float64 `json:"kl_loss,omitempty"`
	Entropy  float64 `json:"entropy,omitempty"`
	// RouterAuxLoss is the MoE load-balancing loss (without its
	// coefficient), averaged over micro-batches, when it is on.
	RouterAuxLoss float64 `json:"router_aux_loss,omitempty"`
	GradNorm      float64 `json:"grad_norm"`
	Mismatch      float64 `json:"mismatch"` // mean exp(|Δ logp|) rollout vs learner (1 = none)
	Tokens        int     `json:"tokens"`
	Sequences     int     `json:"sequences"`
	MicroBatch    int     `json:"micro_batches"`
	Skipped       string  `json:"skipped,omitempty"` // why the update was not applied
	Seconds       float64 `json:"seconds"`
	TokPerSec     float64 `json:"tokens_per_s"`
}

// ErrNonFinite marks a step whose loss or gradient was not finite; the
// weights are left untouched.
var ErrNonFinite = errors.New("non-finite loss or gradient")

// Learner owns the weights and optimizer state of one model.
type Learner struct {
	rt      *rt.Runtime
	cfg     *models.Config
	opts    Options
	specs   []models.TensorSpec
	weights map[string][]float32
	state   map[string]*rt.Tensor // optimizer slots and step
	spare   map[string]*rt.Tensor // the slots' other buffers (see apply)
	// gradBuf holds the train graph's gradient outputs, reused every step:
	// [0] the first micro-batch's (the sum the optimizer reads), [1] the
	// others'. Fresh buffers each step would cost ~41 k page faults per
	// step on the small preset.
	gradBuf [2]map[string]*rt.Tensor
	// prevWeights are the weights before the last update; retired, those
	// before that, whose buffers the next update may reuse
	// (Options.RecycleWeights).
	prevWeights, retired map[string][]float32
	step                 int64
	train                *rt.Session
	fwd                  *rt.Session
	// trainPrefix and fwdPrefix run shared-prefix micro-batches
	// (Options.SharedPrefix).
	trainPrefix *rt.Session
	fwdPrefix   *rt.Session
	opt         *rt.Session
	optim       export.Optimizer
	// ckptDType is the checkpoints' weight dtype when SaveOptions names
	// none (SetCheckpointDType).
	ckptDType safetensors.DType
}

// New builds the train, forward and optimizer graphs for cfg. The learner
// takes ownership of weights (it replaces the slices on every step; read
// them back with Weights).
func New(runtime *rt.Runtime, cfg *models.Config, weights map[string][]float32, opts Options) (*Learner, error) {
	opts.Defaults()
	o, err := opts.optimizer()
	if err != nil {
		return nil, err
	}
	if err := opts.Policy.Validate(); err != nil {
		return nil, err
	}
	if err := checkRouterAux(cfg, opts); err != nil {
		return nil, err
	}
	l := &Learner{rt: runtime, cfg: cfg, opts: opts, specs: cfg.TensorSpecs(), weights: weights, optim: o, spare: map[string]*rt.Tensor{}}
	for _, s := range l.specs {
		if _, ok := weights[s.Name]; !ok {
			return nil, fmt.Errorf("learner: weight %s is missing", s.Name)
		}
	}
	if err := l.build(); err != nil {
		return nil, err
	}
	l.state = map[string]*rt.Tensor{export.StepName: rt.I64(nil, []int64{0})}
	for _, sn := range o.Slots() {
		for _, s := range l.specs {
			l.state[export.SlotName(sn, s.Name)] = l.zeros(s.Shape)
		}
	}
	return l, nil
}

func (l *Learner) zeros(shape []int64) *rt.Tensor {
	if l.opts.DType == export.Float64 {
		return rt.Zeros(rt.Float64, shape...)
	}
	return rt.Zeros(rt.Float32, shape...)
}

// Graph output names of the train graph.
const gradPrefix = "grad/"

func (l *Learner) build() error {
	dt := l.opts.DType
	withEntropy := l.opts.Policy.EntropyCoef > 0 || l.opts.Policy.EntropyPerToken
	chunk := l.opts.VocabChunk
	if chunk == 0 {
		chunk = DefaultVocabChunk
	}
	if l.opts.RouterAuxLossCoef != 0 {
		// The chunked head's hand-written backward starts from the
		// log-probs alone; the router's aux term reaches the weights by
		// another path, so take the plain head's autodiff.
		chunk = -1
	}
	// Log-probs only at completion positions (loss_positions, see feeds).
	fw, err := qwen3.BuildForward(l.cfg, qwen3.ForwardOptions{DType: dt, Entropy: withEntropy, Name: "train", LossPositions: true, VocabChunk: chunk})
	if err != nil {
		return err
	}
	if l.train, err = l.trainSession(fw.G, fw.LogProbs, fw.Entropy, l.routerAux(fw), fw.Grads, "train"); err != nil {
		return err
	}
	// Forward-only graph for recomputing old log-probs.
	ff, err := qwen3.BuildForward(l.cfg, qwen3.ForwardOptions{DType: dt, Name: "learner_forward", LossPositions: true, VocabChunk: chunk})
	if err != nil {
		return err
	}
	ff.G.Output(qwen3.LogProbs, ff.LogProbs)
	if l.fwd, err = l.session(ff.G, "learner_forward"); err != nil {
		return err
	}
	if l.opts.SharedPrefix {
		pf, err := qwen3.BuildPrefixForward(l.cfg, qwen3.ForwardOptions{DType: dt, Entropy: withEntropy, Name: "train_prefix", LossPositions: true, VocabChunk: chunk})
		if err != nil {
			return err
		}
		if l.trainPrefix, err = l.trainSession(pf.G, pf.LogProbs, pf.Entropy, nil, pf.Grads, "train_prefix"); err != nil {
			return err
		}
		pff, err := qwen3.BuildPrefixForward(l.cfg, qwen3.ForwardOptions{DType: dt, Name: "learner_forward_prefix", LossPositions: true, VocabChunk: chunk})
		if err != nil {
			return err
		}
		pff.G.Output(qwen3.LogProbs, pff.LogProbs)
		if l.fwdPrefix, err = l.session(pff.G, "learner_forward_prefix"); err != nil {
			return err
		}
	}
	params := make([]export.Param, len(l.specs))
	for i, s := range l.specs {
		params[i] = export.Param{Name: s.Name, DType: dt, Shape: s.Shape}
	}
	og, err := export.OptimizerGraph(l.optim, params)
	if err != nil {
		return err
	}
	l.opt, err = l.session(og, "optimizer")
	return err
}

// trainSession adds the objective on logprobs (plus the router aux loss
// term when aux is set) to a forward graph, its gradients with respect to
// the model's weights (from grads), and the outputs the learner reads.
func (l *Learner) trainSession(g *export.Graph, logprobs, entropy, aux *export.Value, gradsOf func(*export.Value) ([]*export.Value, error), name string) (*rt.Session, error) {
	dt := l.opts.DType
	var terms map[string]*export.Value
	if l.opts.Objective == NextToken {
		w := g.Input(loss.TokenWeights, dt, logprobs.Shape())
		lv, err := loss.NextToken(g, logprobs, w)
		if err != nil {
			return nil, err
		}
		terms = map[string]*export.Value{loss.Loss: lv}
	} else {
		in := loss.DeclareInputs(g, logprobs, entropy, l.opts.Policy)
		var err error
		if terms, err = loss.Policy(g, in, l.opts.Policy); err != nil {
			return nil, err
		}
	}
	addRouterAux(g, terms, aux)
	grads, err := gradsOf(terms[loss.Loss])
	if err != nil {
		return nil, fmt.Errorf("%s graph gradients: %w", name, err)
	}
	for _, name := range []string{loss.Loss, loss.PGLoss, loss.ClipFrac, loss.ApproxKL, loss.KLLoss, loss.EntropyMean, RouterAuxLoss} {
		if v, ok := terms[name]; ok {
			g.Output(name, v)
		}
	}
	g.Output(qwen3.LogProbs, g.StopGradient(logprobs))
	for i, s := range l.specs {
		g.Output(gradPrefix+s.Name, grads[i])
	}
	return l.session(g, name)
}

func (l *Learner) session(g *export.Graph, name string) (*rt.Session, error) {
	m, err := g.Build()
	if err != nil {
		return nil, fmt.Errorf("%s graph: %w", name, err)
	}
	b, err := m.Marshal()
	if err != nil {
		return nil, fmt.Errorf("%s graph: %w", name, err)
	}
	so := rt.SessionOptions{Name: name, IntraOpThreads: l.opts.IntraOpThreads, NoCPUArena: l.opts.LowMemory, NoMemPattern: !l.opts.MemPattern, TF32: l.opts.TF32}
	if l.opts.ProfilePrefix != "" {
		so.ProfilePrefix = l.opts.ProfilePrefix + "_" + name
	}
	if l.opts.DType == export.Float64 {
		// Extended fusions have float32-only kernels.
		so.Optimization = rt.OptimizeBasic
	}
	s, err := l.rt.NewSession(b, so)
	if err != nil {
		return nil, fmt.Errorf("learner: %w", err)
	}
	return s, nil
}

// Close frees the sessions.
func (l *Learner) Close() error {
	for _, s := range []*rt.Session{l.train, l.fwd, l.trainPrefix, l.fwdPrefix, l.opt} {
		if s != nil {
			s.Close()
		}
	}
	return nil
}

// Weights returns the current weights (do not modify).
func (l *Learner) Weights() map[string][]float32 { return l.weights }

// Config returns the model config.
func (l *Learner) Config() *models.Config { return l.cfg }

// StepCount is the number of optimizer steps applied.
func (l *Learner) StepCount() int64 { return l.step }

// SkipStep advances the step counter (and so the learning-rate schedule)
// without an update, for a step that had nothing to learn from. The
// optimizer's own step count, which drives bias correction, is unchanged.
func (l *Learner) SkipStep() { l.step++ }

// Options returns the options in use.
func (l *Learner) Options() Options { return l.opts }

func (l *Learner) weightTensor(name string, shape []int64) *rt.Tensor {
	w := l.weights[name]
	if l.opts.DType == export.Float64 {
		d := make([]float64, len(w))
		for i, v := range w {
			d[i] = float64(v)
		}
		return rt.F64(shape, d)
	}
	return rt.F32(shape, w)
}

// packed is one micro-batch in graph layout ([B, T], right-padded).
type packed struct {
	B, T                int
	ids, pos, mask, tgt []int64
	old, adv, w, ref    []float64
	ec                  []float64 // per-token entropy-bonus coefficient
	rows                []int     // sample index per row
	off                 []int     // position of each row's first completion token's log-prob
	tokens              int
	// lossPos are the flat indices r·T + t of the completion positions
	// (every completion token, loss-masked ones included), in order: the
	// train graph computes log-probs only there (qwen3.LossPositions).
	lossPos []int64
	// Shared-prefix micro-batches: Pn prefixes of Tp slots ([Pn, Tp],
	// right-padded) and the prefix row of each of the B suffix rows.
	prefix                    bool
	Pn, Tp                    int
	pids, ppos, pmask, pindex []int64
}

// alloc makes the per-position arrays of n = B·T positions.
func (p *packed) alloc(n int) {
	p.ids, p.pos, p.mask, p.tgt = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	p.old, p.adv, p.w, p.ref = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	p.ec = make([]float64, n)
}

// completion fills position k with completion token j of s, whose
// aggregation weight is w (both packers share it).
func (p *packed) completion(k int, s *Sample, j int, w float64) {
	p.lossPos = append(p.lossPos, int64(k))
	p.adv[k], p.ec[k], p.w[k] = float64(s.Advantage), float64(s.EntropyCoef), w
	if w != 0 {
		p.tokens++
	}
	if s.OldLogProbs != nil {
		p.old[k] = float64(s.OldLogProbs[j])
	}
	if s.RefLogProbs != nil {
		p.ref[k] = float64(s.RefLogProbs[j])
	}
}

// weightsFor computes each completion token's aggregation weight over the
// whole batch.
func (l *Learner) weightsFor(batch []Sample) ([][]float64, int) {
	ws := make([][]float64, len(batch))
	total := 0
	for i, s := range batch {
		ws[i] = make([]float64, len(s.CompletionIDs))
		for j := range s.CompletionIDs {
			if s.LossMask == nil || s.LossMask[j] != 0 {
				ws[i][j] = 1
				total++
			}
		}
	}
	n := float64(len(batch))
	for i := range batch {
		cnt := 0.0
		for _, v := range ws[i] {
			cnt += v
		}
		for j := range ws[i] {
			switch l.opts.Aggregation {
			case TokenMean:
				ws[i][j] /= float64(max(total, 1))
			case SeqMeanTokenMean:
				ws[i][j] /= max(cnt, 1) * n
			case SeqMeanTokenSumNorm:
				ws[i][j] /= float64(max(l.opts.Horizon, 1)) * n
			}
		}
	}
	return ws, total
}

// pack groups samples (in order) into micro-batches of at most
// MicroBatchTokens padded tokens.
func (l *Learner) pack(batch []Sample, ws [][]float64, idx []int) []*packed {
	var out []*packed
	var cur []int
	T := 0
	flush := func() {
		if len(cur) == 0 {
			return
		}
		p := &packed{B: len(cur), T: T, rows: cur, off: make([]int, len(cur))}
		n := p.B * T
		p.alloc(n)
		for r, i := range cur {
			s := batch[i]
			seq := slices.Concat(s.PromptIDs, s.CompletionIDs)
			P := len(s.PromptIDs)
			p.off[r] = P - 1
			for t := 0; t < len(seq)-1; t++ {
				k := r*T + t
				p.ids[k], p.pos[k], p.mask[k], p.tgt[k] = int64(seq[t]), int64(t), 1, int64(seq[t+1])
				if j := t + 1 - P; j >= 0 {
					p.completion(k, &s, j, ws[i][j])
				}
			}
		}
		out = append(out, p)
		cur, T = nil, 0
	}
	for _, i := range idx {
		s := batch[i]
		n := len(s.PromptIDs) + len(s.CompletionIDs) - 1
		if len(cur) > 0 && (len(cur)+1)*max(T, n) > l.opts.MicroBatchTokens {
			flush()
		}
		cur = append(cur, i)
		T = max(T, n)
	}
	flush()
	return out
}

// gather picks v's values at the loss positions.
func (p *packed) gather(v []float64) []float64 {
	out := make([]float64, len(p.lossPos))
	for i, k := range p.lossPos {
		out[i] = v[k]
	}
	return out
}

// scatter spreads values at the loss positions over all B·T positions
// (zeros elsewhere), the layout the rest of Step indexes.
func (p *packed) scatter(v []float64) []float64 {
	out := make([]float64, p.B*p.T)
	for i, k := range p.lossPos {
		out[k] = v[i]
	}
	return out
}

func (l *Learner) floatTensor(shape []int64, v []float64) *rt.Tensor {
	if l.opts.DType == export.Float64 {
		return rt.F64(shape, v)
	}
	f := make([]float32, len(v))
	for i, x := range v {
		f[i] = float32(x)
	}
	return rt.F32(shape, f)
}

func toF64(t *rt.Tensor) []float64 {
	switch d := t.Data.(type) {
	case []float64:
		return d
	case []float32:
		out := make([]float64, len(d))
		for i, x := range d {
			out[i] = float64(x)
		}
		return out
	}
	return nil
}

func (l *Learner) feeds(p *packed) map[string]*rt.Tensor {
	sh := []int64{int64(p.B), int64(p.T)}
	f := map[string]*rt.Tensor{
		qwen3.InputIDs: rt.I64(sh, p.ids), qwen3.PositionIDs: rt.I64(sh, p.pos),
		qwen3.AttentionMask: rt.I64(sh, p.mask), qwen3.TargetIDs: rt.I64(sh, p.tgt),
	}
	if p.prefix {
		psh := []int64{int64(p.Pn), int64(p.Tp)}
		f[qwen3.PrefixIDs], f[qwen3.PrefixPositionIDs] = rt.I64(psh, p.pids), rt.I64(psh, p.ppos)
		f[qwen3.PrefixAttentionMask] = rt.I64(psh, p.pmask)
		f[qwen3.PrefixIndex] = rt.I64([]int64{int64(p.B)}, p.pindex)
	}
	f[qwen3.LossPositions] = rt.I64([]int64{int64(len(p.lossPos))}, p.lossPos)
	for _, s := range l.specs {
		f[s.Name] = l.weightTensor(s.Name, s.Shape)
	}
	return f
}

// validate checks a batch against the model before any work is done.
func (l *Learner) validate(batch []Sample) error {
	V := int32(l.cfg.VocabSize)
	for i, s := range batch {
		if len(s.PromptIDs) == 0 || len(s.CompletionIDs) == 0 {
			return fmt.Errorf("sample %d: empty prompt or completion", i)
		}
		for _, id := range slices.Concat(s.PromptIDs, s.CompletionIDs) {
			if id < 0 || id >= V {
				return fmt.Errorf("sample %d: token id %d outside the vocabulary [0, %d)", i, id, V)
			}
		}
		n := len(s.CompletionIDs)
		if s.OldLogProbs != nil && len(s.OldLogProbs) != n {
			return fmt.Errorf("sample %d: %d old_logprobs for %d completion tokens", i, len(s.OldLogProbs), n)
		}
		if s.RefLogProbs != nil && len(s.RefLogProbs) != n {
			return fmt.Errorf("sample %d: %d ref_logprobs for %d completion tokens", i, len(s.RefLogProbs), n)
		}
		if s.LossMask != nil && len(s.LossMask) != n {
			return fmt.Errorf("sample %d: %d loss_mask values for %d completion tokens", i, len(s.LossMask), n)
		}
		if l.opts.Policy.KL != loss.KLNone && s.RefLogProbs == nil {
			return fmt.Errorf("sample %d: the KL term needs ref_logprobs", i)
		}
	}
	return nil
}

// recompute fills the learner's own log-probs of each micro-batch's tokens.
func (l *Learner) recompute(ctx context.Context, p *packed) ([]float64, error) {
	fwd := l.fwd
	if p.prefix {
		fwd = l.fwdPrefix
	}
	out, err := fwd.Run(ctx, l.feeds(p), qwen3.LogProbs)
	if err != nil {
		return nil, fmt.Errorf("recompute old log-probs: %w", l.oomHint(err, p))
	}
	return p.scatter(toF64(out[qwen3.LogProbs])), nil
}

// Step applies one optimizer step over batch (which should hold no
// filtered samples: they are not in the loss nor its denominator). A step
// whose loss or gradient is not finite is skipped (weights untouched): the
// returned error wraps ErrNonFinite and Metrics.Skipped says why.
func (l *Learner) Step(ctx context.Context, batch []Sample) (Metrics, error) {
	return l.step1(ctx, batch, false)
}

// step1 is Step; frozen says the batch's OldLogProbs are the learner's own,
// computed before the first update (Update), and BehaviourLogProbs the
// rollout's: nothing is recomputed.
func (l *Learner) step1(ctx context.Context, batch []Sample, frozen bool) (Metrics, error) {
	start := time.Now()
	m := Metrics{Step: l.step, LR: l.opts.LRAt(l.step), Sequences: len(batch)}
	if len(batch) == 0 {
		m.Skipped = "empty batch"
		return m, nil
	}
	if err := l.validate(batch); err != nil {
		return m, fmt.Errorf("learn step %d: %w", l.step, err)
	}
	if err := l.validateTIS(batch, frozen); err != nil {
		return m, fmt.Errorf("learn step %d: %w", l.step, err)
	}
	ws, total := l.weightsFor(batch)
	m.Tokens = total
	var mbs []*packed
	if l.opts.SharedPrefix {
		var plain, shared []int
		for i, s := range batch {
			if len(s.PromptIDs) >= 2 {
				shared = append(shared, i)
			} else {
				plain = append(plain, i)
			}
		}
		mbs = append(l.packPrefix(batch, ws, shared), l.pack(batch, ws, plain)...)
	} else {
		mbs = l.pack(batch, ws, seq(len(batch)))
	}
	m.MicroBatch = len(mbs)
	acc := map[string]*rt.Tensor{}
	mismatchSum, mismatchN := 0.0, 0
	for mi, p := range mbs {
		if err := ctx.Err(); err != nil {
			return m, fmt.Errorf("learn step %d: %w", l.step, err)
		}
		if err := l.fillOld(ctx, batch, p, frozen); err != nil {
			return m, err
		}
		// The loss inputs are [tokens], at the completion positions.
		sh := []int64{int64(len(p.lossPos))}
		f := l.feeds(p)
		f[loss.TokenWeights] = l.floatTensor(sh, p.gather(p.w))
		if l.opts.Objective == GRPO {
			f[loss.OldLogProbs] = l.floatTensor(sh, p.gather(p.old))
			f[loss.Advantages] = l.floatTensor(sh, p.gather(p.adv))
			if l.opts.Policy.KL != loss.KLNone {
				f[loss.RefLogProbs] = l.floatTensor(sh, p.gather(p.ref))
			}
			if l.opts.Policy.EntropyPerToken {
				f[loss.EntropyCoefs] = l.floatTensor(sh, p.gather(p.ec))
			}
		}
		train := l.train
		if p.prefix {
			train = l.trainPrefix
		} else if l.opts.RouterAuxLossCoef > 0 {
			f[RouterAuxScale] = l.floatTensor(nil, []float64{l.opts.RouterAuxLossCoef / float64(len(mbs))})
		}
		out, err := train.RunReusing(ctx, f, l.gradBuffers(min(mi, 1)))
		if err != nil {
			return m, fmt.Errorf("learn step %d: %w", l.step, l.oomHint(err, p))
		}
		scalar := func(name string) float64 {
			if t, ok := out[name]; ok {
				return toF64(t)[0]
			}
			return 0
		}
		m.Loss += scalar(loss.Loss)
		m.PGLoss += scalar(loss.PGLoss)
		m.ClipFrac += scalar(loss.ClipFrac)
		m.ApproxKL += scalar(loss.ApproxKL)
		m.KLLoss += scalar(loss.KLLoss)
		m.Entropy += scalar(loss.EntropyMean)
		m.RouterAuxLoss += scalar(RouterAuxLoss) / float64(len(mbs))
		// Rollout/learner mismatch over tokens whose rollout log-probs we have.
		lp := p.scatter(toF64(out[qwen3.LogProbs]))
		for r, i := range p.rows {
			ro := rolloutLogProbs(&batch[i], frozen)
			if ro == nil {
				continue
			}
			for j := range batch[i].CompletionIDs {
				mismatchSum += math.Exp(math.Abs(lp[r*p.T+p.off[r]+j] - float64(ro[j])))
				mismatchN++
			}
		}
		// Gradients are summed in the compute dtype, into the first
		// micro-batch's output buffers: a one-micro-batch step hands them
		// to the optimizer without a copy.
		for _, s := range l.specs {
			gv := out[gradPrefix+s.Name]
			a := acc[s.Name]
			if a == nil {
				acc[s.Name] = gv
				continue
			}
			addInto(a, gv)
		}
	}
	if mismatchN > 0 {
		m.Mismatch = mismatchSum / float64(mismatchN)
	}
	if math.IsNaN(m.Loss) || math.IsInf(m.Loss, 0) {
		m.Skipped = "loss is not finite"
		return m, fmt.Errorf("learn step %d: %w (loss %g)", l.step, ErrNonFinite, m.Loss)
	}
	if err := l.apply(ctx, acc, &m); err != nil {
		return m, err
	}
	m.Seconds = time.Since(start).Seconds()
	m.TokPerSec = float64(m.Tokens) / m.Seconds
	return m, nil
}

// gradBuffers returns gradient output buffer set i, allocated on first use.
func (l *Learner) gradBuffers(i int) map[string]*rt.Tensor {
	if l.gradBuf[i] == nil {
		l.gradBuf[i] = make(map[string]*rt.Tensor, len(l.specs))
		for _, s := range l.specs {
			l.gradBuf[i][gradPrefix+s.Name] = l.zeros(s.Shape)
		}
	}
	return l.gradBuf[i]
}

// addInto adds src to dst elementwise (same dtype and size).
func addInto(dst, src *rt.Tensor) {
	switch d := dst.Data.(type) {
	case []float32:
		s := src.Data.([]float32)
		for i := range d {
			d[i] += s[i]
		}
	case []float64:
		s := src.Data.([]float64)
		for i := range d {
			d[i] += s[i]
		}
	}
}

// apply runs the optimizer graph on the accumulated gradients.
func (l *Learner) apply(ctx context.Context, grads map[string]*rt.Tensor, m *Metrics) error {
	f := map[string]*rt.Tensor{}
	for k, v := range l.state {
		f[k] = v
	}
	for _, s := range l.specs {
		f[s.Name] = l.weightTensor(s.Name, s.Shape)
		f[export.GradName(s.Name)] = grads[s.Name]
	}
	f[export.LRName] = l.floatTensor(nil, []float64{m.LR})
	// The optimizer slots alternate between two sets of buffers (the
	// state and l.spare), written in place; the weights get new slices,
	// since callers may still hold the previous version, or with
	// RecycleWeights the slices of the version before that.
	out := map[string]*rt.Tensor{export.GradNormName: l.zeros(nil)}
	for _, s := range l.specs {
		if w, ok := l.retired[s.Name]; ok && l.opts.RecycleWeights && l.opts.DType != export.Float64 {
			out[export.UpdatedName(s.Name)] = rt.F32(s.Shape, w)
			continue
		}
		out[export.UpdatedName(s.Name)] = l.zeros(s.Shape)
	}
	for k, v := range l.state {
		if k == export.StepName {
			out[export.UpdatedName(k)] = rt.I64(nil, []int64{0})
			continue
		}
		sp := l.spare[k]
		if sp == nil {
			sp = l.zeros(v.Shape)
		}
		out[export.UpdatedName(k)] = sp
	}
	if err := l.opt.RunInto(ctx, f, out); err != nil {
		return fmt.Errorf("learn step %d: optimizer: %w", l.step, err)
	}
	m.GradNorm = toF64(out[export.GradNormName])[0]
	if math.IsNaN(m.GradNorm) || math.IsInf(m.GradNorm, 0) {
		m.Skipped = "gradient is not finite"
		return fmt.Errorf("learn step %d: %w (grad norm %g)", l.step, ErrNonFinite, m.GradNorm)
	}
	nw := make(map[string][]float32, len(l.specs))
	for _, s := range l.specs {
		switch d := out[export.UpdatedName(s.Name)].Data.(type) {
		case []float32:
			nw[s.Name] = d
		case []float64:
			w := make([]float32, len(d))
			for i, x := range d {
				w[i] = float32(x)
			}
			nw[s.Name] = w
		}
	}
	for k, old := range l.state {
		l.state[k] = out[export.UpdatedName(k)]
		if k != export.StepName {
			l.spare[k] = old
		}
	}
	if l.opts.RecycleWeights {
		l.retired, l.prevWeights = l.prevWeights, l.weights
	}
	l.weights = nw
	l.step++
	return nil
}
