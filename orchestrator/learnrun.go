package orchestrator

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sort"

	"pz/models/safetensors"
	"pz/orchestrator/learn"
	"pz/orchestrator/traj"
)

// LearnRunOptions configure LearnFiles (`pz learn`).
type LearnRunOptions struct {
	Inputs []string // trajectory files (Parquet or JSONL)
	Out    string
	// MiniBatches splits each step's rows into this many optimizer steps
	// (default 1), after a shuffle seeded by Seed; PPOEpochs passes over
	// each step's rows (default 1; see learn.Update).
	MiniBatches int
	PPOEpochs   int
	Seed        uint64
	// MaxStaleness skips rows whose policy_version is more than K behind
	// the learner's; negative disables the check.
	MaxStaleness int64
	KeepLast     int
	// SaveDType is the checkpoints' weight dtype ("" float32);
	// NoFinalOptimizer leaves the optimizer state out of the last one.
	SaveDType        safetensors.DType
	NoFinalOptimizer bool
	// SaveEvery saves a checkpoint every N optimizer steps (0: at the end).
	SaveEvery     int
	TokenizerFrom string
	// Version is the policy version of the weights loaded.
	Version int64
	// GeneratorEntropyCoef is an entropy bonus on rows whose role is
	// "generator" (the learner needs Policy.EntropyPerToken).
	GeneratorEntropyCoef float64
	Logger               *slog.Logger
	OnStep               func(learn.Metrics)
}

// LearnSummary reports what LearnFiles did.
type LearnSummary struct {
	Rows, Filtered, Stale, Steps, Skipped int
	Checkpoint                            string
}

// ExpandInputs resolves globs and directories to trajectory files.
func ExpandInputs(specs []string) ([]string, error) {
	var out []string
	for _, s := range specs {
		m, err := filepath.Glob(s)
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", s, err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("input %q: no such file", s)
		}
		for _, p := range m {
			if fs, _ := filepath.Glob(filepath.Join(p, "*.parquet")); len(fs) > 0 {
				out = append(out, fs...)
				continue
			}
			if fs, _ := filepath.Glob(filepath.Join(p, "*.jsonl")); len(fs) > 0 {
				out = append(out, fs...)
				continue
			}
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// LearnFiles runs one optimizer step per distinct `step` value of the
// inputs (rows without a step column form one step), in step order, split
// into MiniBatches, and saves checkpoints under Out.
func LearnFiles(ctx context.Context, l *learn.Learner, o LearnRunOptions) (LearnSummary, error) {
	var sum LearnSummary
	if o.MiniBatches < 1 {
		o.MiniBatches = 1
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	files, err := ExpandInputs(o.Inputs)
	if err != nil {
		return sum, err
	}
	bySteps := map[int64][]learn.Sample{}
	for _, f := range files {
		rows, err := traj.ReadLearnFile(f)
		if err != nil {
			return sum, err
		}
		for _, r := range rows {
			sum.Rows++
			if r.Filtered {
				sum.Filtered++
				continue
			}
			if o.MaxStaleness >= 0 && r.HasPolicyVersion && o.Version-r.PolicyVersion > o.MaxStaleness {
				sum.Stale++
				continue
			}
			s := learn.Sample{PromptIDs: r.PromptIDs, CompletionIDs: r.CompletionIDs, Advantage: r.Advantage,
				LossMask: r.LossMask, Step: r.Step, PolicyVersion: r.PolicyVersion}
			if r.Role == traj.RoleGenerator {
				s.EntropyCoef = float32(o.GeneratorEntropyCoef)
			}
			if r.HasOldLogprobs {
				s.OldLogProbs = r.OldLogprobs
			}
			if r.HasRefLogprobs {
				s.RefLogProbs = r.RefLogprobs
			}
			bySteps[r.Step] = append(bySteps[r.Step], s)
		}
	}
	steps := make([]int64, 0, len(bySteps))
	for s := range bySteps {
		steps = append(steps, s)
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i] < steps[j] })
	uo := learn.UpdateOptions{Epochs: o.PPOEpochs, MiniBatches: o.MiniBatches, Seed: o.Seed}
	for _, st := range steps {
		if err := uo.Validate(len(bySteps[st])); err != nil {
			return sum, fmt.Errorf("learn: step %d: %w", st, err)
		}
	}
	version := o.Version
	for _, st := range steps {
		ms, err := l.Update(ctx, bySteps[st], uo, st)
		if err != nil {
			return sum, err
		}
		for _, m := range ms {
			if m.Skipped != "" {
				log.Warn("learn step skipped", "step", m.Step, "reason", m.Skipped)
				sum.Skipped++
			} else {
				version++
			}
			sum.Steps++
			if o.OnStep != nil {
				o.OnStep(m)
			}
			if o.SaveEvery > 0 && sum.Steps%o.SaveEvery == 0 {
				if sum.Checkpoint, err = l.Save(o.Out, learn.SaveOptions{KeepLast: o.KeepLast, TokenizerFrom: o.TokenizerFrom, PolicyVersion: version, DType: o.SaveDType}); err != nil {
					return sum, err
				}
			}
		}
	}
	if o.SaveEvery == 0 || sum.Steps%o.SaveEvery != 0 || sum.Steps == 0 {
		if sum.Checkpoint, err = l.Save(o.Out, learn.SaveOptions{KeepLast: o.KeepLast, TokenizerFrom: o.TokenizerFrom, PolicyVersion: version,
			DType: o.SaveDType, NoOptimizer: o.NoFinalOptimizer}); err != nil {
			return sum, err
		}
	}
	return sum, nil
}
