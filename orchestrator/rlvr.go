package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"time"

	"pz/data"
	"pz/orchestrator/bench"
	"pz/orchestrator/reward"
	"pz/orchestrator/sample"
	"pz/orchestrator/task"
	"pz/orchestrator/traj"
)

// ModeRLVR labels the metrics and trajectories of RLVR post-training
// (`pz train --task rlvr`); it is not a masking mode of Rollout.
const ModeRLVR Mode = "rlvr"

// RLVROptions configure RLVR: one role answers benchmark-style questions,
// G samples each, and the verifier's verdict is the reward.
type RLVROptions struct {
	Kind            bench.Kind
	Samples         int // G: completions per question
	Sampling        sample.Options
	MaxNewTokens    int
	MaxPromptTokens int // a longer question is skipped (counted)
	// Reward supplies Eps and DAPO's filter (FilterPredictorGroups: groups
	// whose accuracy is 0 or 1 carry no signal and are marked filtered).
	Reward reward.Config
	Seed   uint64
	RunID  string
}

// RLVR is the RLVR rollout: the train loop's task hook (Trainer.Task).
type RLVR struct {
	eng   Engine
	tok   Tokenizer
	opts  RLVROptions
	items map[string]bench.Item
}

// NewRLVR checks the options; items are the questions the data source
// (RLVRQuestions) hands out by ID.
func NewRLVR(eng Engine, tok Tokenizer, items []bench.Item, o RLVROptions) (*RLVR, error) {
	if o.Samples < 2 {
		return nil, fmt.Errorf("rlvr: samples per question must be >= 2 (GRPO compares a question's samples)")
	}
	if o.MaxNewTokens < 1 {
		return nil, fmt.Errorf("rlvr: max new tokens must be >= 1")
	}
	if err := o.Sampling.Validate(); err != nil {
		return nil, fmt.Errorf("rlvr: %w", err)
	}
	byID := make(map[string]bench.Item, len(items))
	for _, it := range items {
		byID[it.ID] = it
	}
	return &RLVR{eng: eng, tok: tok, opts: o, items: byID}, nil
}

// Options describes the rollout to the train loop (mode and reward).
func (r *RLVR) Options() RolloutOptions {
	return RolloutOptions{Mode: ModeRLVR, Reward: r.opts.Reward, PredSamples: r.opts.Samples,
		PredSampling: r.opts.Sampling, PredMaxTokens: r.opts.MaxNewTokens, Seed: r.opts.Seed, RunID: r.opts.RunID}
}

// FileMetadata is the metadata of RLVR trajectory files.
func (r *RLVR) FileMetadata() map[string]string {
	js, _ := json.Marshal(r.opts.Reward)
	return map[string]string{traj.MetaRunID: r.opts.RunID, traj.MetaRewardConfig: string(js),
		traj.MetaMode: string(ModeRLVR), traj.MetaBench: string(r.opts.Kind)}
}

