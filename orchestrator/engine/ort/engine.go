// Package ort is the in-process rollout engine: it generates and scores
// with the decode and train graphs of pz/models/qwen3, run by ONNX Runtime
// through pz/export/ort. It implements orchestrator.Engine and
// orchestrator.WeightLoader.
//
// Generation prefills each distinct prompt once and fans its KV cache out
// to the prompt's N samples, then decodes all live rows of the batch
// together; rows that finish are compacted away. By default decoding runs
// the fused graph (ORT contrib ops, see qwen3.DecodeOptions.Fused): each
// layer's KV cache is one Go buffer bound as both past_* and present_*, to
// which GroupQueryAttention appends in place (fused.go). With the
// standard-op twin (Options.StandardOps, or PZ_FUSED_OPS=0) the cache lives
// in two Go buffers used in turn (a step reads one as past_* and writes
// present_* into the other). Either way the buffers are kept between
// calls, and rows are sampled in parallel between ORT runs.
package ort

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"pz/export"
	rt "pz/export/ort"
	"pz/models"
	"pz/models/qwen3"
	"pz/orchestrator"
	"pz/orchestrator/sample"
)

var (
	_ orchestrator.Engine       = (*Engine)(nil)
	_ orchestrator.WeightLoader = (*Engine)(nil)
)

// WeightMode says how weights reach the graphs.
type WeightMode string

// Weight modes. Inputs: weights are graph inputs fed from Go memory every
// run, so a new version costs nothing to load, but ORT cannot prepack them
// (slower MatMuls at small batch). Initializers: weights are stored in the
// graphs and prepacked; loading a new version rebuilds the sessions.
const (
	WeightsInputs       WeightMode = "inputs"
	WeightsInitializers WeightMode = "initializers"
)

// Options configures an Engine.
type Options struct {
	// IntraOpThreads for ORT (0: ORT's default, one per core).
	IntraOpThreads int
	// Spin lets ORT's intra-op threads spin while waiting for work. Off by
	// default: on this 2-core machine shared with other work, a 256-token
	// prefill with 2 spinning threads took 199 ms (median) against 141 ms
	// without spinning and 109 ms on 1 thread, and spinning threads also
	// steal the core from the sampling goroutines between decode steps.
	Spin bool
	// MaxBatch caps the rows decoded together (default 64).
	MaxBatch int
	// MaxScoreTokens caps padded tokens per scoring run (default 8192).
	MaxScoreTokens int
	// Weights picks the weight mode (default auto: ResolveWeightMode).
	Weights WeightMode
	// VocabLimit > 0 keeps every sampler to ids below it (padded
	// embedding rows past the tokenizer's ids); Banned are ids below it
	// the tokenizer does not define. See VocabMask.
	VocabLimit int
	Banned     []int32
	// EOS overrides the config's end-of-sequence ids.
	EOS []int32
	// StandardOps forces the decode graph written with standard ONNX ops
	// (cache grown by Concat, copied every step). By default the engine
	// decodes with the fused graph of ONNX Runtime contrib ops
	// (GroupQueryAttention appending to the cache in place) when the config
	// allows it (qwen3.FusedDecodeSupported). Setting the environment
	// variable PZ_FUSED_OPS=0 forces the standard graph everywhere.
	StandardOps bool
	// Detokenize turns ids into text; needed for stop strings.
	Detokenize func(ids []int32) string
	// ProfilePrefix, when set, makes ONNX Runtime write a per-node JSON
	// trace of each session (<prefix>_<decode|score>_<date>.json) when the
	// session is closed.
	ProfilePrefix string
	Logger        *slog.Logger
}

// Stats accumulates where generation time goes.
type Stats struct {
	ORT        time.Duration // inside Session.Run
	Sample     time.Duration // drawing tokens from logits (Generate)
	Total      time.Duration // inside Generate/Score
	Tokens     int64         // sampled tokens
	Prefill    int64         // prompt tokens prefetched
	WeightSync time.Duration // last LoadWeights
}

// Engine runs a Qwen3-family model in-process.
type Engine struct {
	rt      *rt.Runtime
	cfg     *models.Config
	opts    Options
	log     *slog.Logger
	mu      sync.Mutex // guards weights/sessions against LoadWeights
	weights map[string][]float32
	feeds   map[string]*rt.Tensor // weight feeds (inputs mode)
	decode  *rt.Session
	score   *rt.Session
	version int64
	fused   bool // decode runs the fused graph (waveFused)
	// kvScratch holds KV-cache buffers kept between waves and calls, so
	// that generating does not allocate (and fault in) the cache each time.
	kvScratch [][]float32
	choices   []sampled // sampleRows' scratch
	eos       map[int32]bool
	stats     Stats
}

