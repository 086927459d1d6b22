package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"pz/data"
	"pz/models/safetensors"
	"pz/orchestrator/learn"
	"pz/orchestrator/reward"
	"pz/orchestrator/traj"
)

// TrainOptions configure the on-policy loop.
type TrainOptions struct {
	Out             string
	Steps           int
	Paragraphs      int // passages per step
	CheckpointEvery int // steps; 0 = only at the end
	KeepLast        int
	EvalEvery       int // steps; 0 = never during training
	// WriteTrajectories keeps each step's rollout as Parquet under
	// Out/trajectories (the file hand-off pz learn reads).
	WriteTrajectories bool
	TokenizerFrom     string
	// Update makes each step Update.Updates() optimizer steps (PPO epochs
	// × mini-batches, learn.Update); a step is then that many learner
	// steps, and checkpoints are named by learner step.
	Update learn.UpdateOptions
	// SaveDType is the checkpoints' weight dtype ("" float32);
	// NoFinalOptimizer leaves the optimizer state out of the last one.
	SaveDType        safetensors.DType
	NoFinalOptimizer bool
	Logger           *slog.Logger
}

// Passages is the data a train loop consumes, with a resumable cursor.
type Passages interface {
	Next() (data.Passage, error)
	Cursor() data.Cursor
	Resume(data.Cursor) error
}

// Evaluator runs a held-out evaluation with the current engine weights.
type Evaluator interface {
	Evaluate(ctx context.Context) (*EvalReport, error)
}

// StepMetrics is one line of metrics.jsonl (documented in the README).
type StepMetrics struct {
	Step          int64            `json:"step"`
	Time          string           `json:"time"`
	Mode          Mode             `json:"mode"`
	PolicyVersion int64            `json:"policy_version"`
	Rollout       reward.StepStats `json:"rollout"`
	Skipped       map[string]int   `json:"skipped,omitempty"`
	GenLength     float64          `json:"gen_response_length"`
	PredLength    float64          `json:"pred_response_length"`
	Learn         learn.Metrics    `json:"learn"`
	// LearnUpdates are the step's optimizer steps, when there are several
	// (Learn then combines them, learn.Combine).
	LearnUpdates []learn.Metrics `json:"learn_updates,omitempty"`
	LearnRows    int             `json:"learn_rows"`
	FilteredRows int             `json:"filtered_rows"`
	// Seconds per phase.
	GenSeconds    float64 `json:"gen_seconds"`
	PredSeconds   float64 `json:"pred_seconds"`
	VerifySeconds float64 `json:"verify_seconds"`
	LearnSeconds  float64 `json:"learn_seconds"`
	SyncSeconds   float64 `json:"sync_seconds"`
	WriteSeconds  float64 `json:"write_seconds"`
	StepSeconds   float64 `json:"step_seconds"`
	// Throughput.
	SampledTokens  int     `json:"sampled_tokens"`
	SampledTokPerS float64 `json:"sampled_tokens_per_s"`
	TrainTokPerS   float64 `json:"train_tokens_per_s"`
	Completions    int     `json:"completions"`
	// Masks that got predictions, and the predictions (equal across modes
	// by default: a baseline draws --gen-samples masks per paragraph).
	Masks       int         `json:"masks"`
	Predictions int         `json:"predictions"`
	Eval        *EvalReport `json:"eval,omitempty"`

	// SpanKinds: valid masks by labelled kind (corpora with spans.jsonl).
	SpanKinds map[string]SpanKindStats `json:"span_kinds,omitempty"`
}

// trainExtra is the loop's part of trainer_state.json.
type trainExtra struct {
	Cursor  data.Cursor `json:"cursor"`
	Version int64       `json:"policy_version"`
	// Updates per step (0 in older checkpoints: 1).
	Updates int `json:"updates_per_step,omitempty"`
}

// RolloutTask is one step's rollout as the loop needs it: *Rollout, or
// another task's (RLVR) on the same learner, checkpoints and metrics.
type RolloutTask interface {
	Step(ctx context.Context, step, policyVersion int64, passages []data.Passage) (*StepResult, error)
	FileMetadata() map[string]string
	Options() RolloutOptions
}

