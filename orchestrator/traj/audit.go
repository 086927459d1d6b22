package traj

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"pz/orchestrator/bench"
	"pz/orchestrator/reward"
	"pz/orchestrator/task"
)

// ErrNoFiles is returned when the inputs match no file.
var ErrNoFiles = errors.New("no trajectory files")

// AuditOptions configure Audit.
type AuditOptions struct {
	Inputs []string // files, directories (their *.parquet) or globs
	// Reward and Mask replace the settings stored in the files' metadata
	// (used when a file has none: DefaultConfig / DefaultMaskOptions).
	Reward *reward.Config
	Mask   *task.MaskOptions
	// MaxExamples bounds the mismatches kept in the report (default 50).
	MaxExamples int
	Log         *slog.Logger
}

// Mismatch is one stored value that differs from its recomputation.
type Mismatch struct {
	File       string `json:"file"`
	Row        int    `json:"row"` // 0-based index in the file
	GroupID    string `json:"group_id"`
	Role       string `json:"role"`
	Field      string `json:"field"`
	Stored     string `json:"stored"`
	Recomputed string `json:"recomputed"`
}

func (m Mismatch) String() string {
	return fmt.Sprintf("%s row %d (group %s, %s): %s stored %s, recomputed %s", m.File, m.Row, m.GroupID, m.Role, m.Field, m.Stored, m.Recomputed)
}

// RoleSummary aggregates one role over the audited files.
type RoleSummary struct {
	Rows           int     `json:"rows"`
	Groups         int     `json:"groups"`
	FilteredGroups int     `json:"filtered_groups"`
	FilteredRows   int     `json:"filtered_rows"`
	RewardMean     float64 `json:"reward_mean"`
	TruncatedRows  int     `json:"truncated_rows"` // finish_reason "length"
	rewardSum      float64
}

// AuditReport is what Audit found.
type AuditReport struct {
	Files        int            `json:"files"`
	Rows         int            `json:"rows"`
	Steps        int            `json:"steps"`
	BadRows      int            `json:"bad_rows"` // rows with at least one mismatch
	Mismatches   int            `json:"mismatches"`
	Examples     []Mismatch     `json:"examples"`
	MismatchedBy map[string]int `json:"mismatches_by_field"`

	Generator RoleSummary `json:"generator"`
	Predictor RoleSummary `json:"predictor"`

	Proposals          int                `json:"proposals"`
	ValidMasks         int                `json:"valid_masks"`
	Invalid            map[string]int     `json:"invalid_by_reason"`
	AccuracyHist       map[string]int     `json:"accuracy_hist"`
	MaskWordsHist      map[int]int        `json:"mask_words_hist"`
	MaskTokensMean     float64            `json:"mask_tokens_mean"`
	StopWordSpans      int                `json:"stop_word_spans"`
	StrictAccuracy     float64            `json:"strict_accuracy"`
	NormalisedAccuracy float64            `json:"normalised_accuracy"`
	UnparsedAnswers    int                `json:"unparsed_answers"`
	Guards             reward.GuardCounts `json:"guards"`

	tokenSum              int
	preds, strictN, normN int
	bad                   map[[2]int]bool
}

// OK reports whether every row matched its recomputation.
func (r *AuditReport) OK() bool { return r.Mismatches == 0 }

// ExpandInputs resolves files, directories (their *.parquet, sorted) and
// globs into a sorted, de-duplicated file list.
func ExpandInputs(inputs []string) ([]string, error) {
	var files []string
	for _, in := range inputs {
		st, err := os.Stat(in)
		switch {
		case err == nil && st.IsDir():
			m, _ := filepath.Glob(filepath.Join(in, "*.parquet"))
			files = append(files, m...)
		case err == nil:
			files = append(files, in)
		default:
			m, gerr := filepath.Glob(in)
			if gerr != nil {
				return nil, fmt.Errorf("input %q: %w", in, gerr)
			}
			if len(m) == 0 {
				return nil, fmt.Errorf("input %q: %w", in, ErrNoFiles)
			}
			files = append(files, m...)
		}
	}
	slices.Sort(files)
	files = slices.Compact(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("inputs %v: %w", inputs, ErrNoFiles)
	}
	return files, nil
}

