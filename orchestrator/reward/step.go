package reward

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

	"pz/orchestrator/stopwords"
	"pz/orchestrator/task"
)

// Config holds the reward, filter and guard settings of a run. It is stored
// in each trajectory file's metadata so pz verify can recompute the file.
type Config struct {
	// Eps is added to the group std of the z-score (default 1e-6).
	Eps float64 `json:"eps"`
	// FilterPredictorGroups: DAPO's filter; prediction groups whose accuracy
	// is exactly 0 or 1 are marked filtered.
	FilterPredictorGroups bool `json:"filter_predictor_groups"`
	// FilterGeneratorGroups: generator groups whose rewards are all equal
	// are marked filtered.
	FilterGeneratorGroups bool `json:"filter_generator_groups"`
	// RewardNormalised rewards the normalised verdict instead of the strict
	// one (strict is the paper's; both are always logged).
	RewardNormalised bool `json:"reward_normalised"`

	// Collapse guards (all off by default; counted in StepStats.Guards).

	// DedupWithinGroup marks a proposal invalid (duplicate_in_group) when an
	// earlier proposal of the same paragraph had the identical span: it gets
	// r_gen = 0 and no prediction prompts.
	DedupWithinGroup bool `json:"dedup_within_group"`
	// BatchCap keeps at most this many valid proposals of one span per
	// step, in proposal order; the rest become repeated_in_batch. 0 is off.
	BatchCap int `json:"batch_cap"`
	// RepeatPenalty is subtracted from a valid proposal's r_gen for each
	// other valid proposal of the same span in the step (r_gen may go
	// negative). 0 is off.
	RepeatPenalty float64 `json:"repeat_penalty"`
	// GeneratorEntropyBonus is the coefficient of an entropy bonus on
	// generator completions (`--generator-entropy-coef`). It is applied by
	// the learner (learn.Sample.EntropyCoef on generator rows), not here;
	// it is recorded with the rest of the config.
	GeneratorEntropyBonus float64 `json:"generator_entropy_bonus"`
}

// DefaultConfig is the paper's recipe: DAPO filtering, strict exact match,
// no guards.
func DefaultConfig() Config {
	return Config{Eps: DefaultEps, FilterPredictorGroups: true, FilterGeneratorGroups: true}
}

// Proposal is one generator completion after validation.
type Proposal struct {
	Group  int                // generator group (paragraph) within the step
	Span   string             // the trimmed span ("" when not parsed)
	Reason task.InvalidReason // task.Valid when usable
	Words  int                // words in the span
	Tokens int                // tokens in the span, when the caller knows them (0 otherwise)
}

// GuardCounts count what the collapse guards did in a step.
type GuardCounts struct {
	Duplicates      int `json:"duplicates_in_group"`
	BatchCapped     int `json:"batch_capped"`
	Penalised       int `json:"penalised"`
	StopWordsOnly   int `json:"stop_words_only_rejected"`
	TooLongRejected int `json:"too_long_rejected"`
}

// ApplyGuards applies the dedup and batch-cap guards to a step's proposals,
// in order, and returns each proposal's reason afterwards (a new slice; the
// input is not changed) with the counts. Call it before creating prediction
// prompts: proposals it invalidates get none.
func ApplyGuards(cfg Config, props []Proposal) ([]task.InvalidReason, GuardCounts) {
	reasons := make([]task.InvalidReason, len(props))
	var gc GuardCounts
	type key struct {
		group int
		span  string
	}
	seen := map[key]bool{}
	perSpan := map[string]int{}
	for i, p := range props {
		reasons[i] = p.Reason
		if p.Reason != task.Valid {
			continue
		}
		if cfg.DedupWithinGroup {
			k := key{p.Group, p.Span}
			if seen[k] {
				reasons[i] = task.DuplicateInGroup
				gc.Duplicates++
				continue
			}
			seen[k] = true
		}
		if cfg.BatchCap > 0 {
			if perSpan[p.Span] >= cfg.BatchCap {
				reasons[i] = task.RepeatedInBatch
				gc.BatchCapped++
				continue
			}
			perSpan[p.Span]++
		}
	}
	return reasons, gc
}

// Prediction is one predictor completion's verdict on proposal Mask.
type Prediction struct {
	Mask    int // index into the step's proposals
	Verdict task.Verdict
}

