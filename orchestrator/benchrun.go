package orchestrator

import (
	"context"
	"fmt"
	"time"

	"pz/orchestrator/bench"
	"pz/orchestrator/sample"
)

// BenchOptions configure RunBench.
type BenchOptions struct {
	Kind bench.Kind
	// K samples per question (1 with greedy decoding).
	K            int
	Sampling     sample.Options
	MaxNewTokens int
	// Seed makes question i's samples the same for every model: the
	// sampler of sample j is seeded from (Seed, i) + j, whatever else is in
	// the batch.
	Seed uint64
	// Batch is the number of questions per engine call (default 16).
	Batch int
	// OnBatch, when set, sees the questions done so far.
	OnBatch func(done, total int)
}

// RunBench asks the engine every item K times with pz's prompt for the
// kind and scores the completions. It returns the completions (stop
// strings cut), the verdicts and the aggregate, all in item order.
func RunBench(ctx context.Context, eng Engine, tok Tokenizer, items []bench.Item, o BenchOptions) ([][]string, [][]bench.Verdict, bench.Result, error) {
	var res bench.Result
	if o.K < 1 {
		return nil, nil, res, fmt.Errorf("bench: k must be >= 1")
	}
	if o.Sampling.Temperature == 0 && o.K > 1 {
		return nil, nil, res, fmt.Errorf("bench: greedy decoding (temperature 0) gives %d identical samples; use k 1 or a temperature > 0", o.K)
	}
	if o.MaxNewTokens < 1 {
		return nil, nil, res, fmt.Errorf("bench: max new tokens must be >= 1")
	}
	if o.Batch <= 0 {
		o.Batch = 16
	}
	t0 := time.Now()
	comps := make([][]string, len(items))
	verdicts := make([][]bench.Verdict, len(items))
	for start := 0; start < len(items); start += o.Batch {
		if err := ctx.Err(); err != nil {
			return nil, nil, res, err
		}
		end := min(start+o.Batch, len(items))
		reqs := make([]GenRequest, 0, end-start)
		for i := start; i < end; i++ {
			reqs = append(reqs, GenRequest{Prompt: tok.EncodeSpecial(bench.Prompt(o.Kind, items[i])), N: o.K,
				Seed: benchSeed(o.Seed, i), Sampling: o.Sampling, MaxNewTokens: o.MaxNewTokens, StopStrings: bench.StopStrings(o.Kind)})
		}
		out, err := eng.Generate(ctx, reqs)
		if err != nil {
			return nil, nil, res, fmt.Errorf("bench: questions %d-%d: %w", start, end-1, err)
		}
		for k, g := range out {
			i := start + k
			for _, c := range g.Completions {
				text, _ := tok.Decode(c.IDs)
				text = bench.TrimStop(o.Kind, text)
				comps[i] = append(comps[i], text)
				verdicts[i] = append(verdicts[i], bench.Score(o.Kind, items[i], text))
			}
		}
		if o.OnBatch != nil {
			o.OnBatch(end, len(items))
		}
	}
	res = bench.Result{Bench: o.Kind, K: o.K, Metric: bench.MetricName(o.K), Temperature: o.Sampling.Temperature,
		TopP: o.Sampling.TopP, MaxNewTokens: o.MaxNewTokens, Seed: o.Seed, Seconds: time.Since(t0).Seconds()}
	res.Stats, res.Categories, res.Reasons, res.Sources = bench.Aggregate(items, verdicts)
	return comps, verdicts, res, nil
}

// benchSeed mixes the run seed and the question index (splitmix64).
func benchSeed(seed uint64, i int) uint64 {
	x := seed ^ (uint64(i)+1)*0x9E3779B97F4A7C15
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}