// auditRow is the part of a row the audit needs, with its origin.
type auditRow struct {
	Row
	file  int
	index int
}

type stepKey struct {
	run  string
	step int64
}

type fileSettings struct {
	cfg  reward.Config
	mask task.MaskOptions
	mode string
	// ntpExact: next-token rows were verified by exact match (recomputed
	// here); otherwise by RPT's prefix match, which needs the continuation
	// the file does not hold, so the stored verdict is taken.
	ntpExact bool
	// bench is the verifier of an RLVR file (MetaBench), "" otherwise.
	bench bench.Kind
}

// ntp reports a next-token baseline mode, whose verdicts (RPT's prefix
// match against the true continuation) cannot be recomputed from a row.
func (s fileSettings) ntp() bool { return strings.HasSuffix(s.mode, "-ntp") }

// Audit re-parses and re-scores every row of the input trajectory files from
// their text, recomputes rewards, advantages and filters step by step (rows
// of one run and step are scored together, across files, in file order) and
// reports every stored value that differs. Reward and mask settings come
// from each file's metadata unless opts overrides them.
func Audit(ctx context.Context, opts AuditOptions) (*AuditReport, error) {
	if opts.MaxExamples == 0 {
		opts.MaxExamples = 50
	}
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	files, err := ExpandInputs(opts.Inputs)
	if err != nil {
		return nil, err
	}
	rep := &AuditReport{
		Files: len(files), MismatchedBy: map[string]int{}, Invalid: map[string]int{},
		AccuracyHist: map[string]int{}, MaskWordsHist: map[int]int{}, bad: map[[2]int]bool{},
	}
	steps := map[stepKey][]auditRow{}
	var order []stepKey
	settings := make([]fileSettings, len(files))
	for fi, path := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r, err := Open(path)
		if err != nil {
			return nil, err
		}
		settings[fi], err = readSettings(r, opts)
		if err != nil {
			r.Close()
			return nil, err
		}
		if r.NumRows() == 0 {
			log.Warn("verify: empty trajectory file", "file", path)
		}
		buf := make([]Row, 256)
		idx := 0
		for {
			n, rerr := r.Read(buf)
			for _, row := range buf[:n] {
				row.PromptIDs, row.SamplingLogprobs, row.RefLogprobs = nil, nil, nil
				row.PromptText = ""
				rep.checkShape(files, auditRow{row, fi, idx}, opts.MaxExamples)
				row.CompletionIDs, row.OldLogprobs, row.LossMask = nil, nil, nil
				k := stepKey{row.RunID, row.Step}
				if _, ok := steps[k]; !ok {
					order = append(order, k)
				}
				steps[k] = append(steps[k], auditRow{row, fi, idx})
				idx++
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				r.Close()
				return nil, rerr
			}
		}
		r.Close()
		rep.Rows += idx
	}
	for _, k := range order {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rows := steps[k]
		rep.auditStep(files, settings[rows[0].file], rows, opts.MaxExamples)
		delete(steps, k)
	}
	rep.Steps = len(order)
	rep.finish()
	return rep, nil
}

func readSettings(r *Reader, opts AuditOptions) (fileSettings, error) {
	s := fileSettings{cfg: reward.DefaultConfig(), mask: task.DefaultMaskOptions()}
	if v, ok := r.Meta(MetaRewardConfig); ok && v != "" {
		if err := json.Unmarshal([]byte(v), &s.cfg); err != nil {
			return s, fmt.Errorf("%s: metadata %s: %w", r.Path(), MetaRewardConfig, err)
		}
	}
	if v, ok := r.Meta(MetaMaskOptions); ok && v != "" {
		if err := json.Unmarshal([]byte(v), &s.mask); err != nil {
			return s, fmt.Errorf("%s: metadata %s: %w", r.Path(), MetaMaskOptions, err)
		}
	}
	s.mode, _ = r.Meta(MetaMode)
	s.ntpExact = metaIs(r, MetaNTPReward, "exact")
	if v, ok := r.Meta(MetaBench); ok && v != "" {
		k, err := bench.ParseKind(v)
		if err != nil {
			return s, fmt.Errorf("%s: metadata %s: %w", r.Path(), MetaBench, err)
		}
		s.bench = k
	}
	if opts.Reward != nil {
		s.cfg = *opts.Reward
	}
	if opts.Mask != nil {
		s.mask = *opts.Mask
	}
	return s, nil
}

