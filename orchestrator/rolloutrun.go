package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"pz/data"
	"pz/orchestrator/traj"
)

// RolloutRunOptions configure RunRollouts (`pz rollout`).
type RolloutRunOptions struct {
	Out        string
	Steps      int
	Paragraphs int
	// Shard names this worker's files ("" or "i/N").
	Shard         string
	PolicyVersion int64
	OnStep        func(step int64, res *StepResult)
}

// rolloutState is saved beside a rollout's output so a rerun resumes.
type rolloutState struct {
	NextStep int64       `json:"next_step"`
	Cursor   data.Cursor `json:"cursor"`
}

// RolloutStateFile returns the resume file of a worker under out.
func RolloutStateFile(out, shard string) string {
	return filepath.Join(out, "rollout-state"+shardSuffix(shard)+".json")
}

func shardSuffix(shard string) string {
	if shard == "" {
		return ""
	}
	i, n, _ := strings.Cut(shard, "/")
	return fmt.Sprintf("-shard-%s-of-%s", i, n)
}

// RunRollouts runs Steps rollout steps, writing each as
// OUT/rollout[-shard-i-of-N]-step-XXXXXX.parquet (complete files only)
// and, after each, the worker's data cursor and next step, so a rerun with
// the same OUT continues where it stopped.
func RunRollouts(ctx context.Context, r *Rollout, src Passages, o RolloutRunOptions) error {
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return fmt.Errorf("rollout: %w", err)
	}
	stateFile := RolloutStateFile(o.Out, o.Shard)
	var st rolloutState
	if b, err := os.ReadFile(stateFile); err == nil {
		if err := json.Unmarshal(b, &st); err != nil {
			return fmt.Errorf("rollout: resume %s: %w", stateFile, err)
		}
		if err := src.Resume(st.Cursor); err != nil {
			return fmt.Errorf("rollout: resume %s: %w", stateFile, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("rollout: %w", err)
	}
	for ; st.NextStep < int64(o.Steps); st.NextStep++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		step := st.NextStep
		var ps []data.Passage
		for range o.Paragraphs {
			p, err := src.Next()
			if errors.Is(err, data.ErrEndOfData) {
				break
			}
			if err != nil {
				return fmt.Errorf("rollout step %d: %w", step, err)
			}
			ps = append(ps, p)
		}
		if len(ps) == 0 {
			return fmt.Errorf("rollout step %d: no passages left in the data", step)
		}
		res, err := r.Step(context.WithoutCancel(ctx), step, o.PolicyVersion, ps)
		if err != nil {
			return err
		}
		name := filepath.Join(o.Out, fmt.Sprintf("rollout%s-step-%06d.parquet", shardSuffix(o.Shard), step))
		if err := traj.WriteFile(name, r.FileMetadata(), res.Rows); err != nil {
			return fmt.Errorf("rollout step %d: %w", step, err)
		}
		next := rolloutState{NextStep: step + 1, Cursor: src.Cursor()}
		if err := traj.WriteJSONAtomic(stateFile, next); err != nil {
			return fmt.Errorf("rollout step %d: %w", step, err)
		}
		if o.OnStep != nil {
			o.OnStep(step, res)
		}
	}
	return nil
}
