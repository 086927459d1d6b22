// Package triton is the remote rollout engine: an orchestrator.Engine and
// WeightLoader over the KServe v2 protocol (HTTP/JSON with binary tensors,
// or gRPC), as pz serve and NVIDIA Triton speak it.
//
// Generation goes to the generation model (pz serve's NAME: one infer per
// request with its N samples), or with Protocol "generate" through the
// generate extension that Triton's vLLM and TensorRT-LLM backends expose
// (one call per sample, seed Seed+i). Where a server returns no log-probs
// (text only), completions are re-tokenized and scored by the score model,
// and marked LogProbsRecomputed. Scoring goes to the score model, whose
// contract is pz's ONNX score graph, so it works against Triton's ONNX
// Runtime backend serving a repository written by pz export --triton-repo.
//
// Several endpoints share the work: each call goes to the endpoint with
// the least outstanding work that is not marked down; a transient failure
// (connection refused or reset, HTTP 502/503/504, gRPC Unavailable) marks
// the endpoint down for a while and the call is retried elsewhere with
// exponential backoff, so a server that dies mid-rollout costs a retry, not
// the rollout. Protocol errors (4xx, InvalidArgument, NotFound,
// Unauthenticated) are returned at once.
package triton

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"pz/models/qwen3"
	"pz/orchestrator"
	"pz/orchestrator/engine/triton/wire"
)

var (
	_ orchestrator.Engine       = (*Engine)(nil)
	_ orchestrator.WeightLoader = (*Engine)(nil)
)

// Protocols for generation.
const (
	ProtocolInfer    = "infer"    // pz serve's generation model
	ProtocolGenerate = "generate" // the generate extension (HTTP only)
)

// PublishFunc writes a weights version where the servers' repository
// will find it (e.g. tritonrepo.WriteVersion).
type PublishFunc func(ctx context.Context, weights map[string][]float32, version int64) error

// Options configure an Engine.
type Options struct {
	// Endpoints: http://host:port, https://host:port, grpc://host:port or
	// grpcs://host:port (a bare host:port is HTTP).
	Endpoints  []string
	Model      string // generation model (default "pz")
	ScoreModel string // default Model + "_score"; "-" when there is none
	Protocol   string // ProtocolInfer (default) or ProtocolGenerate
	Token      string // bearer token
	// Timeout caps one call (default 10 min); Retries (default 4) and
	// Backoff (default 200 ms, doubled each time) govern transient errors.
	Timeout time.Duration
	Retries int
	Backoff time.Duration
	// MaxInFlight caps concurrent calls per endpoint (default 64).
	MaxInFlight int
	// MaxScoreTokens caps padded tokens per score call (default 8192).
	MaxScoreTokens int
	// Encode and Decode are the model's tokenizer: the generate
	// extension sends text and gets text back.
	Encode func(string) []int32
	Decode func([]int32) string
	// Publish and LoadModels make LoadWeights work: Publish writes the
	// version, then every endpoint loads LoadModels (default: Model) and
	// LoadWeights waits until each serves the version.
	Publish    PublishFunc
	LoadModels []string
	// InsecureSkipVerify accepts any TLS certificate (tests).
	InsecureSkipVerify bool
	Logger             *slog.Logger
}

// endpoint is one server.
type endpoint struct {
	t           transport
	outstanding atomic.Int64
	mu          sync.Mutex
	downUntil   time.Time
}

func (e *endpoint) down() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return time.Now().Before(e.downUntil)
}

func (e *endpoint) markDown(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.downUntil = time.Now().Add(d)
}

// Engine generates and scores on KServe v2 servers.
type Engine struct {
	o   Options
	log *slog.Logger
	eps []*endpoint
	sem chan struct{}
}