func (rep *AuditReport) mismatch(files []string, r auditRow, field string, stored, recomputed any, max int) {
	rep.Mismatches++
	rep.MismatchedBy[field]++
	rep.bad[[2]int{r.file, r.index}] = true
	if len(rep.Examples) < max {
		rep.Examples = append(rep.Examples, Mismatch{
			File: files[r.file], Row: r.index, GroupID: r.GroupID, Role: r.Role, Field: field,
			Stored: fmt.Sprintf("%q", fmt.Sprint(stored)), Recomputed: fmt.Sprintf("%q", fmt.Sprint(recomputed)),
		})
	}
}

// checkShape checks the per-token columns against completion_ids.
func (rep *AuditReport) checkShape(files []string, r auditRow, max int) {
	n := len(r.CompletionIDs)
	if len(r.OldLogprobs) != n {
		rep.mismatch(files, r, "len(old_logprobs)", len(r.OldLogprobs), n, max)
	}
	if len(r.LossMask) != 0 && len(r.LossMask) != n {
		rep.mismatch(files, r, "len(loss_mask)", len(r.LossMask), n, max)
	}
	if r.Filtered && r.Advantage != 0 {
		rep.mismatch(files, r, "advantage (filtered row)", r.Advantage, 0, max)
	}
}

func (rep *AuditReport) auditStep(files []string, set fileSettings, rows []auditRow, max int) {
	// Generator groups in order of first appearance, samples by index.
	var gens, preds []auditRow
	for _, r := range rows {
		switch r.Role {
		case RoleGenerator:
			gens = append(gens, r)
		case RolePredictor:
			preds = append(preds, r)
		default:
			rep.mismatch(files, r, "role", r.Role, "generator|predictor", max)
		}
	}
	firstSeen := map[string]int{}
	for i, r := range gens {
		if _, ok := firstSeen[r.GroupID]; !ok {
			firstSeen[r.GroupID] = i
		}
	}
	sort.SliceStable(gens, func(a, b int) bool {
		ga, gb := firstSeen[gens[a].GroupID], firstSeen[gens[b].GroupID]
		if ga != gb {
			return ga < gb
		}
		return gens[a].SampleIndex < gens[b].SampleIndex
	})
	groupIndex := map[string]int{}
	props := make([]reward.Proposal, len(gens))
	masks := make([]task.Mask, len(gens))
	for i, r := range gens {
		gi, ok := groupIndex[r.GroupID]
		if !ok {
			gi = len(groupIndex)
			groupIndex[r.GroupID] = gi
		}
		span, parsed, _ := task.ParseLastCommand(r.CompletionText, task.MaskCommand)
		m, why := task.ValidateCompletion(r.PassageText, r.CompletionText, set.mask)
		masks[i] = m
		props[i] = reward.Proposal{Group: gi, Span: m.Span, Reason: why, Words: m.Words, Tokens: int(r.MaskTokens)}
		if r.ParseOK != parsed {
			rep.mismatch(files, r, "parse_ok", r.ParseOK, parsed, max)
		}
		if !sameText(r.Parsed, span) {
			rep.mismatch(files, r, "parsed", r.Parsed, span, max)
		}
	}
	reasons, _ := reward.ApplyGuards(set.cfg, props)
	byMaskGroup := map[string]int{}
	for i, r := range gens {
		// A mask the rollout dropped for its prompt length cannot be
		// rechecked without the tokenizer: the stored reason is taken.
		if reasons[i] == task.Valid && r.InvalidReason == task.PredictionPromptTooLong.String() {
			reasons[i] = task.PredictionPromptTooLong
		}
		props[i].Reason = reasons[i]
		why := reasons[i]
		if r.Valid != (why == task.Valid) {
			rep.mismatch(files, r, "valid", r.Valid, why == task.Valid, max)
		}
		if r.InvalidReason != why.String() {
			rep.mismatch(files, r, "invalid_reason", r.InvalidReason, why.String(), max)
		}
		if why == task.Valid {
			if int(r.Occurrences) != masks[i].Occurrences() {
				rep.mismatch(files, r, "occurrences", r.Occurrences, masks[i].Occurrences(), max)
			}
			rep.MaskWordsHist[masks[i].Words]++
			if int(r.MaskWords) != masks[i].Words {
				rep.mismatch(files, r, "mask_words", r.MaskWords, masks[i].Words, max)
			}
			if r.MaskGroupID != "" {
				byMaskGroup[r.MaskGroupID] = i
			}
		}
	}
	// Predictions, matched to their mask through mask_group_id.
	var pp []reward.Prediction
	var pRows []auditRow
	baseline := len(gens) == 0
	baseGroups := map[string]int{}
	for _, r := range preds {
		gi, ok := byMaskGroup[r.GroupID]
		switch {
		case ok:
		case baseline:
			// Baselines (random spans, next tokens) have no generator rows:
			// each prediction group gets a proposal with the stored target.
			if gi, ok = baseGroups[r.GroupID]; !ok {
				gi = len(props)
				baseGroups[r.GroupID] = gi
				props = append(props, reward.Proposal{Group: gi, Span: r.Target, Reason: task.Valid, Words: int(r.MaskWords), Tokens: int(r.MaskTokens)})
				rep.MaskWordsHist[int(r.MaskWords)]++
			}
		default:
			rep.mismatch(files, r, "group_id (no valid generator row with this mask_group_id)", r.GroupID, "", max)
			continue
		}
		target := props[gi].Span
		if r.Target != target {
			rep.mismatch(files, r, "target", r.Target, target, max)
		}
		var v task.Verdict
		if set.bench != "" {
			it, err := bench.DecodeRowQuestion(r.PassageText, target)
			if err != nil {
				rep.mismatch(files, r, "passage_text", err, "", max)
				continue
			}
			v, _ = bench.RewardVerdict(set.bench, it, r.CompletionText)
		} else if set.ntp() && !set.ntpExact {
			ans, ok, why := task.ParseLastCommand(r.CompletionText, task.BoxedCommand)
			v = task.Verdict{Answer: ans, Parsed: ok, Failure: why, Strict: r.Strict && ok, Normalised: r.Normalised && ok}
		} else {
			v = task.Verify(r.CompletionText, target)
		}
		if r.ParseOK != v.Parsed {
			rep.mismatch(files, r, "parse_ok", r.ParseOK, v.Parsed, max)
		}
		if !sameText(r.Parsed, v.Answer) {
			rep.mismatch(files, r, "parsed", r.Parsed, v.Answer, max)
		}
		if r.Strict != v.Strict {
			rep.mismatch(files, r, "strict", r.Strict, v.Strict, max)
		}
		if r.Normalised != v.Normalised {
			rep.mismatch(files, r, "normalised", r.Normalised, v.Normalised, max)
		}
		pp = append(pp, reward.Prediction{Mask: gi, Verdict: v})
		pRows = append(pRows, r)
	}
	res, err := reward.Score(set.cfg, props, pp, set.mask.StopWordSet())
	if err != nil { // cannot happen: predictions reference valid masks only
		rep.mismatch(files, rows[0], "step", err, "", max)
		return
	}
	for i, r := range gens {
		g := res.Gen[i]
		rep.compareScores(files, r, g.Reward, g.Advantage, g.Accuracy, g.Filtered, max)
		if r.FinishReason == FinishLength {
			rep.Generator.TruncatedRows++
		}
	}
	for i, r := range pRows {
		p := res.Pred[i]
		rep.compareScores(files, r, p.Reward, p.Advantage, res.Gen[pp[i].Mask].Accuracy, p.Filtered, max)
		if r.FinishReason == FinishLength {
			rep.Predictor.TruncatedRows++
		}
	}
	if baseline {
		res.Stats.Generator = reward.RoleStats{}
	}
	rep.addStats(res.Stats)
}

