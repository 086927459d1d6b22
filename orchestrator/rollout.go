package orchestrator

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"pz/data"
	"pz/orchestrator/reward"
	"pz/orchestrator/sample"
	"pz/orchestrator/task"
	"pz/orchestrator/traj"
)

// Tokenizer is what rollouts need from a tokenizer.
type Tokenizer interface {
	// EncodeSpecial encodes a prompt, matching added tokens as Hugging Face
	// does by default.
	EncodeSpecial(text string) []int32
	// Encode encodes plain text (no added token recognised).
	Encode(text string) []int32
	Decode(ids []int32) (string, error)
}

// Mode selects the masking strategy: PretrainZero's two-role game or one
// of the baselines the paper compares against (METHOD.md §2.4).
type Mode string

// Rollout modes.
const (
	ModePretrainZero Mode = "pretrainzero" // generator proposes masks, predictor answers
	ModeRandomSpan   Mode = "random-span"  // Random RLPT: SpanBERT-style random word spans
	ModeRandomNTP    Mode = "random-ntp"   // random next-token reasoning (RPT prompt)
	ModeEntropyNTP   Mode = "entropy-ntp"  // next token at a top-20%-entropy position
)

// ParseMode validates a mode name.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModePretrainZero, ModeRandomSpan, ModeRandomNTP, ModeEntropyNTP:
		return m, nil
	}
	return "", fmt.Errorf("mode %q (want pretrainzero, random-span, random-ntp or entropy-ntp)", s)
}

// RolloutOptions configure a Rollout.
type RolloutOptions struct {
	Mode          Mode
	GenSamples    int // generator completions per paragraph (G_g)
	PredSamples   int // predictor completions per mask (G_p)
	GenSampling   sample.Options
	PredSampling  sample.Options
	GenMaxTokens  int
	PredMaxTokens int
	// MaxPromptTokens skips a passage whose prompt is longer (counted).
	MaxPromptTokens int
	Templates       task.Templates
	Mask            task.MaskOptions
	// OneOccurrence masks one occurrence of the span instead of all.
	OneOccurrence bool
	Reward        reward.Config
	// Span configures the random-span baseline.
	Span data.WordSpanOptions
	// BaselineMasks is the masks (random spans, truncation points) a
	// baseline draws per paragraph; 0 means GenSamples, so that a baseline
	// step has as many masks, and predictions, as a PretrainZero step.
	BaselineMasks int
	// NTPMinPrefix is the least context, in tokens, of next-token modes.
	NTPMinPrefix int
	// NTPReward is the next-token modes' verifier: NTPExact (default, the
	// paper's Eq. 5 for all three baselines: the boxed answer equals the
	// next token, with the span tasks' whitespace trimming and, under
	// Reward.RewardNormalised, their normalisation) or NTPPrefix (RPT's
	// prefix match against the continuation, byte-exact).
	NTPReward string
	// SpanLabels, when set (a corpus with known ground truth, pz data
	// synth), classify each valid mask by kind in StepResult.SpanKinds.
	SpanLabels data.SpanLabels
	Seed       uint64
	RunID      string
}

// DefaultRolloutOptions are the paper's settings (8 × 8 samples, its
// prompts, DAPO filtering) with sampling at temperature 1.
func DefaultRolloutOptions() RolloutOptions {
	return RolloutOptions{
		Mode: ModePretrainZero, GenSamples: 8, PredSamples: 8,
		GenSampling: sample.Options{Temperature: 1}, PredSampling: sample.Options{Temperature: 1},
		GenMaxTokens: 512, PredMaxTokens: 512, MaxPromptTokens: 1536,
		Templates: task.DefaultTemplates(), Mask: task.DefaultMaskOptions(), Reward: reward.DefaultConfig(),
		NTPMinPrefix: 16,
	}
}

// Rollout runs the rollout stage of one step: generation, validation,
// prediction, verification, rewards and advantages.
type Rollout struct {
	eng  Engine
	tok  Tokenizer
	opts RolloutOptions
}

