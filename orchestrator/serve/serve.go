// Package serve is `pz serve`: a KServe v2 inference server (HTTP/JSON
// with the binary-tensor extension, and gRPC) over an orchestrator.Engine
// such as the in-process ONNX Runtime engine. It serves two models:
//
//   - NAME, the generation model: one prompt per request (input_ids), its
//     N completions out (output_ids, output_lengths, sample_logprobs,
//     policy_logprobs, finish_reason), sampling set by request parameters
//     (n, max_tokens, temperature, top_p, top_k, min_p, seed; stop strings
//     as a BYTES input "stop"). The HTTP generate extension
//     (POST /v2/models/NAME/generate) serves it too, text or ids in.
//   - NAME_score, with the contract of pz's ONNX score graph (input_ids,
//     position_ids, attention_mask, target_ids → logprobs, entropy), so a
//     client scores the same way against pz serve and against a Triton
//     serving that graph with its ONNX Runtime backend.
//
// Concurrent generation requests are batched: requests that arrive while
// a batch runs, or within BatchWindow of the first, go to the engine as one
// Generate call (dynamic batching). Decode steps are not batched across
// batches (continuous batching): the ORT engine decodes a wave to its end
// with its KV cache laid out for that wave, so a request joining mid-wave
// would need the cache re-laid; see the package note in docs/triton.md.
//
// New weights come through the repository API (load), which calls the
// Reload hook and the engine's LoadWeights; responses carry the version
// that produced them in model_version.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"

	"pz/models/qwen3"
	"pz/orchestrator"
	"pz/orchestrator/engine/triton/wire"
)

// Engine is what the server needs of an inference engine.
type Engine interface {
	orchestrator.Engine
	orchestrator.WeightLoader
}

// ReloadFunc reads the newest weights of a model from its repository
// and returns them with their version.
type ReloadFunc func(ctx context.Context, model string) (weights map[string][]float32, version int64, err error)

// Options configure a Server.
type Options struct {
	Name      string // generation model name (default "pz"); NAME_score scores
	Engine    Engine
	VocabSize int
	MaxLength int   // prompt + new tokens (0: unchecked)
	Version   int64 // version of the weights the engine holds (default 1)
	// Encode and Decode turn text into ids and back (the generate
	// extension's text_input/text_output; stop strings).
	Encode func(string) []int32
	Decode func([]int32) string
	Reload ReloadFunc
	// Token, when set, must come as "Authorization: Bearer TOKEN" on
	// every request (health and metrics included).
	Token string
	// MaxRequestBytes caps a request body or message (default 64 MiB).
	MaxRequestBytes int64
	// MaxNewTokens and MaxSamples cap a request's max_tokens and n
	// (defaults 4096 and 256).
	MaxNewTokens, MaxSamples int
	// RequestTimeout caps every request (default 10 min); a request's own
	// "timeout" parameter (microseconds, Triton's) or gRPC deadline may
	// shorten it.
	RequestTimeout time.Duration
	// BatchWindow is how long the first request of a batch waits for
	// others (default 2 ms); MaxBatchRows caps a batch's completions
	// (default 64).
	BatchWindow  time.Duration
	MaxBatchRows int
	Registry     *prometheus.Registry // metrics go here (default: a new one)
	Logger       *slog.Logger
}

// Server is a KServe v2 server over one engine.
type Server struct {
	o        Options
	log      *slog.Logger
	mu       sync.RWMutex // batches hold it shared, reloads exclusively
	version  atomic.Int64
	draining atomic.Bool
	queue    chan *pending
	stop     chan struct{}
	done     chan struct{}
	m        *metrics
	reg      *prometheus.Registry
	startMu  sync.Once
}