// sameText compares a stored and a recomputed string, tolerating a rollout
// that stored the completion with invalid UTF-8 replaced by U+FFFD.
func sameText(stored, recomputed string) bool {
	return stored == recomputed || strings.ToValidUTF8(stored, "\uFFFD") == strings.ToValidUTF8(recomputed, "\uFFFD")
}

func (rep *AuditReport) compareScores(files []string, r auditRow, rew, adv, acc float64, filtered bool, max int) {
	if math.Abs(r.Reward-rew) > 1e-9 {
		rep.mismatch(files, r, "reward", r.Reward, rew, max)
	}
	if d := math.Abs(float64(r.Advantage) - adv); d > 1e-5*math.Max(1, math.Abs(adv)) {
		rep.mismatch(files, r, "advantage", r.Advantage, strconv.FormatFloat(adv, 'g', 7, 64), max)
	}
	if math.Abs(r.MaskAccuracy-acc) > 1e-9 {
		rep.mismatch(files, r, "mask_accuracy", r.MaskAccuracy, acc, max)
	}
	if r.Filtered != filtered {
		rep.mismatch(files, r, "filtered", r.Filtered, filtered, max)
	}
}

func addRole(dst *RoleSummary, s reward.RoleStats) {
	dst.Rows += s.Rows
	dst.Groups += s.Groups
	dst.FilteredGroups += s.FilteredGroups
	dst.FilteredRows += s.FilteredRows
	dst.rewardSum += s.RewardMean * float64(s.Rows)
}