// New builds the graphs for cfg and loads them with weights (which the
// engine keeps a reference to and never modifies).
func New(runtime *rt.Runtime, cfg *models.Config, weights map[string][]float32, opts Options) (*Engine, error) {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 64
	}
	if opts.MaxScoreTokens <= 0 {
		opts.MaxScoreTokens = 8192
	}
	mode, err := ResolveWeightMode(cfg, opts.Weights)
	if err != nil {
		return nil, err
	}
	opts.Weights = mode
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	e := &Engine{rt: runtime, cfg: cfg, opts: opts, log: opts.Logger, eos: map[int32]bool{}}
	if !opts.StandardOps && os.Getenv("PZ_FUSED_OPS") != "0" {
		if err := qwen3.FusedDecodeSupported(cfg); err != nil {
			e.log.Info("engine: decoding with standard ops", "reason", err)
		} else {
			e.fused = true
		}
	}
	for _, id := range cfg.EOSTokenIDs {
		e.eos[int32(id)] = true
	}
	if len(opts.EOS) > 0 {
		e.eos = map[int32]bool{}
		for _, id := range opts.EOS {
			e.eos[id] = true
		}
	}
	if err := e.load(weights); err != nil {
		return nil, err
	}
	return e, nil
}

// load (re)builds the sessions for weights.
func (e *Engine) load(weights map[string][]float32) error {
	for _, s := range e.cfg.TensorSpecs() {
		w, ok := weights[s.Name]
		if !ok {
			return fmt.Errorf("engine: weight %s is missing", s.Name)
		}
		if int64(len(w)) != rt.NumElements(s.Shape) {
			return fmt.Errorf("engine: weight %s has %d values, want shape %v", s.Name, len(w), s.Shape)
		}
	}
	src := qwen3.WeightsAsInitializers(weights)
	if e.opts.Weights == WeightsInputs {
		src = nil
		e.feeds = map[string]*rt.Tensor{}
		for _, s := range e.cfg.TensorSpecs() {
			e.feeds[s.Name] = rt.F32(s.Shape, weights[s.Name])
		}
		e.weights = weights
		if e.decode != nil {
			return nil // same graphs; the new feeds are used from the next run
		}
	}
	// One graph at a time, built, serialised and handed to ORT before the
	// next: with initializers each serialised model holds a copy of the
	// weights, and ORT makes its own while it initialises a session.
	so := rt.SessionOptions{IntraOpThreads: e.opts.IntraOpThreads}
	if !e.opts.Spin {
		so.Config = map[string]string{"session.intra_op.allow_spinning": "0"}
	}
	session := func(name string, build func() (*export.Model, error)) (*rt.Session, error) {
		m, err := build()
		if err != nil {
			return nil, err
		}
		b, err := m.Marshal()
		if err != nil {
			return nil, err
		}
		so.Name = name
		if e.opts.ProfilePrefix != "" {
			so.ProfilePrefix = e.opts.ProfilePrefix + "_" + name
		}
		s, err := e.rt.NewSession(b, so)
		if err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
		return s, nil
	}
	dec, err := session("decode", func() (*export.Model, error) {
		return qwen3.BuildDecode(e.cfg, qwen3.DecodeOptions{Weights: src, Fused: e.fused})
	})
	if err != nil {
		return err
	}
	sc, err := session("score", func() (*export.Model, error) {
		fw, err := qwen3.BuildForward(e.cfg, qwen3.ForwardOptions{Weights: src, Entropy: true, Name: "qwen3_score"})
		if err != nil {
			return nil, err
		}
		fw.G.Output(qwen3.LogProbs, fw.LogProbs)
		fw.G.Output(qwen3.Entropy, fw.Entropy)
		return fw.G.Build()
	})
	if err != nil {
		dec.Close()
		return err
	}
	if e.decode != nil {
		e.decode.Close()
		e.score.Close()
	}
	e.decode, e.score, e.weights = dec, sc, weights
	return nil
}

