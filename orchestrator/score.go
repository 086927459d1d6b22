package orchestrator

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
)

// ScoreSummary is the token-weighted result of ScoreJSONL.
type ScoreSummary struct {
	Tokens int
	NLL    float64 // mean negative log-likelihood per scored token
	PPL    float64
}

// ScoreJSONL reads lines {"ids": [...]} and writes {"logprobs": [...]}
// lines in the same order, where logprobs[t-1] = log p(ids[t] | ids[<t]);
// a line with fewer than 2 ids gives []. Lines are scored in batches of
// batchLines.
func ScoreJSONL(ctx context.Context, eng Engine, name string, r io.Reader, w io.Writer, batchLines int) (ScoreSummary, error) {
	if batchLines <= 0 {
		batchLines = 64
	}
	var sum ScoreSummary
	var nll float64
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	bw := bufio.NewWriter(w)
	var batch [][]int32
	flush := func() error {
		var reqs []ScoreRequest
		var idx []int
		for i, ids := range batch {
			if len(ids) >= 2 {
				reqs = append(reqs, ScoreRequest{IDs: ids, From: 1})
				idx = append(idx, i)
			}
		}
		res, err := eng.Score(ctx, reqs)
		if err != nil {
			return err
		}
		out := make([][]float32, len(batch))
		for k, i := range idx {
			out[i] = res[k].LogProbs
		}
		for _, lp := range out {
			if lp == nil {
				lp = []float32{}
			}
			for _, v := range lp {
				nll -= float64(v)
			}
			sum.Tokens += len(lp)
			b, _ := json.Marshal(struct {
				LogProbs []float32 `json:"logprobs"`
			}{lp})
			bw.Write(append(b, '\n'))
		}
		batch = batch[:0]
		return nil
	}
	for line := 1; sc.Scan(); line++ {
		var in struct {
			IDs *[]int32 `json:"ids"`
		}
		if err := json.Unmarshal(sc.Bytes(), &in); err != nil {
			return sum, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if in.IDs == nil {
			return sum, fmt.Errorf("%s:%d: missing field \"ids\"", name, line)
		}
		batch = append(batch, *in.IDs)
		if len(batch) == batchLines {
			if err := flush(); err != nil {
				return sum, fmt.Errorf("%s: line %d: %w", name, line, err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return sum, fmt.Errorf("read %s: %w", name, err)
	}
	if err := flush(); err != nil {
		return sum, fmt.Errorf("%s: %w", name, err)
	}
	if sum.Tokens > 0 {
		sum.NLL = nll / float64(sum.Tokens)
		sum.PPL = math.Exp(sum.NLL)
	}
	return sum, bw.Flush()
}