func (rep *AuditReport) addStats(s reward.StepStats) {
	addRole(&rep.Generator, s.Generator)
	addRole(&rep.Predictor, s.Predictor)
	rep.Proposals += s.Proposals
	rep.ValidMasks += s.ValidMasks
	for k, v := range s.Invalid {
		rep.Invalid[k] += v
	}
	for k, v := range s.AccuracyHist {
		rep.AccuracyHist[k] += v
	}
	rep.StopWordSpans += s.StopWordSpans
	rep.tokenSum += int(math.Round(s.MaskTokensMean * float64(s.ValidMasks)))
	rep.UnparsedAnswers += s.UnparsedAnswers
	n := s.Predictor.Rows
	rep.preds += n
	rep.strictN += int(math.Round(s.StrictAccuracy * float64(n)))
	rep.normN += int(math.Round(s.NormalisedAccuracy * float64(n)))
	rep.Guards.Duplicates += s.Guards.Duplicates
	rep.Guards.BatchCapped += s.Guards.BatchCapped
	rep.Guards.Penalised += s.Guards.Penalised
	rep.Guards.StopWordsOnly += s.Guards.StopWordsOnly
	rep.Guards.TooLongRejected += s.Guards.TooLongRejected
}

func (rep *AuditReport) finish() {
	rep.BadRows = len(rep.bad)
	for _, r := range []*RoleSummary{&rep.Generator, &rep.Predictor} {
		if r.Rows > 0 {
			r.RewardMean = r.rewardSum / float64(r.Rows)
		}
	}
	if rep.ValidMasks > 0 {
		rep.MaskTokensMean = float64(rep.tokenSum) / float64(rep.ValidMasks)
	}
	if rep.preds > 0 {
		rep.StrictAccuracy = float64(rep.strictN) / float64(rep.preds)
		rep.NormalisedAccuracy = float64(rep.normN) / float64(rep.preds)
	}
}

