package traj

import (
	"fmt"
	"time"

	"pz/orchestrator/reward"
	"pz/orchestrator/task"
)

// Sample is one completion as a rollout received it.
type Sample struct {
	PromptText       string
	PromptIDs        []int32
	CompletionText   string
	CompletionIDs    []int32   // EOS included when produced
	OldLogprobs      []float32 // raw policy log-probs, one per completion id
	SamplingLogprobs []float32
	FinishReason     string
	GenerateSeconds  float32
}

// GenGroup is one paragraph's generator completions.
type GenGroup struct {
	PassageID   string
	PassageText string
	Samples     []Sample
	// SpanTokens, when set, counts the tokens of a span (for stats); it is
	// called for valid masks only.
	SpanTokens func(span string) int
}

// Proposals validates every generator completion of a step (groups in
// order, samples in order) and applies the collapse guards: the first half of
// a rollout step. Proposal i with Reason task.Valid gets prediction prompts
// built from masks[i] (task.MaskParagraph, Templates.PredictionPrompt).
// Audit recomputes in this same order.
func Proposals(cfg reward.Config, mo task.MaskOptions, groups []GenGroup) ([]reward.Proposal, []task.Mask) {
	var props []reward.Proposal
	var masks []task.Mask
	for gi, g := range groups {
		for _, s := range g.Samples {
			m, why := task.ValidateCompletion(g.PassageText, s.CompletionText, mo)
			p := reward.Proposal{Group: gi, Span: m.Span, Reason: why, Words: m.Words}
			if why == task.Valid && g.SpanTokens != nil {
				p.Tokens = g.SpanTokens(m.Span)
			}
			props = append(props, p)
			masks = append(masks, m)
		}
	}
	reasons, _ := reward.ApplyGuards(cfg, props)
	for i := range props {
		props[i].Reason = reasons[i]
	}
	return props, masks
}

// StepMeta identifies a step's rows.
type StepMeta struct {
	RunID         string
	Step          int64
	PolicyVersion int64
}

// GeneratorGroupID and PredictionGroupID name the advantage groups.
func GeneratorGroupID(step int64, group int) string { return fmt.Sprintf("s%d/g%d", step, group) }

// PredictionGroupID names the prediction group of proposal sample j of
// generator group g.
func PredictionGroupID(step int64, group, sample int) string {
	return fmt.Sprintf("s%d/g%d/m%d", step, group, sample)
}

// StepRows scores a step and returns its rows (generator rows of each
// group, each followed by its mask's prediction rows) and its stats: the
// second half of a rollout step. preds[i] holds the prediction completions
// of proposal i (empty for invalid proposals).
func StepRows(meta StepMeta, cfg reward.Config, mo task.MaskOptions, groups []GenGroup,
	props []reward.Proposal, masks []task.Mask, preds [][]Sample) ([]Row, reward.StepStats, error) {
	if len(preds) != len(props) {
		return nil, reward.StepStats{}, fmt.Errorf("step %d: %d prediction lists for %d proposals", meta.Step, len(preds), len(props))
	}
	n := 0
	for _, g := range groups {
		n += len(g.Samples)
	}
	if n != len(props) || len(masks) != len(props) {
		return nil, reward.StepStats{}, fmt.Errorf("step %d: %d proposals and %d masks for %d generator samples", meta.Step, len(props), len(masks), n)
	}
	var pp []reward.Prediction
	var verdicts []task.Verdict
	for i, ps := range preds {
		if len(ps) > 0 && props[i].Reason != task.Valid {
			return nil, reward.StepStats{}, fmt.Errorf("step %d: proposal %d is invalid (%s) but has predictions", meta.Step, i, props[i].Reason)
		}
		for _, s := range ps {
			v := task.Verify(s.CompletionText, props[i].Span)
			pp = append(pp, reward.Prediction{Mask: i, Verdict: v})
			verdicts = append(verdicts, v)
		}
	}
	res, err := reward.Score(cfg, props, pp, mo.StopWordSet())
	if err != nil {
		return nil, reward.StepStats{}, fmt.Errorf("step %d: %w", meta.Step, err)
	}
	now := time.Now().UnixMilli()
	base := func(s Sample, role, group string, idx int, passageID string) Row {
		return Row{
			SchemaVersion: SchemaVersion, RunID: meta.RunID, Step: meta.Step, PolicyVersion: meta.PolicyVersion,
			Role: role, GroupID: group, SampleIndex: int32(idx), PassageID: passageID,
			PromptText: s.PromptText, PromptIDs: s.PromptIDs, CompletionText: s.CompletionText,
			CompletionIDs: s.CompletionIDs, OldLogprobs: s.OldLogprobs, SamplingLogprobs: s.SamplingLogprobs,
			FinishReason: s.FinishReason, GenerateSeconds: s.GenerateSeconds, CreatedUnixMs: now,
		}
	}
	var rows []Row
	i, k := 0, 0
	for gi, g := range groups {
		for j, s := range g.Samples {
			p, out := props[i], res.Gen[i]
			span, ok, _ := task.ParseLastCommand(s.CompletionText, task.MaskCommand)
			r := base(s, RoleGenerator, GeneratorGroupID(meta.Step, gi), j, g.PassageID)
			r.PassageText = g.PassageText
			r.Parsed, r.ParseOK = span, ok
			r.Valid, r.InvalidReason = p.Reason == task.Valid, p.Reason.String()
			r.Reward, r.Advantage, r.MaskAccuracy, r.Filtered = out.Reward, float32(out.Advantage), out.Accuracy, out.Filtered
			r.MaskWords, r.MaskTokens = int32(p.Words), int32(p.Tokens)
			if r.Valid {
				r.Occurrences = int32(masks[i].Occurrences())
				if len(preds[i]) > 0 {
					r.MaskGroupID = PredictionGroupID(meta.Step, gi, j)
				}
			}
			rows = append(rows, r)
			for pj, ps := range preds[i] {
				v, po := verdicts[k], res.Pred[k]
				pr := base(ps, RolePredictor, PredictionGroupID(meta.Step, gi, j), pj, g.PassageID)
				pr.Parsed, pr.ParseOK, pr.Valid = v.Answer, v.Parsed, true
				pr.Target, pr.Strict, pr.Normalised = p.Span, v.Strict, v.Normalised
				pr.Reward, pr.Advantage, pr.MaskAccuracy, pr.Filtered = po.Reward, float32(po.Advantage), out.Accuracy, po.Filtered
				pr.MaskWords, pr.MaskTokens, pr.Occurrences = int32(p.Words), int32(p.Tokens), r.Occurrences
				rows = append(rows, pr)
				k++
			}
			i++
		}
	}
	return rows, res.Stats, nil
}