// New connects to the endpoints (lazily: nothing is dialled yet).
func New(o Options) (*Engine, error) {
	if len(o.Endpoints) == 0 {
		return nil, errors.New("triton: no endpoints")
	}
	if o.Model == "" {
		o.Model = "pz"
	}
	if o.ScoreModel == "" {
		o.ScoreModel = o.Model + "_score"
	}
	if o.Protocol == "" {
		o.Protocol = ProtocolInfer
	}
	if o.Protocol != ProtocolInfer && o.Protocol != ProtocolGenerate {
		return nil, fmt.Errorf("triton: protocol %q (want %q or %q)", o.Protocol, ProtocolInfer, ProtocolGenerate)
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	if o.Retries <= 0 {
		o.Retries = 4
	}
	if o.Backoff <= 0 {
		o.Backoff = 200 * time.Millisecond
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 64
	}
	if o.MaxScoreTokens <= 0 {
		o.MaxScoreTokens = 8192
	}
	if len(o.LoadModels) == 0 {
		o.LoadModels = []string{o.Model}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	e := &Engine{o: o, log: o.Logger, sem: make(chan struct{}, o.MaxInFlight*len(o.Endpoints))}
	for _, u := range o.Endpoints {
		t, err := newTransport(u, o)
		if err != nil {
			e.Close()
			return nil, err
		}
		if o.Protocol == ProtocolGenerate && !t.hasGenerate() {
			e.Close()
			return nil, fmt.Errorf("triton: endpoint %s: the generate extension is HTTP only", u)
		}
		e.eps = append(e.eps, &endpoint{t: t})
	}
	return e, nil
}

// Close closes the connections.
func (e *Engine) Close() error {
	for _, ep := range e.eps {
		ep.t.close()
	}
	return nil
}

// pick returns the live endpoint with the least outstanding work (all
// down: the least loaded anyway, so the call still tries).
func (e *Engine) pick() *endpoint {
	var best *endpoint
	bestDown := true
	for _, ep := range e.eps {
		d := ep.down()
		if best == nil || (bestDown && !d) || (d == bestDown && ep.outstanding.Load() < best.outstanding.Load()) {
			best, bestDown = ep, d
		}
	}
	return best
}

// call runs f on an endpoint, failing over and backing off on transient
// errors.
func (e *Engine) call(ctx context.Context, what string, f func(ctx context.Context, t transport) error) error {
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-e.sem }()
	var err error
	for attempt := 0; attempt <= e.o.Retries; attempt++ {
		ep := e.pick()
		ep.outstanding.Add(1)
		cctx, cancel := context.WithTimeout(ctx, e.o.Timeout)
		err = f(cctx, ep.t)
		cancel()
		ep.outstanding.Add(-1)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("triton: %s: %w", what, ctx.Err())
		}
		if !transient(err) {
			return fmt.Errorf("triton: %s on %s: %w", what, ep.t.name(), err)
		}
		wait := e.o.Backoff * time.Duration(1<<min(attempt, 10))
		ep.markDown(wait * 4)
		e.log.Warn("triton: transient error, retrying", "call", what, "endpoint", ep.t.name(), "attempt", attempt+1, "err", err)
		if attempt == e.o.Retries {
			break
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return fmt.Errorf("triton: %s: %w", what, ctx.Err())
		}
	}
	return fmt.Errorf("triton: %s: %d attempts failed: %w", what, e.o.Retries+1, err)
}