// GenOutcome is a proposal's scored result.
type GenOutcome struct {
	Correct            int     // strict-correct predictions (or normalised when rewarded)
	Predictions        int     // predictions of this mask
	Accuracy           float64 // mean predictor reward; 0 without predictions
	AccuracyStrict     float64
	AccuracyNormalised float64
	Penalty            float64 // RepeatPenalty applied
	Reward             float64
	Advantage          float64
	Filtered           bool
}

// PredOutcome is a prediction's scored result.
type PredOutcome struct {
	Reward    float64
	Advantage float64
	Filtered  bool
}

// Result is a scored step.
type Result struct {
	Gen   []GenOutcome
	Pred  []PredOutcome
	Stats StepStats
}

// Score computes rewards, advantages and filters of a step. props must
// already carry the guards' reasons (ApplyGuards). A prediction of an
// out-of-range or invalid proposal is an error. stop (nil for the committed
// English list) is used for the stop-word statistics only.
func Score(cfg Config, props []Proposal, preds []Prediction, stop *stopwords.Set) (Result, error) {
	if stop == nil {
		stop = stopwords.English()
	}
	res := Result{Gen: make([]GenOutcome, len(props)), Pred: make([]PredOutcome, len(preds))}
	byMask := map[int][]int{}
	for i, p := range preds {
		if p.Mask < 0 || p.Mask >= len(props) {
			return Result{}, fmt.Errorf("prediction %d: mask %d out of range [0,%d)", i, p.Mask, len(props))
		}
		if props[p.Mask].Reason != task.Valid {
			return Result{}, fmt.Errorf("prediction %d: mask %d is invalid (%s)", i, p.Mask, props[p.Mask].Reason)
		}
		byMask[p.Mask] = append(byMask[p.Mask], i)
		res.Pred[i].Reward = PredictorReward(p.Verdict.Correct(cfg.RewardNormalised))
	}
	st := newStats()
	// Prediction groups.
	masks := make([]int, 0, len(byMask))
	for m := range byMask {
		masks = append(masks, m)
	}
	slices.Sort(masks)
	for _, m := range masks {
		idx := byMask[m]
		rs := make([]float64, len(idx))
		g := &res.Gen[m]
		var strict, norm int
		for k, i := range idx {
			rs[k] = res.Pred[i].Reward
			if preds[i].Verdict.Strict {
				strict++
			}
			if preds[i].Verdict.Normalised {
				norm++
			}
			if !preds[i].Verdict.Parsed {
				st.UnparsedAnswers++
			}
		}
		g.Predictions = len(idx)
		g.Accuracy = Mean(rs)
		for _, r := range rs {
			if r == 1 {
				g.Correct++
			}
		}
		g.AccuracyStrict = float64(strict) / float64(len(idx))
		g.AccuracyNormalised = float64(norm) / float64(len(idx))
		st.strictCorrect += strict
		st.normCorrect += norm
		adv := GroupAdvantages(rs, cfg.Eps)
		filtered := cfg.FilterPredictorGroups && PredictorGroupFiltered(g.Accuracy)
		for k, i := range idx {
			res.Pred[i].Advantage = adv[k]
			res.Pred[i].Filtered = filtered
			if filtered {
				res.Pred[i].Advantage = 0
			}
		}
		st.Predictor.add(rs, filtered)
		st.AccuracyHist[strconv.Itoa(g.Correct)+"/"+strconv.Itoa(len(idx))]++
	}
	// Generator rewards, penalties and groups.
	spanCount := map[string]int{}
	for _, p := range props {
		if p.Reason == task.Valid {
			spanCount[p.Span]++
		}
	}
	groups := map[int][]int{}
	for i, p := range props {
		groups[p.Group] = append(groups[p.Group], i)
		g := &res.Gen[i]
		if p.Reason != task.Valid {
			st.Invalid[p.Reason.String()]++
			switch p.Reason {
			case task.StopWordsOnly:
				st.Guards.StopWordsOnly++
			case task.TooLong:
				st.Guards.TooLongRejected++
			case task.DuplicateInGroup:
				st.Guards.Duplicates++
			case task.RepeatedInBatch:
				st.Guards.BatchCapped++
			}
			continue
		}
		g.Reward = GeneratorReward(g.Accuracy)
		if cfg.RepeatPenalty != 0 && spanCount[p.Span] > 1 {
			g.Penalty = cfg.RepeatPenalty * float64(spanCount[p.Span]-1)
			g.Reward -= g.Penalty
			st.Guards.Penalised++
		}
		st.ValidMasks++
		st.wordSum += p.Words
		st.tokenSum += p.Tokens
		if stop.OnlyStopWords(p.Span) {
			st.StopWordSpans++
		}
	}
	gids := make([]int, 0, len(groups))
	for g := range groups {
		gids = append(gids, g)
	}
	slices.Sort(gids)
	for _, gid := range gids {
		idx := groups[gid]
		rs := make([]float64, len(idx))
		for k, i := range idx {
			rs[k] = res.Gen[i].Reward
		}
		adv := GroupAdvantages(rs, cfg.Eps)
		filtered := cfg.FilterGeneratorGroups && GeneratorGroupFiltered(rs)
		for k, i := range idx {
			res.Gen[i].Advantage = adv[k]
			res.Gen[i].Filtered = filtered
			if filtered {
				res.Gen[i].Advantage = 0
			}
		}
		st.Generator.add(rs, filtered)
	}
	st.Proposals = len(props)
	st.finish(spanCount, len(preds))
	res.Stats = st
	return res, nil
}