// WriteText prints a human-readable summary.
func (rep *AuditReport) WriteText(w io.Writer) {
	fmt.Fprintf(w, "files %d, rows %d, steps %d\n", rep.Files, rep.Rows, rep.Steps)
	for _, x := range []struct {
		name string
		r    RoleSummary
	}{{"generator", rep.Generator}, {"predictor", rep.Predictor}} {
		fmt.Fprintf(w, "%-9s rows %d, groups %d, filtered groups %d (%d rows), mean reward %.4f, truncated %d\n",
			x.name, x.r.Rows, x.r.Groups, x.r.FilteredGroups, x.r.FilteredRows, x.r.RewardMean, x.r.TruncatedRows)
	}
	inv := 0.0
	if rep.Proposals > 0 {
		inv = float64(rep.Proposals-rep.ValidMasks) / float64(rep.Proposals)
	}
	fmt.Fprintf(w, "masks: %d proposed, %d valid, invalid rate %.3f\n", rep.Proposals, rep.ValidMasks, inv)
	for _, k := range sortedKeys(rep.Invalid) {
		fmt.Fprintf(w, "  invalid %-22s %d (%.3f)\n", k, rep.Invalid[k], float64(rep.Invalid[k])/float64(max(rep.Proposals, 1)))
	}
	fmt.Fprintf(w, "mask length (words):")
	for _, k := range sortedKeys(rep.MaskWordsHist) {
		fmt.Fprintf(w, " %d:%d", k, rep.MaskWordsHist[k])
	}
	fmt.Fprintf(w, "\nmask length (tokens): mean %.2f\n", rep.MaskTokensMean)
	if rep.ValidMasks > 0 {
		fmt.Fprintf(w, "stop-word spans: %d (%.3f of valid masks)\n", rep.StopWordSpans, float64(rep.StopWordSpans)/float64(rep.ValidMasks))
	}
	fmt.Fprintf(w, "accuracy per mask (correct/predictions):")
	keys := sortedKeys(rep.AccuracyHist)
	sort.SliceStable(keys, func(a, b int) bool { return fracLess(keys[a], keys[b]) })
	for _, k := range keys {
		fmt.Fprintf(w, " %s:%d", k, rep.AccuracyHist[k])
	}
	fmt.Fprintf(w, "\npredictions: strict accuracy %.4f, normalised %.4f, unparsed %d\n", rep.StrictAccuracy, rep.NormalisedAccuracy, rep.UnparsedAnswers)
	g := rep.Guards
	fmt.Fprintf(w, "guards: duplicates %d, batch-capped %d, penalised %d, stop-words-only %d, too long %d\n",
		g.Duplicates, g.BatchCapped, g.Penalised, g.StopWordsOnly, g.TooLongRejected)
	if rep.OK() {
		fmt.Fprintf(w, "OK: every row matches its recomputation\n")
		return
	}
	fmt.Fprintf(w, "MISMATCH: %d values in %d rows differ\n", rep.Mismatches, rep.BadRows)
	for _, k := range sortedKeys(rep.MismatchedBy) {
		fmt.Fprintf(w, "  %-24s %d\n", k, rep.MismatchedBy[k])
	}
	for _, m := range rep.Examples {
		fmt.Fprintf(w, "  %s\n", m)
	}
	if rep.Mismatches > len(rep.Examples) {
		fmt.Fprintf(w, "  ... %d more\n", rep.Mismatches-len(rep.Examples))
	}
}

func sortedKeys[K int | string, V any](m map[K]V) []K {
	ks := make([]K, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// fracLess orders "k/n" keys by n, then k.
func fracLess(a, b string) bool {
	ka, na := splitFrac(a)
	kb, nb := splitFrac(b)
	if na != nb {
		return na < nb
	}
	return ka < kb
}

func splitFrac(s string) (int, int) {
	for i := range len(s) {
		if s[i] == '/' {
			k, _ := strconv.Atoi(s[:i])
			n, _ := strconv.Atoi(s[i+1:])
			return k, n
		}
	}
	return 0, 0
}

// metaIs says whether file metadata key is want.
func metaIs(r interface{ Meta(string) (string, bool) }, key, want string) bool {
	v, ok := r.Meta(key)
	return ok && v == want
}