// New makes a server; call Close to stop its batcher.
func New(o Options) (*Server, error) {
	if o.Engine == nil {
		return nil, errors.New("serve: no engine")
	}
	if o.VocabSize <= 0 {
		return nil, errors.New("serve: vocabulary size must be > 0")
	}
	if o.Name == "" {
		o.Name = "pz"
	}
	if o.Version == 0 {
		o.Version = 1
	}
	if o.MaxRequestBytes <= 0 {
		o.MaxRequestBytes = 64 << 20
	}
	if o.MaxNewTokens <= 0 {
		o.MaxNewTokens = 4096
	}
	if o.MaxSamples <= 0 {
		o.MaxSamples = 256
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 10 * time.Minute
	}
	if o.BatchWindow <= 0 {
		o.BatchWindow = 2 * time.Millisecond
	}
	if o.MaxBatchRows <= 0 {
		o.MaxBatchRows = 64
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Server{o: o, log: o.Logger, queue: make(chan *pending, 1024), stop: make(chan struct{}), done: make(chan struct{}),
		reg: o.Registry, m: newMetrics(o.Registry)}
	s.version.Store(o.Version)
	s.m.version.Set(float64(o.Version))
	go s.batcher()
	return s, nil
}

// Close stops the batcher; requests still queued fail.
func (s *Server) Close() {
	s.startMu.Do(func() { close(s.stop) })
	<-s.done
}

// Drain makes the server unready and refuse new inference (503 /
// Unavailable) while what is in flight finishes; the HTTP and gRPC
// servers' own graceful shutdowns then wait for it.
func (s *Server) Drain() { s.draining.Store(true) }

// Version is the version of the weights now served.
func (s *Server) Version() int64 { return s.version.Load() }

// ScoreModel is the name of the score model.
func (s *Server) ScoreModel() string { return s.o.Name + "_score" }

// apiError is a protocol error with its HTTP status and gRPC code.
type apiError struct {
	status int
	code   codes.Code
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, a ...any) error {
	return &apiError{http.StatusBadRequest, codes.InvalidArgument, fmt.Sprintf(format, a...)}
}

func notFound(format string, a ...any) error {
	return &apiError{http.StatusNotFound, codes.NotFound, fmt.Sprintf(format, a...)}
}

var errDraining = &apiError{http.StatusServiceUnavailable, codes.Unavailable, "server is shutting down"}

// classify turns any error into an apiError.
func classify(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{http.StatusGatewayTimeout, codes.DeadlineExceeded, err.Error()}
	case errors.Is(err, context.Canceled):
		return &apiError{499, codes.Canceled, err.Error()}
	}
	return &apiError{http.StatusInternalServerError, codes.Internal, err.Error()}
}

// modelVersion checks a model name and optional version.
func (s *Server) modelVersion(name, version string) error {
	if name != s.o.Name && name != s.ScoreModel() {
		return notFound("unknown model %q (this server has %q and %q)", name, s.o.Name, s.ScoreModel())
	}
	if version != "" && version != strconv.FormatInt(s.Version(), 10) {
		return notFound("model %q version %q is not available (version %d is served)", name, version, s.Version())
	}
	return nil
}