// NewRollout checks the options.
func NewRollout(eng Engine, tok Tokenizer, opts RolloutOptions) (*Rollout, error) {
	if _, err := ParseMode(string(opts.Mode)); err != nil {
		return nil, err
	}
	if err := opts.Templates.Validate(); err != nil {
		return nil, err
	}
	if opts.PredSamples < 1 || (opts.Mode == ModePretrainZero && opts.GenSamples < 1) {
		return nil, fmt.Errorf("rollout: gen-samples and pred-samples must be >= 1")
	}
	if r := opts.NTPReward; r != "" && r != NTPExact && r != NTPPrefix {
		return nil, fmt.Errorf("rollout: --ntp-reward %q (want %s or %s)", r, NTPExact, NTPPrefix)
	}
	if opts.GenMaxTokens < 1 || opts.PredMaxTokens < 1 {
		return nil, fmt.Errorf("rollout: max new tokens must be >= 1")
	}
	for _, s := range []sample.Options{opts.GenSampling, opts.PredSampling} {
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("rollout: %w", err)
		}
	}
	return &Rollout{eng: eng, tok: tok, opts: opts}, nil
}

// Options returns the options.
func (r *Rollout) Options() RolloutOptions { return r.opts }

// FileMetadata is the key-value metadata a trajectory file of this
// rollout carries, so pz verify can recompute it.
func (r *Rollout) FileMetadata() map[string]string {
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	return map[string]string{
		traj.MetaRunID: r.opts.RunID, traj.MetaRewardConfig: js(r.opts.Reward),
		traj.MetaMaskOptions: js(r.opts.Mask), traj.MetaTemplates: js(r.opts.Templates),
		traj.MetaAllOccurrence: fmt.Sprint(!r.opts.OneOccurrence), "pz.mode": string(r.opts.Mode),
		traj.MetaNTPReward: r.opts.ntpReward(),
	}
}

// StepResult is one step's rollout.
type StepResult struct {
	Rows  []traj.Row
	Stats reward.StepStats
	// Skipped counts passages left out, by reason.
	Skipped map[string]int
	// Timings in seconds.
	GenSeconds, PredSeconds, VerifySeconds float64
	// Generated tokens (both roles) and completions.
	Tokens, Completions int
	// Response lengths in tokens, per role (mean).
	GenLength, PredLength float64
	// Masks that got predictions (valid proposals, random spans,
	// truncation points), and the predictions.
	Masks, Predictions int
	// SpanKinds counts valid masks by labelled kind (nil without
	// RolloutOptions.SpanLabels).
	SpanKinds map[string]SpanKindStats
}

// seed derives a per-item seed from the run seed, so results do not
// depend on batch composition.
func (r *Rollout) seed(step int64, role, i, j int) uint64 {
	x := r.opts.Seed ^ uint64(step)*0x9E3779B97F4A7C15 ^ uint64(role)<<56 ^ uint64(i)<<24 ^ uint64(j)
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	return x
}