// Generate samples completions (see orchestrator.Engine).
func (e *Engine) Generate(ctx context.Context, reqs []orchestrator.GenRequest) ([]orchestrator.GenResult, error) {
	res := make([]orchestrator.GenResult, len(reqs))
	g, gctx := withContext(ctx)
	for i, r := range reqs {
		if r.N <= 0 {
			continue
		}
		if e.o.Protocol == ProtocolInfer {
			g.Go(func() error {
				var err error
				res[i], err = e.generateInfer(gctx, r)
				if err != nil {
					return fmt.Errorf("generate: request %d: %w", i, err)
				}
				return nil
			})
			continue
		}
		res[i].Completions = make([]orchestrator.Completion, r.N)
		for s := range r.N {
			g.Go(func() error {
				c, err := e.generateExt(gctx, r, s)
				if err != nil {
					return fmt.Errorf("generate: request %d sample %d: %w", i, s, err)
				}
				res[i].Completions[s] = c
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return e.rescore(ctx, reqs, res)
}

func genParams(r orchestrator.GenRequest, n int, seed uint64) wire.Params {
	return wire.Params{"n": int64(n), "max_tokens": int64(r.MaxNewTokens), "seed": seed,
		"temperature": r.Sampling.Temperature, "top_p": r.Sampling.TopP, "top_k": int64(r.Sampling.TopK), "min_p": r.Sampling.MinP}
}

func (e *Engine) generateInfer(ctx context.Context, r orchestrator.GenRequest) (orchestrator.GenResult, error) {
	req := &wire.InferRequest{Model: e.o.Model, Params: genParams(r, r.N, r.Seed), BinaryOutputs: true,
		Inputs: []*wire.Tensor{{Name: "input_ids", Datatype: wire.Int32, Shape: []int64{1, int64(len(r.Prompt))}, Data: r.Prompt}}}
	if len(r.StopStrings) > 0 {
		st := make([][]byte, len(r.StopStrings))
		for i, s := range r.StopStrings {
			st[i] = []byte(s)
		}
		req.Inputs = append(req.Inputs, &wire.Tensor{Name: "stop", Datatype: wire.Bytes, Shape: []int64{int64(len(st))}, Data: st})
	}
	var resp *wire.InferResponse
	err := e.call(ctx, "infer "+e.o.Model, func(ctx context.Context, t transport) error {
		var err error
		resp, err = t.infer(ctx, req)
		return err
	})
	if err != nil {
		return orchestrator.GenResult{}, err
	}
	return parseGen(resp, r.N)
}

// parseGen reads the generation model's [N, L] outputs.
func parseGen(resp *wire.InferResponse, n int) (orchestrator.GenResult, error) {
	need := func(name string) (*wire.Tensor, error) {
		t := resp.Output(name)
		if t == nil {
			return nil, fmt.Errorf("response has no output %q", name)
		}
		return t, nil
	}
	idsT, err := need("output_ids")
	if err != nil {
		return orchestrator.GenResult{}, err
	}
	if len(idsT.Shape) != 2 || idsT.Shape[0] != int64(n) {
		return orchestrator.GenResult{}, fmt.Errorf("output_ids shape %v, want [%d, L]", idsT.Shape, n)
	}
	L := int(idsT.Shape[1])
	ids, err := idsT.Ints()
	if err != nil {
		return orchestrator.GenResult{}, err
	}
	lensT, err := need("output_lengths")
	if err != nil {
		return orchestrator.GenResult{}, err
	}
	lens, err := lensT.Ints()
	if err != nil || len(lens) != n {
		return orchestrator.GenResult{}, fmt.Errorf("output_lengths: want %d INT32 values", n)
	}
	floats := func(name string) ([]float32, error) {
		t := resp.Output(name)
		if t == nil {
			return nil, nil
		}
		f, err := t.Floats()
		if err == nil && len(f) != n*L {
			err = fmt.Errorf("output %q has %d values, want %d", name, len(f), n*L)
		}
		return f, err
	}
	slp, err := floats("sample_logprobs")
	if err != nil {
		return orchestrator.GenResult{}, err
	}
	plp, err := floats("policy_logprobs")
	if err != nil {
		return orchestrator.GenResult{}, err
	}
	var fin []string
	if t := resp.Output("finish_reason"); t != nil {
		if fin, err = t.Strings(); err != nil || len(fin) != n {
			return orchestrator.GenResult{}, fmt.Errorf("finish_reason: want %d strings", n)
		}
	}
	version, _ := strconv.ParseInt(resp.Version, 10, 64)
	out := orchestrator.GenResult{Completions: make([]orchestrator.Completion, n)}
	for i := range n {
		l := int(lens[i])
		if l < 0 || l > L {
			return out, fmt.Errorf("output_lengths[%d] = %d outside [0, %d]", i, l, L)
		}
		c := &out.Completions[i]
		c.IDs = make([]int32, l)
		for j := range l {
			c.IDs[j] = int32(ids[i*L+j])
		}
		if slp != nil {
			c.SampleLogProbs = append([]float32{}, slp[i*L:i*L+l]...)
		}
		if plp != nil {
			c.PolicyLogProbs = append([]float32{}, plp[i*L:i*L+l]...)
		}
		c.Finish = orchestrator.FinishLength
		if fin != nil {
			c.Finish = orchestrator.FinishReason(fin[i])
		}
		c.ServedVersion = version
	}
	return out, nil
}

func (e *Engine) generateExt(ctx context.Context, r orchestrator.GenRequest, s int) (orchestrator.Completion, error) {
	params := genParams(r, 1, r.Seed+uint64(s))
	delete(params, "n")
	if len(r.StopStrings) > 0 {
		params["stop"] = r.StopStrings
	}
	body := map[string]any{"parameters": params}
	if e.o.Decode != nil {
		body["text_input"] = e.o.Decode(r.Prompt)
	} else {
		body["input_ids"] = r.Prompt
	}
	var resp *wire.GenerateResponse
	err := e.call(ctx, "generate "+e.o.Model, func(ctx context.Context, t transport) error {
		var err error
		resp, err = t.generate(ctx, e.o.Model, body)
		return err
	})
	if err != nil {
		return orchestrator.Completion{}, err
	}
	c := orchestrator.Completion{IDs: resp.OutputIDs, PolicyLogProbs: resp.PolicyLogProbs, SampleLogProbs: resp.SampleLogProbs,
		Finish: orchestrator.FinishReason(resp.FinishReason)}
	c.ServedVersion, _ = strconv.ParseInt(resp.ModelVersion, 10, 64)
	if c.IDs == nil {
		if e.o.Encode == nil {
			return c, errors.New("the server returned text only, and this engine has no tokenizer to turn it into ids")
		}
		c.IDs = e.o.Encode(resp.TextOutput)
	}
	if c.Finish == "" {
		c.Finish = orchestrator.FinishLength
		if len(c.IDs) < r.MaxNewTokens {
			c.Finish = orchestrator.FinishEOS
		}
	}
	return c, nil
}

// rescore fills in the log-probs a server did not return by scoring the
// prompt and completion with the score model.
func (e *Engine) rescore(ctx context.Context, reqs []orchestrator.GenRequest, res []orchestrator.GenResult) ([]orchestrator.GenResult, error) {
	var sr []orchestrator.ScoreRequest
	var at []*orchestrator.Completion
	for i := range res {
		for j := range res[i].Completions {
			c := &res[i].Completions[j]
			if len(c.PolicyLogProbs) == len(c.IDs) || len(c.IDs) == 0 {
				continue
			}
			seq := append(append([]int32{}, reqs[i].Prompt...), c.IDs...)
			sr = append(sr, orchestrator.ScoreRequest{IDs: seq, From: len(reqs[i].Prompt)})
			at = append(at, c)
		}
	}
	if len(at) == 0 {
		return res, nil
	}
	if e.o.ScoreModel == "-" {
		return nil, fmt.Errorf("triton: %d completions came without log-probs and there is no score model to recompute them", len(at))
	}
	scored, err := e.Score(ctx, sr)
	if err != nil {
		return nil, fmt.Errorf("triton: recomputing log-probs the server did not return: %w", err)
	}
	for k, c := range at {
		c.PolicyLogProbs = scored[k].LogProbs
		c.SampleLogProbs = append([]float32{}, scored[k].LogProbs...)
		c.LogProbsRecomputed = true
	}
	return res, nil
}

// Score computes per-token log-probs with the score model.
func (e *Engine) Score(ctx context.Context, reqs []orchestrator.ScoreRequest) ([]orchestrator.ScoreResult, error) {
	if e.o.ScoreModel == "-" {
		return nil, errors.New("triton: no score model (ScoreModel \"-\")")
	}
	res := make([]orchestrator.ScoreResult, len(reqs))
	for i, r := range reqs {
		if len(r.IDs) >= 2 && (r.From < 1 || r.From > len(r.IDs)) {
			return nil, fmt.Errorf("score: request %d: from %d outside [1, %d]", i, r.From, len(r.IDs))
		}
	}
	g, gctx := withContext(ctx)
	for lo := 0; lo < len(reqs); {
		hi, T := lo, 0
		for hi < len(reqs) && (hi == lo || (hi-lo+1)*max(T, len(reqs[hi].IDs)-1) <= e.o.MaxScoreTokens) {
			T = max(T, len(reqs[hi].IDs)-1)
			hi++
		}
		batch := reqs[lo:hi]
		off := lo
		lo = hi
		if T <= 0 {
			continue
		}
		g.Go(func() error { return e.scoreBatch(gctx, batch, T, res[off:off+len(batch)]) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return res, nil
}

func (e *Engine) scoreBatch(ctx context.Context, batch []orchestrator.ScoreRequest, T int, res []orchestrator.ScoreResult) error {
	B := len(batch)
	ids, pos, mask, tgt := make([]int64, B*T), make([]int64, B*T), make([]int64, B*T), make([]int64, B*T)
	for b, r := range batch {
		for t := 0; t < len(r.IDs)-1; t++ {
			ids[b*T+t], pos[b*T+t], mask[b*T+t], tgt[b*T+t] = int64(r.IDs[t]), int64(t), 1, int64(r.IDs[t+1])
		}
	}
	sh := []int64{int64(B), int64(T)}
	req := &wire.InferRequest{Model: e.o.ScoreModel, BinaryOutputs: true, Inputs: []*wire.Tensor{
		{Name: qwen3.InputIDs, Datatype: wire.Int64, Shape: sh, Data: ids}, {Name: qwen3.PositionIDs, Datatype: wire.Int64, Shape: sh, Data: pos},
		{Name: qwen3.AttentionMask, Datatype: wire.Int64, Shape: sh, Data: mask}, {Name: qwen3.TargetIDs, Datatype: wire.Int64, Shape: sh, Data: tgt}}}
	var resp *wire.InferResponse
	err := e.call(ctx, "infer "+e.o.ScoreModel, func(ctx context.Context, t transport) error {
		var err error
		resp, err = t.infer(ctx, req)
		return err
	})
	if err != nil {
		return err
	}
	get := func(name string) ([]float32, error) {
		t := resp.Output(name)
		if t == nil {
			return nil, fmt.Errorf("score response has no output %q", name)
		}
		f, err := t.Floats()
		if err == nil && len(f) != B*T {
			err = fmt.Errorf("score output %q has %d values, want %d", name, len(f), B*T)
		}
		return f, err
	}
	lp, err := get(qwen3.LogProbs)
	if err != nil {
		return err
	}
	var ent []float32
	for _, r := range batch {
		if r.Entropy {
			if ent, err = get(qwen3.Entropy); err != nil {
				return err
			}
			break
		}
	}
	for b, r := range batch {
		n := len(r.IDs)
		if n < 2 {
			continue
		}
		res[b].LogProbs = append([]float32{}, lp[b*T+r.From-1:b*T+n-1]...)
		if r.Entropy {
			res[b].Entropy = append([]float32{}, ent[b*T+r.From-1:b*T+n-1]...)
		}
	}
	return nil
}

// LoadWeights publishes a version and has every endpoint load it, then
// waits until each serves it.
func (e *Engine) LoadWeights(ctx context.Context, weights map[string][]float32, version int64) error {
	if e.o.Publish == nil {
		return errors.New("triton: LoadWeights needs a repository to publish to (--triton-repo)")
	}
	if err := e.o.Publish(ctx, weights, version); err != nil {
		return fmt.Errorf("triton: publish version %d: %w", version, err)
	}
	v := strconv.FormatInt(version, 10)
	g, gctx := withContext(ctx)
	for _, ep := range e.eps {
		g.Go(func() error {
			for _, m := range e.o.LoadModels {
				if err := ep.t.load(gctx, m); err != nil {
					return fmt.Errorf("triton: load %s on %s: %w", m, ep.t.name(), err)
				}
				if err := waitReady(gctx, ep.t, m, v, e.o.Timeout); err != nil {
					return fmt.Errorf("triton: %s on %s: %w", m, ep.t.name(), err)
				}
			}
			return nil
		})
	}
	return g.Wait()
}

func waitReady(ctx context.Context, t transport, model, version string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		ok, err := t.ready(ctx, model, version)
		if err == nil && ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("version %s not ready after %s (last: %v)", version, timeout, err)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Ready checks that every endpoint is ready and serves the models.
func (e *Engine) Ready(ctx context.Context) error {
	for _, ep := range e.eps {
		for _, m := range []string{e.o.Model, e.o.ScoreModel} {
			if m == "-" || (m == e.o.ScoreModel && e.o.Protocol == ProtocolGenerate) {
				continue
			}
			ok, err := ep.t.ready(ctx, m, "")
			if err != nil {
				return fmt.Errorf("triton: %s: model %s: %w", ep.t.name(), m, err)
			}
			if !ok {
				return fmt.Errorf("triton: %s: model %s is not ready", ep.t.name(), m)
			}
		}
	}
	return nil
}

// group runs goroutines and keeps the first error, cancelling the rest.
type group struct {
	wg     sync.WaitGroup
	once   sync.Once
	err    error
	cancel context.CancelFunc
}

func withContext(ctx context.Context) (*group, context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	return &group{cancel: cancel}, ctx
}

func (g *group) Go(f func() error) {
	g.wg.Go(func() {
		if err := f(); err != nil {
			g.once.Do(func() { g.err = err; g.cancel() })
		}
	})
}

func (g *group) Wait() error {
	g.wg.Wait()
	g.cancel()
	return g.err
}