// RoleStats summarise one role's rows in a step.
type RoleStats struct {
	Rows           int     `json:"rows"`
	Groups         int     `json:"groups"`
	FilteredGroups int     `json:"filtered_groups"`
	FilteredRows   int     `json:"filtered_rows"`
	RewardMean     float64 `json:"reward_mean"`
	rewardSum      float64
}

func (r *RoleStats) add(rewards []float64, filtered bool) {
	r.Rows += len(rewards)
	r.Groups++
	if filtered {
		r.FilteredGroups++
		r.FilteredRows += len(rewards)
	}
	for _, x := range rewards {
		r.rewardSum += x
	}
	if r.Rows > 0 {
		r.RewardMean = r.rewardSum / float64(r.Rows)
	}
}

// SpanCount is a span and how many valid proposals had it.
type SpanCount struct {
	Span  string `json:"span"`
	Count int    `json:"count"`
}

// StepStats is what the train loop logs per step (JSON).
type StepStats struct {
	Generator RoleStats `json:"generator"`
	Predictor RoleStats `json:"predictor"`

	Proposals   int            `json:"proposals"`
	ValidMasks  int            `json:"valid_masks"`
	InvalidRate float64        `json:"invalid_rate"`
	Invalid     map[string]int `json:"invalid_by_reason"`

	// AccuracyHist counts masks by "correct/predictions" (e.g. "3/8").
	AccuracyHist       map[string]int `json:"accuracy_hist"`
	StrictAccuracy     float64        `json:"strict_accuracy"`
	NormalisedAccuracy float64        `json:"normalised_accuracy"`
	UnparsedAnswers    int            `json:"unparsed_answers"`

	StopWordSpans  int         `json:"stop_word_spans"`
	StopWordShare  float64     `json:"stop_word_share"` // over valid masks
	DistinctSpans  int         `json:"distinct_spans"`  // over valid masks
	TopSpans       []SpanCount `json:"top_spans"`       // the 5 most frequent valid spans
	MaskWordsMean  float64     `json:"mask_words_mean"`
	MaskTokensMean float64     `json:"mask_tokens_mean"`
	Guards         GuardCounts `json:"guards"`

	wordSum, tokenSum          int
	strictCorrect, normCorrect int
}

func newStats() StepStats {
	return StepStats{Invalid: map[string]int{}, AccuracyHist: map[string]int{}}
}

func (s *StepStats) finish(spanCount map[string]int, preds int) {
	if s.Proposals > 0 {
		s.InvalidRate = float64(s.Proposals-s.ValidMasks) / float64(s.Proposals)
	}
	if preds > 0 {
		s.StrictAccuracy = float64(s.strictCorrect) / float64(preds)
		s.NormalisedAccuracy = float64(s.normCorrect) / float64(preds)
	}
	if s.ValidMasks > 0 {
		s.StopWordShare = float64(s.StopWordSpans) / float64(s.ValidMasks)
		s.MaskWordsMean = float64(s.wordSum) / float64(s.ValidMasks)
		s.MaskTokensMean = float64(s.tokenSum) / float64(s.ValidMasks)
	}
	s.DistinctSpans = len(spanCount)
	top := make([]SpanCount, 0, len(spanCount))
	for sp, n := range spanCount {
		top = append(top, SpanCount{sp, n})
	}
	slices.SortFunc(top, func(a, b SpanCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Span, b.Span))
	})
	if len(top) > 5 {
		top = top[:5]
	}
	s.TopSpans = top
}