// Step samples G completions per question, scores them with the
// benchmark's verifier (reward 1 when correct, else 0) and computes GRPO
// advantages and DAPO's filter with the same reward package as the
// PretrainZero predictor: each question is one prediction group.
func (r *RLVR) Step(ctx context.Context, step, policyVersion int64, passages []data.Passage) (*StepResult, error) {
	o := r.opts
	res := &StepResult{Skipped: map[string]int{}}
	t0 := time.Now()
	var reqs []GenRequest
	var qs []bench.Item
	var prompts []string
	for i, p := range passages {
		it, ok := r.items[p.ID]
		if !ok {
			return nil, fmt.Errorf("rlvr step %d: question %q is not in the data", step, p.ID)
		}
		text := bench.Prompt(o.Kind, it)
		ids := r.tok.EncodeSpecial(text)
		if o.MaxPromptTokens > 0 && len(ids) > o.MaxPromptTokens {
			res.Skipped["prompt_too_long"]++
			continue
		}
		qs = append(qs, it)
		prompts = append(prompts, text)
		reqs = append(reqs, GenRequest{Prompt: ids, N: o.Samples, Seed: benchSeed(o.Seed^uint64(step)*0xD1B54A32D192ED03, i),
			Sampling: o.Sampling, MaxNewTokens: o.MaxNewTokens, StopStrings: bench.StopStrings(o.Kind)})
	}
	out, err := r.eng.Generate(ctx, reqs)
	if err != nil {
		return nil, fmt.Errorf("rlvr step %d: generation: %w", step, err)
	}
	res.PredSeconds = time.Since(t0).Seconds()

	t1 := time.Now()
	now := time.Now().UnixMilli()
	props := make([]reward.Proposal, len(qs))
	var preds []reward.Prediction
	var rows []traj.Row
	for q, it := range qs {
		props[q] = reward.Proposal{Group: q, Span: it.Answer, Reason: task.Valid, Words: 1}
		for j, c := range out[q].Completions {
			text, _ := r.tok.Decode(c.IDs)
			tv, v := bench.RewardVerdict(o.Kind, it, text)
			preds = append(preds, reward.Prediction{Mask: q, Verdict: tv})
			row := traj.Row{SchemaVersion: traj.SchemaVersion, RunID: o.RunID, Step: step, PolicyVersion: policyVersion,
				Role: traj.RolePredictor, GroupID: fmt.Sprintf("s%d/q%d", step, q), SampleIndex: int32(j), PassageID: it.ID,
				CreatedUnixMs: now, PassageText: bench.EncodeRowQuestion(it), PromptText: prompts[q], PromptIDs: reqs[q].Prompt, Valid: true, Target: it.Answer,
				Parsed: v.Extracted, ParseOK: tv.Parsed, Strict: v.Correct, Normalised: v.Correct, GenerateSeconds: float32(res.PredSeconds)}
			fillCompletion(&row, c, text)
			rows = append(rows, row)
			res.Tokens += len(c.IDs)
			res.Completions++
			res.PredLength += float64(len(c.IDs))
		}
	}
	if len(rows) > 0 {
		res.PredLength /= float64(len(rows))
	}
	sc, err := reward.Score(o.Reward, props, preds, nil)
	if err != nil {
		return nil, fmt.Errorf("rlvr step %d: scoring: %w", step, err)
	}
	for i := range rows {
		p := sc.Pred[i]
		rows[i].Reward, rows[i].Advantage, rows[i].Filtered = p.Reward, float32(p.Advantage), p.Filtered
		rows[i].MaskAccuracy = sc.Gen[preds[i].Mask].Accuracy
	}
	res.VerifySeconds = time.Since(t1).Seconds()
	res.Rows = rows
	res.Stats = sc.Stats
	res.Stats.Generator = reward.RoleStats{} // one role: no generator
	return res, nil
}

// RLVRQuestions hands out benchmark questions as passages (ID = the
// question's ID), shuffled per epoch with a seed, with a resumable cursor.
type RLVRQuestions struct {
	items  []bench.Item
	cur    data.Cursor
	order  []int
	finger string
}

// NewRLVRQuestions shuffles items with seed.
func NewRLVRQuestions(items []bench.Item, seed uint64) (*RLVRQuestions, error) {
	if len(items) == 0 {
		return nil, errors.New("rlvr: no questions")
	}
	h := fnv.New64a()
	for _, it := range items {
		h.Write([]byte(it.ID))
		h.Write([]byte{0})
	}
	q := &RLVRQuestions{items: items, finger: strconv.FormatUint(h.Sum64(), 16)}
	q.cur = data.Cursor{Split: "rlvr", Seed: seed, Shuffle: true, Passages: len(items), Fingerprint: q.finger}
	q.shuffle()
	return q, nil
}

func (q *RLVRQuestions) shuffle() {
	rng := rand.New(rand.NewPCG(q.cur.Seed, uint64(q.cur.Epoch)))
	q.order = rng.Perm(len(q.items))
}

// Next returns the next question as a passage.
func (q *RLVRQuestions) Next() (data.Passage, error) {
	if q.cur.Pos >= len(q.order) {
		q.cur.Epoch++
		q.cur.Pos = 0
		q.shuffle()
	}
	it := q.items[q.order[q.cur.Pos]]
	q.cur.Pos++
	q.cur.Consumed++
	return data.Passage{ID: it.ID, DocID: it.ID, Text: it.Question}, nil
}

// Cursor is the position to resume from.
func (q *RLVRQuestions) Cursor() data.Cursor { return q.cur }

// Resume continues from a cursor of the same questions.
func (q *RLVRQuestions) Resume(c data.Cursor) error {
	if c.Fingerprint != q.finger || c.Passages != len(q.items) {
		return fmt.Errorf("rlvr: resume: the checkpoint was trained on other questions (%d, fingerprint %s; now %d, %s)", c.Passages, c.Fingerprint, len(q.items), q.finger)
	}
	q.cur = c
	q.shuffle()
	return nil
}
