// Package sample draws the next token from a row of logits in plain Go.
//
// A Sampler applies, in Hugging Face's warper order, temperature, then top-k, then top-p
// (over what top-k kept), then min-p, renormalises, and draws with one uniform number by
// the inverse CDF. Each Choice carries two log-probs: LogProb, under the distribution the
// token was actually drawn from, and PolicyLogProb, the raw log-softmax (temperature 1, no
// truncation) that the learner's importance ratios need.
//
// Nothing sorts the vocabulary; every path is a few linear passes (see the benchmarks
// for their cost at 151,936 tokens). Top-k is a bounded heap over one pass. Top-p without
// top-k gathers, with one compare per logit, the tokens close enough to the maximum that
// they provably hold the needed mass, histograms their mass by distance from the maximum,
// keeps every bucket above the boundary bucket and sorts only that bucket. Min-p is a
// threshold on the logit: p ≥ MinP·p_max exactly when (logit−max)/T ≥ ln MinP. The kept
// sets equal those of a full sort with ties broken by the lower token id, up to rounding
// of the cumulative mass where it meets TopP. Exponentials use a table-driven exp with
// relative error below 5e-10; all sums are float64.
//
// Logits may contain -Inf (a banned token; it gets probability 0 in both distributions)
// and NaN, which counts as -Inf. A +Inf logit, or a row with no finite logit, is an error.
package sample

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

var (
	// ErrNoCandidate means every logit (within the vocabulary limit) is -Inf or NaN.
	ErrNoCandidate = errors.New("sample: no finite logit")
	// ErrInfLogit means a logit is +Inf, for which softmax is undefined.
	ErrInfLogit = errors.New("sample: logit is +Inf")
)

// Options configure a Sampler. The zero value is greedy decoding.
type Options struct {
	Temperature float64 // divides the logits; 0 is greedy (argmax, ties to the lowest id; the rest is ignored)
	TopK        int     // keep the TopK highest logits; 0 (or ≥ the vocabulary) is off
	TopP        float64 // keep the smallest most-likely set with mass ≥ TopP; 0 or 1 is off
	MinP        float64 // keep tokens with p ≥ MinP·p_max; 0 is off
	// VocabLimit ignores logits[VocabLimit:] (padded embedding rows past the tokenizer's
	// vocabulary, e.g. 151,669 of Qwen's 151,936) in both distributions; 0 uses all.
	VocabLimit int
}

// Validate reports the first option out of range.
func (o Options) Validate() error {
	switch {
	case !(o.Temperature >= 0) || math.IsInf(o.Temperature, 1):
		return fmt.Errorf("sample options: temperature (%g) must be finite and >= 0", o.Temperature)
	case o.Temperature > 0 && math.IsInf(1/o.Temperature, 1):
		return fmt.Errorf("sample options: temperature (%g) is too small; use 0 for greedy", o.Temperature)
	case o.TopK < 0:
		return fmt.Errorf("sample options: top_k (%d) must be >= 0", o.TopK)
	case !(o.TopP >= 0 && o.TopP <= 1):
		return fmt.Errorf("sample options: top_p (%g) must be in [0, 1]", o.TopP)
	case !(o.MinP >= 0 && o.MinP <= 1):
		return fmt.Errorf("sample options: min_p (%g) must be in [0, 1]", o.MinP)
	case o.VocabLimit < 0:
		return fmt.Errorf("sample options: vocab_limit (%d) must be >= 0", o.VocabLimit)
	}
	return nil
}

// Choice is one sampled token.
type Choice struct {
	Token int32
	// LogProb is the log-probability of Token under the distribution it was drawn from
	// (after temperature and truncation, renormalised); 0 for greedy.
	LogProb float32
	// PolicyLogProb is the log-softmax of the raw logits at Token (temperature 1, no
	// truncation, over logits[:VocabLimit]).
	PolicyLogProb float32
}

// Sampler draws tokens with its own seeded PCG generator and reusable scratch buffers.
// It is not safe for concurrent use: keep one per completion, or one per worker and
// Reseed it for each completion. Each non-greedy Sample consumes exactly one uniform
// draw, so a seed fixes the whole sequence; greedy draws nothing.
type Sampler struct {
	opts   Options
	rng    rand.PCG
	invT   float64 // 1/Temperature
	lnMinP float64 // ln MinP, or -Inf when min-p is off

	// scratch, grown on demand and reused across calls
	blocks []float64                 // per-block weight sums (untruncated path)
	refs   []float64                 // the maximum each block was summed against
	hist   *[histBuckets + 1]float64 // mass by distance from the max (top-p path)
	cands  []cand                    // top-k heap, top-p candidates
	cw     []float64                 // top-p candidates' weights
	edge   []cand                    // top-p boundary bucket
	ids    []int32                   // kept tokens (truncated paths)
	ws     []float64                 // their sampling weights exp((x−max)/T)
}

// pcgStream is the second PCG seed word; the caller's seed picks the sequence.
const pcgStream = 0x9e3779b97f4a7c15

// New returns a Sampler for opts, seeded with seed.
func New(opts Options, seed uint64) (*Sampler, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	s := &Sampler{opts: opts, lnMinP: math.Inf(-1)}
	if opts.Temperature > 0 {
		s.invT = 1 / opts.Temperature
	}
	if opts.MinP > 0 {
		s.lnMinP = math.Log(opts.MinP)
	}
	s.Reseed(seed)
	return s, nil
}

// Reseed restarts the generator as if the Sampler had been made with seed.
func (s *Sampler) Reseed(seed uint64) { s.rng.Seed(seed, pcgStream) }

// Options returns the options the Sampler was made with.
func (s *Sampler) Options() Options { return s.opts }

// uniform returns a float64 in [0, 1).
func (s *Sampler) uniform() float64 { return float64(s.rng.Uint64()>>11) * 0x1p-53 }

// Sample draws one token from logits, which it only reads. It fails with ErrNoCandidate
// when no logit (within VocabLimit) is finite and with ErrInfLogit when one is +Inf.
func (s *Sampler) Sample(logits []float32) (Choice, error) {
	v := logits
	if l := s.opts.VocabLimit; l > 0 && l < len(v) {
		v = v[:l]
	}
	if s.opts.Temperature == 0 {
		return greedy(v)
	}
	d, err := s.prepare(v)
	if err != nil {
		return Choice{}, err
	}
	tok := s.pick(v, d, s.uniform())
	x := float64(v[tok]) - d.max
	return Choice{
		Token:         int32(tok),
		LogProb:       float32(x*s.invT - math.Log(d.total)),
		PolicyLogProb: float32(x - d.logZ),
	}, nil
}

func greedy(v []float32) (Choice, error) {
	i, m, z := softmaxStats(v, 1)
	if err := checkMax(m); err != nil {
		return Choice{}, err
	}
	return Choice{Token: int32(i), PolicyLogProb: float32(-math.Log(z))}, nil
}

func checkMax(m float32) error {
	switch {
	case math.IsInf(float64(m), -1):
		return ErrNoCandidate
	case math.IsInf(float64(m), 1):
		return ErrInfLogit
	}
	return nil
}