// LoadWeights swaps in a new version of the weights (in memory).
func (e *Engine) LoadWeights(ctx context.Context, weights map[string][]float32, version int64) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	start := time.Now()
	if err := e.load(weights); err != nil {
		return fmt.Errorf("load weights version %d: %w", version, err)
	}
	e.version = version
	e.stats.WeightSync = time.Since(start)
	return nil
}

// Stats returns the accumulated timings.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats
}

// Close frees the sessions.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.decode != nil {
		e.decode.Close()
		e.score.Close()
		e.decode, e.score = nil, nil
	}
	e.kvScratch = nil
	return nil
}

func (e *Engine) withWeights(feeds map[string]*rt.Tensor) map[string]*rt.Tensor {
	for k, v := range e.feeds {
		feeds[k] = v
	}
	return feeds
}

func (e *Engine) run(ctx context.Context, s *rt.Session, in, out map[string]*rt.Tensor) error {
	t := time.Now()
	err := s.RunInto(ctx, e.withWeights(in), out)
	e.stats.ORT += time.Since(t)
	return err
}

// Score computes per-token log-probs and entropies of sequences, batching
// sequences of similar length (right-padded) up to MaxScoreTokens.
func (e *Engine) Score(ctx context.Context, reqs []orchestrator.ScoreRequest) ([]orchestrator.ScoreResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	start := time.Now()
	defer func() { e.stats.Total += time.Since(start) }()
	res := make([]orchestrator.ScoreResult, len(reqs))
	order := make([]int, len(reqs))
	for i := range order {
		order[i] = i
		if r := reqs[i]; r.From < 1 || r.From > len(r.IDs) {
			if len(r.IDs) >= 2 || r.From > len(r.IDs) {
				return nil, fmt.Errorf("score: request %d: from %d outside [1, %d]", i, r.From, len(r.IDs))
			}
		}
		for _, id := range reqs[i].IDs {
			if id < 0 || int(id) >= e.cfg.VocabSize {
				return nil, fmt.Errorf("score: request %d: token id %d outside the vocabulary [0, %d)", i, id, e.cfg.VocabSize)
			}
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(reqs[a].IDs) - len(reqs[b].IDs) })
	for lo := 0; lo < len(order); {
		// Grow the batch while its padded size fits.
		hi := lo + 1
		for hi < len(order) && (hi-lo+1)*max(1, len(reqs[order[hi]].IDs)-1) <= e.opts.MaxScoreTokens {
			hi++
		}
		batch := order[lo:hi]
		lo = hi
		T := 0
		for _, i := range batch {
			T = max(T, len(reqs[i].IDs)-1)
		}
		if T == 0 {
			continue
		}
		B := len(batch)
		ids, pos, mask, tgt := make([]int64, B*T), make([]int64, B*T), make([]int64, B*T), make([]int64, B*T)
		for r, i := range batch {
			seq := reqs[i].IDs
			for t := 0; t < len(seq)-1; t++ {
				ids[r*T+t], pos[r*T+t], mask[r*T+t], tgt[r*T+t] = int64(seq[t]), int64(t), 1, int64(seq[t+1])
			}
		}
		sh := []int64{int64(B), int64(T)}
		out := map[string]*rt.Tensor{
			qwen3.LogProbs: rt.Zeros(rt.Float32, sh...),
			qwen3.Entropy:  rt.Zeros(rt.Float32, sh...),
		}
		in := map[string]*rt.Tensor{qwen3.InputIDs: rt.I64(sh, ids), qwen3.PositionIDs: rt.I64(sh, pos),
			qwen3.AttentionMask: rt.I64(sh, mask), qwen3.TargetIDs: rt.I64(sh, tgt)}
		if err := e.run(ctx, e.score, in, out); err != nil {
			return nil, fmt.Errorf("score: %w", err)
		}
		lp, ent := out[qwen3.LogProbs].Data.([]float32), out[qwen3.Entropy].Data.([]float32)
		for r, i := range batch {
			n := len(reqs[i].IDs)
			from := reqs[i].From
			res[i].LogProbs = slices.Clone(lp[r*T+from-1 : r*T+n-1])
			if reqs[i].Entropy {
				res[i].Entropy = slices.Clone(ent[r*T+from-1 : r*T+n-1])
			}
		}
	}
	return res, nil
}

// row is one completion being decoded.
type row struct {
	req, sample int
	promptLen   int
	sampler     *sample.Sampler
	out         *orchestrator.Completion
	stop        []string
	maxNew      int
}