// decode turns ids into the text that is both stored and verified: a
// completion cut inside a multi-byte character gets U+FFFD for the
// partial bytes, so a re-audit of the stored text reaches the same verdict.
func (r *Rollout) decode(ids []int32) string {
	s, err := r.tok.Decode(ids)
	if err != nil {
		return ""
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// target of one prediction group.
type target struct {
	passage  int
	span     string
	masked   string // the prompt's text (masked paragraph or context)
	cont     string // next-token modes: the true continuation
	bounds   []int  // next-token modes: token boundaries in cont (bytes)
	genRow   int    // index of the generator row, -1 for baselines
	occ      int
	promptID []int32
}

// Step rolls out one step over passages with the engine's current policy
// (version policyVersion).
func (r *Rollout) Step(ctx context.Context, step, policyVersion int64, passages []data.Passage) (*StepResult, error) {
	res := &StepResult{Skipped: map[string]int{}}
	o := r.opts
	now := time.Now().UnixMilli()
	base := func(role, group string, idx int, p data.Passage) traj.Row {
		return traj.Row{SchemaVersion: traj.SchemaVersion, RunID: o.RunID, Step: step, PolicyVersion: policyVersion,
			Role: role, GroupID: group, SampleIndex: int32(idx), PassageID: p.ID, CreatedUnixMs: now}
	}
	var props []reward.Proposal
	var at []spanAt // where each proposal lies, for SpanKinds
	var targets []target
	var genRows []traj.Row

	switch o.Mode {
	case ModePretrainZero:
		t0 := time.Now()
		var reqs []GenRequest
		var used []int
		for i, p := range passages {
			prompt := r.tok.EncodeSpecial(o.Templates.GenerationPrompt(p.Text))
			if o.MaxPromptTokens > 0 && len(prompt) > o.MaxPromptTokens {
				res.Skipped["prompt_too_long"]++
				continue
			}
			used = append(used, i)
			reqs = append(reqs, GenRequest{Prompt: prompt, N: o.GenSamples, Seed: r.seed(step, 0, i, 0),
				Sampling: o.GenSampling, MaxNewTokens: o.GenMaxTokens})
		}
		out, err := r.eng.Generate(ctx, reqs)
		if err != nil {
			return nil, fmt.Errorf("rollout step %d: generation: %w", step, err)
		}
		res.GenSeconds = time.Since(t0).Seconds()
		for k, i := range used {
			p := passages[i]
			group := fmt.Sprintf("s%d/p%d", step, i)
			for j, c := range out[k].Completions {
				text := r.decode(c.IDs)
				m, why := task.ValidateCompletion(p.Text, text, o.Mask)
				parsed, ok, _ := task.ParseLastCommand(text, task.MaskCommand)
				row := base(traj.RoleGenerator, group, j, p)
				row.PassageText = p.Text
				row.PromptText = o.Templates.GenerationPrompt(p.Text)
				row.PromptIDs = reqs[k].Prompt
				fillCompletion(&row, c, text)
				row.Parsed, row.ParseOK = parsed, ok
				row.MaskWords, row.Occurrences = int32(m.Words), int32(m.Occurrences())
				if why == task.Valid {
					row.MaskTokens = int32(len(r.tok.Encode(m.Span)))
				}
				row.GenerateSeconds = float32(res.GenSeconds)
				genRows = append(genRows, row)
				props = append(props, reward.Proposal{Group: i, Span: m.Span, Reason: why, Words: m.Words, Tokens: int(row.MaskTokens)})
				at = append(at, spanAt{-1, -1})
				if len(m.Starts) > 0 {
					at[len(at)-1] = spanAt{m.Starts[0], m.Starts[0] + len(m.Span)}
				}
				res.Tokens += len(c.IDs)
				res.Completions++
				res.GenLength += float64(len(c.IDs))
			}
		}
		if n := len(genRows); n > 0 {
			res.GenLength /= float64(n)
		}
		reasons, _ := reward.ApplyGuards(o.Reward, props)
		for i := range props {
			props[i].Reason = reasons[i]
			genRows[i].Valid = reasons[i] == task.Valid
			if !genRows[i].Valid {
				genRows[i].InvalidReason = reasons[i].String()
				continue
			}
			p := passages[props[i].Group]
			m, _ := task.ValidateMask(p.Text, props[i].Span, o.Mask)
			rng := rand.New(rand.NewPCG(r.seed(step, 2, i, 0), 1))
			masked := task.MaskParagraph(p.Text, m, !o.OneOccurrence, rng)
			targets = append(targets, target{passage: props[i].Group, span: m.Span, masked: masked, genRow: i, occ: m.Occurrences()})
		}
	case ModeRandomSpan:
		for i, p := range passages {
			for j := range o.baselineMasks() {
				rng := rand.New(rand.NewPCG(r.seed(step, 3, i, j), 3))
				sp, ok := data.RandomWordSpan(rng, p.Text, o.Span)
				if !ok {
					res.Skipped["no_words"]++
					continue
				}
				m, why := task.ValidateMask(p.Text, sp.Text, o.Mask)
				if why != task.Valid {
					res.Skipped["span_"+why.String()]++
					continue
				}
				masked := task.MaskParagraph(p.Text, m, !o.OneOccurrence, rng)
				props = append(props, reward.Proposal{Group: i, Span: m.Span, Reason: task.Valid, Words: m.Words})
				at = append(at, spanAt{sp.Start, sp.End})
				targets = append(targets, target{passage: i, span: m.Span, masked: masked, genRow: -1, occ: m.Occurrences()})
			}
		}
	case ModeRandomNTP, ModeEntropyNTP:
		var ents []ScoreResult
		toks := make([][]int32, len(passages))
		for i, p := range passages {
			toks[i] = r.tok.Encode(p.Text)
		}
		if o.Mode == ModeEntropyNTP {
			t0 := time.Now()
			reqs := make([]ScoreRequest, len(passages))
			for i := range passages {
				reqs[i] = ScoreRequest{IDs: toks[i], From: 1, Entropy: true}
			}
			var err error
			if ents, err = r.eng.Score(ctx, reqs); err != nil {
				return nil, fmt.Errorf("rollout step %d: entropy scoring: %w", step, err)
			}
			res.GenSeconds = time.Since(t0).Seconds()
		}
		for i, j := range baselineDraws(len(passages), o.baselineMasks()) {
			rng := rand.New(rand.NewPCG(r.seed(step, 4, i, j), 4))
			var t int
			var ok bool
			if o.Mode == ModeRandomNTP {
				t, ok = data.RandomTruncation(rng, len(toks[i]), o.NTPMinPrefix)
			} else {
				e := make([]float32, len(toks[i]))
				for k := range e {
					if k == 0 || k-1 >= len(ents[i].Entropy) {
						e[k] = float32(0)
						continue
					}
					e[k] = ents[i].Entropy[k-1] // entropy of predicting token k
				}
				t, ok = data.EntropyPosition(rng, e, 0.2, o.NTPMinPrefix)
			}
			if !ok {
				res.Skipped["too_short"]++
				continue
			}
			ctxText := r.decode(toks[i][:t])
			cont := r.decode(toks[i][t:])
			var bounds []int
			for k := t + 1; k <= min(len(toks[i]), t+8); k++ {
				bounds = append(bounds, len(r.decode(toks[i][t:k])))
			}
			first := r.decode(toks[i][t : t+1])
			props = append(props, reward.Proposal{Group: i, Span: first, Reason: task.Valid, Words: 1, Tokens: 1})
			at = append(at, spanAt{len(ctxText), len(ctxText) + len(first)})
			targets = append(targets, target{passage: i, span: first, masked: ctxText, cont: cont, bounds: bounds, genRow: -1})
		}
	}

	// Predictions: G_p answers per target.
	t1 := time.Now()
	var reqs []GenRequest
	var live []int
	for k, tg := range targets {
		var text string
		if o.Mode == ModeRandomNTP || o.Mode == ModeEntropyNTP {
			text = o.Templates.NextTokenPrompt(tg.masked)
		} else {
			text = o.Templates.PredictionPrompt(tg.masked)
		}
		ids := r.tok.EncodeSpecial(text)
		if o.MaxPromptTokens > 0 && len(ids) > o.MaxPromptTokens {
			res.Skipped["prediction_prompt_too_long"]++
			continue
		}
		targets[k].promptID = ids
		live = append(live, k)
		reqs = append(reqs, GenRequest{Prompt: ids, N: o.PredSamples, Seed: r.seed(step, 1, k, 0),
			Sampling: o.PredSampling, MaxNewTokens: o.PredMaxTokens})
	}
	out, err := r.eng.Generate(ctx, reqs)
	if err != nil {
		return nil, fmt.Errorf("rollout step %d: prediction: %w", step, err)
	}
	res.PredSeconds = time.Since(t1).Seconds()

	t2 := time.Now()
	propOf := make([]int, len(targets)) // target → proposal index
	{
		// Targets were created in proposal order, one per valid proposal.
		k := 0
		for i, p := range props {
			if p.Reason == task.Valid && k < len(targets) {
				propOf[k] = i
				k++
			}
		}
	}
	var preds []reward.Prediction
	var predRows []traj.Row
	predCount := 0
	for q, k := range live {
		tg := targets[k]
		p := passages[tg.passage]
		group := fmt.Sprintf("s%d/p%d/m%d", step, tg.passage, propOf[k])
		if tg.genRow >= 0 {
			genRows[tg.genRow].MaskGroupID = group
		}
		for j, c := range out[q].Completions {
			text := r.decode(c.IDs)
			var v task.Verdict
			if o.ntpReward() == NTPPrefix && (o.Mode == ModeRandomNTP || o.Mode == ModeEntropyNTP) {
				ans, ok, why := task.ParseLastCommand(text, task.BoxedCommand)
				v = task.Verdict{Answer: ans, Parsed: ok, Failure: why}
				v.Strict = ok && task.PrefixMatch(ans, tg.cont, tg.bounds)
				v.Normalised = v.Strict
			} else {
				v = task.Verify(text, tg.span)
			}
			preds = append(preds, reward.Prediction{Mask: propOf[k], Verdict: v})
			row := base(traj.RolePredictor, group, j, p)
			row.PromptText = o.Templates.PredictionPrompt(tg.masked)
			if o.Mode == ModeRandomNTP || o.Mode == ModeEntropyNTP {
				row.PromptText = o.Templates.NextTokenPrompt(tg.masked)
			}
			row.PromptIDs = tg.promptID
			fillCompletion(&row, c, text)
			row.Parsed, row.ParseOK = v.Answer, v.Parsed
			row.Valid = true
			row.Target = tg.span
			row.Strict, row.Normalised = v.Strict, v.Normalised
			row.Occurrences = int32(tg.occ)
			row.MaskWords = int32(props[propOf[k]].Words)
			row.GenerateSeconds = float32(res.PredSeconds)
			predRows = append(predRows, row)
			res.Tokens += len(c.IDs)
			res.Completions++
			res.PredLength += float64(len(c.IDs))
			predCount++
		}
	}
	if predCount > 0 {
		res.PredLength /= float64(predCount)
	}
	res.Masks, res.Predictions = len(live), predCount
	// Proposals whose prediction prompt was skipped get no predictions:
	// mark them invalid so Score gives them r_gen = 0.
	hasPred := map[int]bool{}
	for _, p := range preds {
		hasPred[p.Mask] = true
	}
	for i := range props {
		if props[i].Reason == task.Valid && !hasPred[i] {
			props[i].Reason = task.PredictionPromptTooLong
			if o.Mode == ModePretrainZero {
				genRows[i].Valid, genRows[i].InvalidReason = false, task.PredictionPromptTooLong.String()
			}
		}
	}
	sc, err := reward.Score(o.Reward, props, preds, o.Mask.StopWordSet())
	if err != nil {
		return nil, fmt.Errorf("rollout step %d: scoring: %w", step, err)
	}
	for i := range genRows {
		g := sc.Gen[i]
		genRows[i].Reward, genRows[i].Advantage, genRows[i].Filtered = g.Reward, float32(g.Advantage), g.Filtered
		genRows[i].MaskAccuracy = g.Accuracy
	}
	for i := range predRows {
		pr := sc.Pred[i]
		predRows[i].Reward, predRows[i].Advantage, predRows[i].Filtered = pr.Reward, float32(pr.Advantage), pr.Filtered
		predRows[i].MaskAccuracy = sc.Gen[preds[i].Mask].Accuracy
	}
	res.SpanKinds = countSpanKinds(o.SpanLabels, passages, props, at, sc.Gen)
	res.VerifySeconds = time.Since(t2).Seconds()
	res.Rows = append(genRows, predRows...)
	res.Stats = sc.Stats
	if o.Mode != ModePretrainZero {
		// Baselines have no generator rows: their synthetic proposals
		// must not count as a generator role.
		res.Stats.Generator = reward.RoleStats{}
	}
	return res, nil
}

func fillCompletion(row *traj.Row, c Completion, text string) {
	row.CompletionText = text
	row.CompletionIDs = c.IDs
	row.OldLogprobs = c.PolicyLogProbs
	row.SamplingLogprobs = c.SampleLogProbs
	row.FinishReason = string(c.Finish)
	row.ServedVersion = c.ServedVersion
	row.LogprobsRecomputed = c.LogProbsRecomputed
}
