package orchestrator

import (
	"context"
	"fmt"
	"math"
	"slices"

	"pz/orchestrator/traj"
)

// MismatchStats compare the log-probs a rollout stored (old_logprobs)
// with the ones a model recomputes: the rollout/learner mismatch every RL
// framework ends up correcting.
type MismatchStats struct {
	Rows    int                `json:"rows"`
	Tokens  int                `json:"tokens"`
	MeanExp float64            `json:"mean_exp_abs_delta"` // mean of exp(|Δ log p|); 1 = identical
	MaxAbs  float64            `json:"max_abs_delta"`
	MeanAbs float64            `json:"mean_abs_delta"`
	Skipped int                `json:"rows_without_logprobs"`
	ByRole  map[string]float64 `json:"mean_exp_abs_delta_by_role"`
}

// LogProbMismatch rescores every row of the trajectory files with eng.
func LogProbMismatch(ctx context.Context, eng Engine, files []string, batch int) (*MismatchStats, error) {
	if batch <= 0 {
		batch = 64
	}
	st := &MismatchStats{ByRole: map[string]float64{}}
	roleN := map[string]int{}
	for _, f := range files {
		rows, err := traj.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for lo := 0; lo < len(rows); lo += batch {
			part := rows[lo:min(lo+batch, len(rows))]
			var reqs []ScoreRequest
			var idx []int
			for i, r := range part {
				if len(r.OldLogprobs) == 0 || len(r.OldLogprobs) != len(r.CompletionIDs) || len(r.PromptIDs) == 0 {
					st.Skipped++
					continue
				}
				reqs = append(reqs, ScoreRequest{IDs: slices.Concat(r.PromptIDs, r.CompletionIDs), From: len(r.PromptIDs)})
				idx = append(idx, i)
			}
			res, err := eng.Score(ctx, reqs)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			for k, i := range idx {
				r := part[i]
				st.Rows++
				for j, lp := range res[k].LogProbs {
					d := math.Abs(float64(lp) - float64(r.OldLogprobs[j]))
					e := math.Exp(d)
					st.MeanExp += e
					st.MeanAbs += d
					st.MaxAbs = max(st.MaxAbs, d)
					st.Tokens++
					st.ByRole[r.Role] += e
					roleN[r.Role]++
				}
			}
		}
	}
	if st.Tokens > 0 {
		st.MeanExp /= float64(st.Tokens)
		st.MeanAbs /= float64(st.Tokens)
	}
	for k, n := range roleN {
		st.ByRole[k] /= float64(n)
	}
	return st, nil
}