// newRow starts sample s of request i, writing into res.
func newRow(reqs []orchestrator.GenRequest, i, s int, res []orchestrator.GenResult) (*row, error) {
	r := reqs[i]
	smp, err := sample.New(r.Sampling, r.Seed+uint64(s))
	if err != nil {
		return nil, fmt.Errorf("generate: request %d: %w", i, err)
	}
	return &row{req: i, sample: s, promptLen: len(r.Prompt), out: &res[i].Completions[s],
		sampler: smp, stop: r.StopStrings, maxNew: r.MaxNewTokens}, nil
}

// Generate samples completions (see orchestrator.Engine).
func (e *Engine) Generate(ctx context.Context, reqs []orchestrator.GenRequest) ([]orchestrator.GenResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	start := time.Now()
	defer func() { e.stats.Total += time.Since(start) }()
	res := make([]orchestrator.GenResult, len(reqs))
	reqs = e.withVocabLimit(reqs)
	for i, r := range reqs {
		if len(r.Prompt) == 0 {
			return nil, fmt.Errorf("generate: request %d: empty prompt", i)
		}
		if err := r.Sampling.Validate(); err != nil {
			return nil, fmt.Errorf("generate: request %d: %w", i, err)
		}
		if r.MaxNewTokens < 1 {
			return nil, fmt.Errorf("generate: request %d: max new tokens must be >= 1", i)
		}
		if len(r.StopStrings) > 0 && e.opts.Detokenize == nil {
			return nil, fmt.Errorf("generate: request %d: stop strings need a detokenizer", i)
		}
		for _, id := range r.Prompt {
			if id < 0 || int(id) >= e.cfg.VocabSize {
				return nil, fmt.Errorf("generate: request %d: token id %d outside the vocabulary [0, %d)", i, id, e.cfg.VocabSize)
			}
		}
		if n := len(r.Prompt) + r.MaxNewTokens; e.fused && n > e.cfg.MaxPositionEmbeddings {
			return nil, fmt.Errorf("generate: request %d: %d prompt + %d new tokens exceed max_position_embeddings %d", i, len(r.Prompt), r.MaxNewTokens, e.cfg.MaxPositionEmbeddings)
		}
		res[i].Completions = make([]orchestrator.Completion, max(r.N, 0))
	}
	// Waves of whole requests whose samples fit MaxBatch rows.
	for lo := 0; lo < len(reqs); {
		hi, rows := lo, 0
		for hi < len(reqs) && (hi == lo || rows+reqs[hi].N <= e.opts.MaxBatch) {
			rows += reqs[hi].N
			hi++
		}
		wave := e.wave
		if e.fused {
			wave = e.waveFused
		}
		if err := wave(ctx, reqs, lo, hi, res); err != nil {
			return nil, err
		}
		lo = hi
	}
	return res, nil
}

// kvBuffers holds the two halves of the ping-pong KV cache.
type kvBuffers struct {
	buf [2][][]float32 // [half][layer*2 + k/v]
}