// Trainer chains rollout → learn → weight sync in one process.
type Trainer struct {
	Rollout *Rollout
	// Task, when set, runs each step's rollout instead of Rollout.
	Task    RolloutTask
	Learner *learn.Learner
	Engine  Engine
	Data    Passages
	Eval    Evaluator
	Opts    TrainOptions
	// OnStep, when set, sees every step's metrics (progress display).
	OnStep func(StepMetrics)

	version int64
}

func (t *Trainer) task() RolloutTask {
	if t.Task != nil {
		return t.Task
	}
	return t.Rollout
}

// Resume restores the learner, engine weights and data cursor from the
// newest checkpoint under Opts.Out, if any, and returns its step.
func (t *Trainer) Resume(ctx context.Context) (int64, error) {
	dir, err := learn.Latest(t.Opts.Out)
	if err != nil || dir == "" {
		return 0, err
	}
	st, err := t.Learner.Restore(dir)
	if err != nil {
		return 0, err
	}
	var ex trainExtra
	if len(st.Extra) > 0 {
		if err := json.Unmarshal(st.Extra, &ex); err != nil {
			return 0, fmt.Errorf("resume %s: trainer state: %w", dir, err)
		}
		if err := t.Data.Resume(ex.Cursor); err != nil {
			return 0, fmt.Errorf("resume %s: %w", dir, err)
		}
	}
	if u := max(ex.Updates, 1); u != t.Opts.Update.Updates() {
		return 0, fmt.Errorf("resume %s: it made %d optimizer steps per step, this run %d (--ppo-epochs × --mini-batches must match)", dir, u, t.Opts.Update.Updates())
	}
	t.version = ex.Version
	if wl, ok := t.Engine.(WeightLoader); ok {
		if err := wl.LoadWeights(ctx, t.Learner.Weights(), t.version); err != nil {
			return 0, err
		}
	}
	return st.Step / int64(t.Opts.Update.Updates()), nil
}

