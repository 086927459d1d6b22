// Package orchestrator runs PretrainZero: rollouts of the two roles (mask
// generator and mask predictor) through an Engine, verification, rewards
// and advantages, trajectory files, the learner and the on-policy train
// loop. It builds no graphs: engines and learners get them from pz/models.
package orchestrator

import (
	"context"

	"pz/orchestrator/sample"
)

// Engine is what rollouts need from an inference backend: batched sampling
// and scoring over token ids. engine/ort implements it in-process with
// ONNX Runtime; a Triton (KServe v2) engine will implement it remotely.
type Engine interface {
	// Generate samples completions. Each request's N samples share the
	// prompt: an engine should prefill it once and fan its KV cache out.
	Generate(ctx context.Context, reqs []GenRequest) ([]GenResult, error)
	// Score returns per-token log-probs (and entropies) of given sequences.
	Score(ctx context.Context, reqs []ScoreRequest) ([]ScoreResult, error)
}

// WeightLoader is the optional capability of taking new weights in place,
// so a learner's update reaches the engine without a restart.
type WeightLoader interface {
	LoadWeights(ctx context.Context, weights map[string][]float32, version int64) error
}

// GenRequest asks for N completions of one prompt.
type GenRequest struct {
	Prompt []int32
	N      int
	// Seed seeds completion i's sampler with Seed+i, so a request is
	// reproducible whatever else is in the batch.
	Seed         uint64
	Sampling     sample.Options
	MaxNewTokens int
	// StopStrings end a completion once its text contains one (needs the
	// engine's detokenizer); the stop string stays in the completion.
	StopStrings []string
}

// FinishReason says why a completion ended.
type FinishReason string

// Finish reasons.
const (
	FinishEOS    FinishReason = "eos"
	FinishStop   FinishReason = "stop"
	FinishLength FinishReason = "length"
)

// Completion is one sampled continuation.
type Completion struct {
	IDs []int32
	// SampleLogProbs are the log-probs under the distribution each token
	// was drawn from (after temperature and truncation); PolicyLogProbs
	// under the raw policy (temperature 1, no truncation), which the
	// learner's importance ratio needs.
	SampleLogProbs []float32
	PolicyLogProbs []float32
	Finish         FinishReason
	// ServedVersion is the model version a remote server reported for
	// the completion (0 in-process, where the policy version says it).
	ServedVersion int64
	// LogProbsRecomputed: the server returned no log-probs, and
	// PolicyLogProbs were computed afterwards by scoring the completion
	// (SampleLogProbs are then the same values: the sampling
	// distribution was not reported).
	LogProbsRecomputed bool
}

// GenResult holds a request's completions in sample order.
type GenResult struct {
	Completions []Completion
}

// ScoreRequest asks for log p(ids[t] | ids[<t]) for t >= From (From >= 1).
type ScoreRequest struct {
	IDs  []int32
	From int
	// Entropy asks for the next-token entropy at each scored position.
	Entropy bool
}

// ScoreResult has one value per scored position t = From..len(IDs)-1.
type ScoreResult struct {
	LogProbs []float32
	Entropy  []float32
}