func (e *Engine) wave(ctx context.Context, reqs []orchestrator.GenRequest, lo, hi int, res []orchestrator.GenResult) error {
	cfg := e.cfg
	L, KV, D, V := cfg.NumHiddenLayers, cfg.NumKeyValueHeads, cfg.HeadDim, cfg.VocabSize
	P := hi - lo
	maxPrompt, maxNew, nRows := 0, 0, 0
	for _, r := range reqs[lo:hi] {
		maxPrompt = max(maxPrompt, len(r.Prompt))
		maxNew = max(maxNew, r.MaxNewTokens)
		nRows += r.N
	}
	if nRows == 0 {
		return nil
	}
	// Prefill: the distinct prompts, left-padded to maxPrompt.
	Tp := maxPrompt
	ids, pos, mask := make([]int64, P*Tp), make([]int64, P*Tp), make([]int64, P*Tp)
	for p, r := range reqs[lo:hi] {
		pad := Tp - len(r.Prompt)
		for j, id := range r.Prompt {
			ids[p*Tp+pad+j], pos[p*Tp+pad+j], mask[p*Tp+pad+j] = int64(id), int64(j), 1
		}
	}
	in := map[string]*rt.Tensor{qwen3.InputIDs: rt.I64([]int64{int64(P), int64(Tp)}, ids),
		qwen3.PositionIDs: rt.I64([]int64{int64(P), int64(Tp)}, pos), qwen3.AttentionMask: rt.I64([]int64{int64(P), int64(Tp)}, mask)}
	out, err := e.prefill(ctx, in, P, Tp)
	if err != nil {
		return err
	}
	promptLogits := out[qwen3.Logits].Data.([]float32)

	// Fan out: each prompt's cache rows and logits go to its N samples.
	maxT := Tp + maxNew
	var kv kvBuffers
	bufs := e.kvBuffers(4*L, nRows*KV*maxT*D)
	kv.buf[0], kv.buf[1] = bufs[:2*L], bufs[2*L:]
	rowStride := func(T int) int { return KV * T * D }
	var rows []*row
	masks := make([]int64, 0, nRows*maxT)
	logits := make([]float32, nRows*V)
	for p, r := range reqs[lo:hi] {
		for s := range r.N {
			ri := len(rows)
			for l := range L {
				for kvI, name := range []string{qwen3.PresentKey(l), qwen3.PresentValue(l)} {
					src := out[name].Data.([]float32)[p*rowStride(Tp) : (p+1)*rowStride(Tp)]
					copy(kv.buf[0][2*l+kvI][ri*rowStride(Tp):], src)
				}
			}
			masks = append(masks, mask[p*Tp:(p+1)*Tp]...)
			copy(logits[ri*V:(ri+1)*V], promptLogits[p*V:(p+1)*V])
			rw, err := newRow(reqs, lo+p, s, res)
			if err != nil {
				return err
			}
			rows = append(rows, rw)
		}
	}
	T, half := Tp, 0
	for len(rows) > 0 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		// Sample one token per live row from its logits.
		B := len(rows)
		newIDs, newPos := make([]int64, B), make([]int64, B)
		keep := make([]bool, B)
		if err := e.sampleRows(rows, logits, newIDs, keep); err != nil {
			return err
		}
		for i, r := range rows {
			newPos[i] = int64(r.promptLen + len(r.out.IDs) - 1)
		}
		// Compact: drop finished rows from the cache, masks and state.
		if slices.Contains(keep, false) {
			n := 0
			for i, k := range keep {
				if !k {
					continue
				}
				if n != i {
					for j := range 2 * L {
						b := kv.buf[half][j]
						copy(b[n*rowStride(T):(n+1)*rowStride(T)], b[i*rowStride(T):(i+1)*rowStride(T)])
					}
					copy(masks[n*T:(n+1)*T], masks[i*T:(i+1)*T])
					rows[n], newIDs[n], newPos[n] = rows[i], newIDs[i], newPos[i]
				}
				n++
			}
			rows, newIDs, newPos, masks = rows[:n], newIDs[:n], newPos[:n], masks[:n*T]
			B = n
			if B == 0 {
				break
			}
		}
		// Extend each row's mask by the new slot.
		nm := make([]int64, 0, B*(T+1))
		for i := range B {
			nm = append(nm, masks[i*T:(i+1)*T]...)
			nm = append(nm, 1)
		}
		masks = nm
		sh := []int64{int64(B), 1}
		in := map[string]*rt.Tensor{qwen3.InputIDs: rt.I64(sh, newIDs), qwen3.PositionIDs: rt.I64(sh, newPos),
			qwen3.AttentionMask: rt.I64([]int64{int64(B), int64(T + 1)}, masks)}
		out := map[string]*rt.Tensor{qwen3.Logits: rt.F32([]int64{int64(B), int64(V)}, logits[:B*V])}
		pastSh := []int64{int64(B), int64(KV), int64(T), int64(D)}
		presSh := []int64{int64(B), int64(KV), int64(T + 1), int64(D)}
		for l := range L {
			in[qwen3.PastKey(l)] = rt.F32(pastSh, kv.buf[half][2*l][:B*rowStride(T)])
			in[qwen3.PastValue(l)] = rt.F32(pastSh, kv.buf[half][2*l+1][:B*rowStride(T)])
			out[qwen3.PresentKey(l)] = rt.F32(presSh, kv.buf[1-half][2*l][:B*rowStride(T+1)])
			out[qwen3.PresentValue(l)] = rt.F32(presSh, kv.buf[1-half][2*l+1][:B*rowStride(T+1)])
		}
		if err := e.run(ctx, e.decode, in, out); err != nil {
			return fmt.Errorf("generate: decode step at length %d: %w", T+1, err)
		}
		T, half = T+1, 1-half
	}
	return nil
}