// Run trains until Opts.Steps optimizer steps are done or ctx is
// cancelled; on cancellation it finishes the file being written and saves
// a resumable checkpoint before returning ctx's error.
func (t *Trainer) Run(ctx context.Context) error {
	log := t.Opts.Logger
	if log == nil {
		log = slog.Default()
	}
	wl, ok := t.Engine.(WeightLoader)
	if !ok {
		return errors.New("train: the engine cannot load weights in place (no WeightLoader)")
	}
	if err := os.MkdirAll(t.Opts.Out, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if err := removeStaleTemps(t.Opts.Out, filepath.Join(t.Opts.Out, "trajectories")); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	metrics := filepath.Join(t.Opts.Out, "metrics.jsonl")
	if err := trimMetrics(metrics, t.Learner.StepCount()); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	mf, err := os.OpenFile(metrics, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	defer mf.Close()
	save := func(final bool) error {
		_, err := t.Learner.Save(t.Opts.Out, learn.SaveOptions{KeepLast: t.Opts.KeepLast, TokenizerFrom: t.Opts.TokenizerFrom,
			DType: t.Opts.SaveDType, NoOptimizer: final && t.Opts.NoFinalOptimizer,
			PolicyVersion: t.version, Extra: trainExtra{Cursor: t.Data.Cursor(), Version: t.version, Updates: t.Opts.Update.Updates()}})
		return err
	}
	perStep := int64(t.Opts.Update.Updates())
	for step := t.Learner.StepCount() / perStep; step < int64(t.Opts.Steps); step = t.Learner.StepCount() / perStep {
		if ctx.Err() != nil {
			// Leave a resumable checkpoint; the cursor matches the learner.
			if err := save(false); err != nil {
				return errors.Join(ctx.Err(), err)
			}
			return ctx.Err()
		}
		stepStart := time.Now()
		passages := make([]data.Passage, 0, t.Opts.Paragraphs)
		for range t.Opts.Paragraphs {
			p, err := t.Data.Next()
			if err != nil {
				return fmt.Errorf("train step %d: data: %w", step, err)
			}
			passages = append(passages, p)
		}
		// The rollout uses an uncancellable context: a step is the unit of
		// work, and stopping mid-step would leave the cursor ahead of the
		// checkpoint. Ctrl-C is honoured between steps.
		res, err := t.task().Step(context.WithoutCancel(ctx), step, t.version, passages)
		if err != nil {
			return err
		}
		m := StepMetrics{Step: step, Time: time.Now().UTC().Format(time.RFC3339), Mode: t.task().Options().Mode,
			PolicyVersion: t.version, Rollout: res.Stats, Skipped: res.Skipped, GenLength: res.GenLength,
			PredLength: res.PredLength, GenSeconds: res.GenSeconds, PredSeconds: res.PredSeconds,
			VerifySeconds: res.VerifySeconds, SampledTokens: res.Tokens, Completions: res.Completions,
			Masks: res.Masks, Predictions: res.Predictions}
		m.SpanKinds = res.SpanKinds
		if gt := res.GenSeconds + res.PredSeconds; gt > 0 {
			m.SampledTokPerS = float64(res.Tokens) / gt
		}
		if t.Opts.WriteTrajectories {
			w0 := time.Now()
			dir := filepath.Join(t.Opts.Out, "trajectories")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("train: %w", err)
			}
			if err := traj.WriteFile(filepath.Join(dir, fmt.Sprintf("step-%06d.parquet", step)), t.task().FileMetadata(), res.Rows); err != nil {
				return fmt.Errorf("train step %d: %w", step, err)
			}
			m.WriteSeconds = time.Since(w0).Seconds()
		}
		var batch []learn.Sample
		for _, r := range res.Rows {
			if r.Filtered {
				m.FilteredRows++
				continue
			}
			s := learn.Sample{PromptIDs: r.PromptIDs, CompletionIDs: r.CompletionIDs,
				Advantage: r.Advantage, OldLogProbs: r.OldLogprobs, Step: r.Step, PolicyVersion: r.PolicyVersion}
			if r.Role == traj.RoleGenerator {
				s.EntropyCoef = float32(t.Rollout.opts.Reward.GeneratorEntropyBonus)
			}
			batch = append(batch, s)
		}
		m.LearnRows = len(batch)
		l0 := time.Now()
		// Update skips (and counts) an update with nothing to learn from or
		// a non-finite loss, so the run makes progress through its data.
		ms, err := t.Learner.Update(context.WithoutCancel(ctx), batch, t.Opts.Update, step)
		m.LearnSeconds = time.Since(l0).Seconds()
		if err != nil {
			return err
		}
		lm := learn.Combine(ms)
		m.Learn = lm
		if len(ms) > 1 {
			m.LearnUpdates = ms
		}
		applied := false
		for _, u := range ms {
			if u.Skipped != "" && len(batch) > 0 {
				log.Warn("update skipped", "step", step, "update", u.Step, "reason", u.Skipped)
			}
			applied = applied || u.Skipped == ""
		}
		if applied {
			s0 := time.Now()
			t.version++
			if err := wl.LoadWeights(ctx, t.Learner.Weights(), t.version); err != nil {
				return err
			}
			m.SyncSeconds = time.Since(s0).Seconds()
		}
		if m.LearnSeconds > 0 {
			m.TrainTokPerS = float64(lm.Tokens) / m.LearnSeconds
		}
		done := t.Learner.StepCount() / perStep
		if t.Eval != nil && t.Opts.EvalEvery > 0 && done%int64(t.Opts.EvalEvery) == 0 {
			rep, err := t.Eval.Evaluate(context.WithoutCancel(ctx))
			if err != nil {
				return err
			}
			m.Eval = rep
		}
		m.StepSeconds = time.Since(stepStart).Seconds()
		b, _ := json.Marshal(m)
		if _, err := mf.Write(append(b, '\n')); err != nil {
			return fmt.Errorf("train: metrics: %w", err)
		}
		if t.OnStep != nil {
			t.OnStep(m)
		}
		if (t.Opts.CheckpointEvery > 0 && done%int64(t.Opts.CheckpointEvery) == 0) || done == int64(t.Opts.Steps) {
			if err := save(done == int64(t.Opts.Steps)); err != nil {
				return err
			}
		}
	}
	return nil
}