// deadline applies the server's cap and the request's timeout parameter.
func (s *Server) deadline(ctx context.Context, p wire.Params) (context.Context, context.CancelFunc, error) {
	d := s.o.RequestTimeout
	us, err := p.Int("timeout", 0)
	if err != nil {
		return nil, nil, badRequest("%v", err)
	}
	if us < 0 {
		return nil, nil, badRequest("parameter \"timeout\": %d is negative", us)
	}
	if us > 0 && time.Duration(us)*time.Microsecond < d {
		d = time.Duration(us) * time.Microsecond
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	return ctx, cancel, nil
}

// Infer runs one inference request (either encoding lands here).
func (s *Server) Infer(ctx context.Context, r *wire.InferRequest) (*wire.InferResponse, error) {
	if s.draining.Load() {
		return nil, errDraining
	}
	if err := s.modelVersion(r.Model, r.Version); err != nil {
		return nil, err
	}
	ctx, cancel, err := s.deadline(ctx, r.Params)
	if err != nil {
		return nil, err
	}
	defer cancel()
	var resp *wire.InferResponse
	if r.Model == s.o.Name {
		resp, err = s.inferGenerate(ctx, r)
	} else {
		resp, err = s.inferScore(ctx, r)
	}
	if err != nil {
		return nil, err
	}
	resp.Model, resp.ID = r.Model, r.ID
	if len(r.Outputs) > 0 {
		var keep []*wire.Tensor
		for _, name := range r.Outputs {
			t := resp.Output(name)
			if t == nil {
				return nil, badRequest("model %q has no output %q", r.Model, name)
			}
			keep = append(keep, t)
		}
		resp.Outputs = keep
	}
	return resp, nil
}

// genParams reads a generation request's sampling parameters.
func (s *Server) genParams(p wire.Params, prompt []int32, stops []string) (orchestrator.GenRequest, error) {
	g := orchestrator.GenRequest{Prompt: prompt, StopStrings: stops}
	n, err := p.Int("n", 1)
	if err != nil {
		return g, badRequest("%v", err)
	}
	maxTok, err := p.Int("max_tokens", 16)
	if err != nil {
		return g, badRequest("%v", err)
	}
	if n < 1 || n > int64(s.o.MaxSamples) {
		return g, badRequest("parameter \"n\": %d outside [1, %d]", n, s.o.MaxSamples)
	}
	if maxTok < 1 || maxTok > int64(s.o.MaxNewTokens) {
		return g, badRequest("parameter \"max_tokens\": %d outside [1, %d]", maxTok, s.o.MaxNewTokens)
	}
	g.N, g.MaxNewTokens = int(n), int(maxTok)
	if g.Seed, err = p.Uint("seed", 0); err != nil {
		return g, badRequest("%v", err)
	}
	if g.Sampling.Temperature, err = p.Float("temperature", 1); err != nil {
		return g, badRequest("%v", err)
	}
	if g.Sampling.TopP, err = p.Float("top_p", 1); err != nil {
		return g, badRequest("%v", err)
	}
	if g.Sampling.MinP, err = p.Float("min_p", 0); err != nil {
		return g, badRequest("%v", err)
	}
	k, err := p.Int("top_k", 0)
	if err != nil {
		return g, badRequest("%v", err)
	}
	g.Sampling.TopK = int(k)
	if err := g.Sampling.Validate(); err != nil {
		return g, badRequest("%v", err)
	}
	if len(prompt) == 0 {
		return g, badRequest("empty prompt")
	}
	for i, id := range prompt {
		if id < 0 || int(id) >= s.o.VocabSize {
			return g, badRequest("input_ids[%d] = %d outside the vocabulary [0, %d)", i, id, s.o.VocabSize)
		}
	}
	if s.o.MaxLength > 0 && len(prompt)+g.MaxNewTokens > s.o.MaxLength {
		return g, badRequest("%d prompt + %d new tokens exceed the model's %d positions", len(prompt), g.MaxNewTokens, s.o.MaxLength)
	}
	if len(stops) > 0 && s.o.Decode == nil {
		return g, badRequest("stop strings need a tokenizer, and this server has none")
	}
	return g, nil
}

func (s *Server) inferGenerate(ctx context.Context, r *wire.InferRequest) (*wire.InferResponse, error) {
	in := r.Input("input_ids")
	if in == nil {
		return nil, badRequest("model %q needs input \"input_ids\" (INT32 or INT64, shape [T] or [1, T])", r.Model)
	}
	for _, t := range r.Inputs {
		if t.Name != "input_ids" && t.Name != "stop" {
			return nil, badRequest("model %q has no input %q (inputs: input_ids, stop)", r.Model, t.Name)
		}
	}
	if len(in.Shape) == 2 && in.Shape[0] != 1 || len(in.Shape) != 1 && len(in.Shape) != 2 {
		return nil, badRequest("input_ids shape %v: want [T] or [1, T] (one prompt per request)", in.Shape)
	}
	ids, err := in.Ints()
	if err != nil {
		return nil, badRequest("%v", err)
	}
	prompt := make([]int32, len(ids))
	for i, v := range ids {
		if v < 0 || v >= int64(s.o.VocabSize) {
			return nil, badRequest("input_ids[%d] = %d outside the vocabulary [0, %d)", i, v, s.o.VocabSize)
		}
		prompt[i] = int32(v)
	}
	var stops []string
	if st := r.Input("stop"); st != nil {
		if stops, err = st.Strings(); err != nil {
			return nil, badRequest("%v", err)
		}
	}
	g, err := s.genParams(r.Params, prompt, stops)
	if err != nil {
		return nil, err
	}
	res, version, err := s.generate(ctx, g)
	if err != nil {
		return nil, err
	}
	return genResponse(res, version), nil
}

// genResponse lays out a request's completions as [N, L] tensors, padded
// with -1 (ids) and 0 (log-probs).
func genResponse(res orchestrator.GenResult, version int64) *wire.InferResponse {
	N, L := len(res.Completions), 0
	for _, c := range res.Completions {
		L = max(L, len(c.IDs))
	}
	ids, lens := make([]int32, N*L), make([]int32, N)
	slp, plp := make([]float32, N*L), make([]float32, N*L)
	fin := make([][]byte, N)
	for i, c := range res.Completions {
		for j := range L {
			ids[i*L+j] = -1
		}
		copy(ids[i*L:], c.IDs)
		copy(slp[i*L:], c.SampleLogProbs)
		copy(plp[i*L:], c.PolicyLogProbs)
		lens[i] = int32(len(c.IDs))
		fin[i] = []byte(c.Finish)
	}
	sh := []int64{int64(N), int64(L)}
	return &wire.InferResponse{Version: strconv.FormatInt(version, 10), Outputs: []*wire.Tensor{
		{Name: "output_ids", Datatype: wire.Int32, Shape: sh, Data: ids},
		{Name: "output_lengths", Datatype: wire.Int32, Shape: []int64{int64(N)}, Data: lens},
		{Name: "sample_logprobs", Datatype: wire.FP32, Shape: sh, Data: slp},
		{Name: "policy_logprobs", Datatype: wire.FP32, Shape: sh, Data: plp},
		{Name: "finish_reason", Datatype: wire.Bytes, Shape: []int64{int64(N)}, Data: fin},
	}}
}

// Score-graph tensor names (the graph's own).
const (
	inIDs, inPos, inMask, inTarget = qwen3.InputIDs, qwen3.PositionIDs, qwen3.AttentionMask, qwen3.TargetIDs
	outLogProbs, outEntropy        = qwen3.LogProbs, qwen3.Entropy
)

func (s *Server) inferScore(ctx context.Context, r *wire.InferRequest) (*wire.InferResponse, error) {
	get := func(name string, required bool) ([]int64, []int64, error) {
		t := r.Input(name)
		if t == nil {
			if required {
				return nil, nil, badRequest("model %q needs input %q (INT64 [B, T])", r.Model, name)
			}
			return nil, nil, nil
		}
		if len(t.Shape) != 2 {
			return nil, nil, badRequest("input %q shape %v: want [B, T]", name, t.Shape)
		}
		v, err := t.Ints()
		if err != nil {
			return nil, nil, badRequest("%v", err)
		}
		return v, t.Shape, nil
	}
	for _, t := range r.Inputs {
		switch t.Name {
		case inIDs, inPos, inMask, inTarget:
		default:
			return nil, badRequest("model %q has no input %q (inputs: %s, %s, %s, %s)", r.Model, t.Name, inIDs, inPos, inMask, inTarget)
		}
	}
	ids, sh, err := get(inIDs, true)
	if err != nil {
		return nil, err
	}
	mask, msh, err := get(inMask, true)
	if err != nil {
		return nil, err
	}
	tgt, tsh, err := get(inTarget, true)
	if err != nil {
		return nil, err
	}
	pos, psh, err := get(inPos, false)
	if err != nil {
		return nil, err
	}
	for name, o := range map[string][]int64{inMask: msh, inTarget: tsh, inPos: psh} {
		if o != nil && (o[0] != sh[0] || o[1] != sh[1]) {
			return nil, badRequest("input %q shape %v differs from input_ids' %v", name, o, sh)
		}
	}
	B, T := int(sh[0]), int(sh[1])
	reqs := make([]orchestrator.ScoreRequest, B)
	lens := make([]int, B)
	for b := range B {
		n := 0
		for n < T && mask[b*T+n] == 1 {
			n++
		}
		for t := n; t < T; t++ {
			if mask[b*T+t] != 0 {
				return nil, badRequest("attention_mask row %d: want ones then zeros (right padding)", b)
			}
		}
		seq := make([]int32, 0, n+1)
		for t := range n {
			v := ids[b*T+t]
			if v < 0 || v >= int64(s.o.VocabSize) {
				return nil, badRequest("input_ids[%d][%d] = %d outside the vocabulary [0, %d)", b, t, v, s.o.VocabSize)
			}
			if pos != nil && pos[b*T+t] != int64(t) {
				return nil, badRequest("position_ids[%d][%d] = %d: this server scores positions 0..n-1", b, t, pos[b*T+t])
			}
			if t+1 < n && tgt[b*T+t] != ids[b*T+t+1] {
				return nil, badRequest("target_ids[%d][%d] = %d: this server scores a sequence's own next tokens (input_ids[%d][%d] = %d)", b, t, tgt[b*T+t], b, t+1, ids[b*T+t+1])
			}
			seq = append(seq, int32(v))
		}
		if n > 0 {
			last := tgt[b*T+n-1]
			if last < 0 || last >= int64(s.o.VocabSize) {
				return nil, badRequest("target_ids[%d][%d] = %d outside the vocabulary", b, n-1, last)
			}
			seq = append(seq, int32(last))
		}
		lens[b] = n
		reqs[b] = orchestrator.ScoreRequest{IDs: seq, From: 1, Entropy: true}
	}
	var active []orchestrator.ScoreRequest
	var at []int
	for b, q := range reqs {
		if lens[b] > 0 {
			active, at = append(active, q), append(at, b)
		}
	}
	s.mu.RLock()
	version := s.Version()
	start := time.Now()
	res, err := s.o.Engine.Score(ctx, active)
	s.mu.RUnlock()
	s.m.engineSeconds.WithLabelValues("score").Observe(time.Since(start).Seconds())
	if err != nil {
		return nil, fmt.Errorf("score: %w", err)
	}
	lp, ent := make([]float32, B*T), make([]float32, B*T)
	for k, b := range at {
		copy(lp[b*T:], res[k].LogProbs)
		copy(ent[b*T:], res[k].Entropy)
	}
	out := []int64{int64(B), int64(T)}
	return &wire.InferResponse{Version: strconv.FormatInt(version, 10), Outputs: []*wire.Tensor{
		{Name: outLogProbs, Datatype: wire.FP32, Shape: out, Data: lp},
		{Name: outEntropy, Datatype: wire.FP32, Shape: out, Data: ent},
	}}, nil
}

// Load reloads a model's weights from its repository (the repository
// API's load): the new version serves every batch that starts after it.
func (s *Server) Load(ctx context.Context, model string) (int64, error) {
	if model != s.o.Name && model != s.ScoreModel() {
		return 0, notFound("unknown model %q", model)
	}
	if s.o.Reload == nil {
		return 0, badRequest("this server has no model repository (start pz serve with --repo)")
	}
	start := time.Now()
	w, v, err := s.o.Reload(ctx, s.o.Name)
	if err != nil {
		return 0, badRequest("load %s: %v", model, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.o.Engine.LoadWeights(ctx, w, v); err != nil {
		return 0, fmt.Errorf("load %s version %d: %w", model, v, err)
	}
	s.version.Store(v)
	s.m.reloadSeconds.Observe(time.Since(start).Seconds())
	s.m.version.Set(float64(v))
	s.log.Info("serve: loaded weights", "model", s.o.Name, "version", v, "seconds", time.Since(start).Seconds())
	return v, nil
}