// sampleRows draws one token per row from its logits row, records it in
// the row's completion, and sets the token in ids and whether the row goes
// on in keep. Rows are sampled in parallel (each has its own sampler, so
// the draws do not depend on the split): ORT is idle meanwhile, and at a
// vocabulary of 32k and more sampling is most of the Go-side time.
func (e *Engine) sampleRows(rows []*row, logits []float32, ids []int64, keep []bool) error {
	V := e.cfg.VocabSize
	if cap(e.choices) < len(rows) {
		e.choices = make([]sampled, len(rows))
	}
	choices := e.choices[:len(rows)]
	start := time.Now()
	defer func() { e.stats.Sample += time.Since(start) }()
	draw := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			e.ban(logits[i*V : (i+1)*V])
			choices[i].Choice, choices[i].err = rows[i].sampler.Sample(logits[i*V : (i+1)*V])
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(rows)/minRowsPerWorker)
	if workers > 1 {
		var wg sync.WaitGroup
		for w := range workers {
			lo, hi := w*len(rows)/workers, (w+1)*len(rows)/workers
			wg.Go(func() { draw(lo, hi) })
		}
		wg.Wait()
	} else {
		draw(0, len(rows))
	}
	for i, r := range rows {
		ch, err := choices[i].Choice, choices[i].err
		if err != nil {
			return fmt.Errorf("generate: request %d sample %d, token %d: %w", r.req, r.sample, len(r.out.IDs), err)
		}
		c := r.out
		c.IDs = append(c.IDs, ch.Token)
		c.SampleLogProbs = append(c.SampleLogProbs, ch.LogProb)
		c.PolicyLogProbs = append(c.PolicyLogProbs, ch.PolicyLogProb)
		e.stats.Tokens++
		switch {
		case e.eos[ch.Token]:
			c.Finish = orchestrator.FinishEOS
		case len(r.stop) > 0 && hasStop(e.opts.Detokenize(c.IDs), r.stop):
			c.Finish = orchestrator.FinishStop
		case len(c.IDs) >= r.maxNew:
			c.Finish = orchestrator.FinishLength
		default:
			keep[i] = true
		}
		ids[i] = int64(ch.Token)
	}
	return nil
}

// minRowsPerWorker is the fewest rows worth a sampling goroutine.
const minRowsPerWorker = 4

// sampled is one row's draw.
type sampled struct {
	sample.Choice
	err error
}

// kvBuffers returns n buffers of size floats each, reusing the engine's
// scratch; their contents are undefined.
func (e *Engine) kvBuffers(n, size int) [][]float32 {
	for len(e.kvScratch) < n {
		e.kvScratch = append(e.kvScratch, nil)
	}
	for i := range n {
		if cap(e.kvScratch[i]) < size {
			e.kvScratch[i] = make([]float32, size)
		}
		e.kvScratch[i] = e.kvScratch[i][:size]
	}
	return e.kvScratch[:n]
}

func hasStop(text string, stops []string) bool {
	for _, s := range stops {
		if strings.Contains(text, s) {
			return true
		}
	}
	return false
}

// prefill runs the decode graph on P prompts of Tp slots with an empty
// cache and returns the last-position logits and each layer's present_*
// ([P, kv_heads, Tp, head_dim]). in holds the flavour's own inputs.
func (e *Engine) prefill(ctx context.Context, in map[string]*rt.Tensor, P, Tp int) (map[string]*rt.Tensor, error) {
	cfg := e.cfg
	L, KV, D := cfg.NumHiddenLayers, cfg.NumKeyValueHeads, cfg.HeadDim
	empty := []int64{int64(P), int64(KV), 0, int64(D)}
	presSh := []int64{int64(P), int64(KV), int64(Tp), int64(D)}
	out := map[string]*rt.Tensor{qwen3.Logits: rt.Zeros(rt.Float32, int64(P), int64(cfg.VocabSize))}
	for l := range L {
		in[qwen3.PastKey(l)] = rt.F32(empty, []float32{})
		in[qwen3.PastValue(l)] = rt.F32(empty, []float32{})
		out[qwen3.PresentKey(l)] = rt.Zeros(rt.Float32, presSh...)
		out[qwen3.PresentValue(l)] = rt.Zeros(rt.Float32, presSh...)
	}
	if err := e.run(ctx, e.decode, in, out); err != nil {
		return nil, fmt.Errorf("generate: prefill: %w", err)
	}
	e.stats.Prefill += int64(P * Tp)
	return out, nil
}
