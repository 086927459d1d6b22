package traj

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pz/orchestrator/reward"
	"pz/orchestrator/task"
)

const paraA = "The Eiffel Tower is in Paris. Paris is the capital of France. It was built of iron."
const paraB = "Mount Everest is the highest mountain. It lies in the Himalayas of Nepal."

func gen(text string) Sample {
	return Sample{CompletionText: text, CompletionIDs: []int32{1, 2}, OldLogprobs: []float32{-1, -2}, FinishReason: FinishEOS}
}

func predSamples(answers ...string) []Sample {
	out := make([]Sample, len(answers))
	for i, a := range answers {
		out[i] = Sample{CompletionText: "I think " + a, CompletionIDs: []int32{3}, OldLogprobs: []float32{-0.5}, FinishReason: FinishEOS}
	}
	return out
}

// buildStep runs the model-free half of a rollout step on canned completions,
// covering the bad inputs: no \mask{}, unbalanced braces, a gigantic
// completion cut at max tokens, a whitespace span, a partial UTF-8 token.
func buildStep(t *testing.T, cfg reward.Config, mo task.MaskOptions) ([]Row, reward.StepStats) {
	t.Helper()
	huge := gen(`\mask{` + strings.Repeat("Paris ", 50000))
	huge.FinishReason = FinishLength
	groups := []GenGroup{
		{PassageID: "a", PassageText: paraA, Samples: []Sample{
			gen(`\mask{Eiffel Tower}`), gen(`\mask{Paris}`), gen(`\mask{of}`), gen("no mask at all"),
			gen(`\mask{Paris`), huge, gen(`\mask{   }`), gen("\\mask{Fran\xc3}"),
		}},
		{PassageID: "b", PassageText: paraB, Samples: []Sample{
			gen(`\mask{Everest}`), gen(`\mask{Himalayas}`), gen(`\mask{Everest}`), gen(`\mask{K2}`),
		}},
		{PassageID: "c", PassageText: "", Samples: []Sample{gen(`\mask{x}`)}}, // an empty paragraph
	}
	props, masks := Proposals(cfg, mo, groups)
	preds := make([][]Sample, len(props))
	answers := map[string][]string{
		"Eiffel Tower": {`\boxed{Eiffel Tower}`, `\boxed{Louvre}`, `\boxed{eiffel tower}`, `no box`},
		"Paris":        {`\boxed{Paris}`, `\boxed{Paris}`, `\boxed{Paris}`, `\boxed{Paris}`},
		"of":           {`\boxed{of}`, `\boxed{in}`, `\boxed{of}`, `\boxed{of}`},
		"Everest":      {`\boxed{K2}`, `\boxed{Everest}`, `\boxed{Lhotse}`, `\boxed{Everest}`},
		"Himalayas":    {`\boxed{Alps}`, `\boxed{Andes}`, `\boxed{Urals}`, `\boxed{Atlas}`},
	}
	for i, p := range props {
		if p.Reason == task.Valid {
			preds[i] = predSamples(answers[p.Span]...)
		}
	}
	rows, st, err := StepRows(StepMeta{RunID: "r", Step: 7, PolicyVersion: 7}, cfg, mo, groups, props, masks, preds)
	if err != nil {
		t.Fatal(err)
	}
	return rows, st
}

func writeStep(t *testing.T, dir string, cfg reward.Config, mo task.MaskOptions, rows []Row) string {
	t.Helper()
	p := filepath.Join(dir, "traj-s7.parquet")
	if err := WriteFile(p, RunMeta("r", cfg, mo, task.DefaultTemplates(), true), rows); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStepRowsAndAudit(t *testing.T) {
	cfg, mo := reward.DefaultConfig(), task.DefaultMaskOptions()
	rows, st := buildStep(t, cfg, mo)
	// Hand-checked outcomes. Group a: Eiffel Tower 1/4 → r 0.75; Paris 4/4 → 0;
	// of 3/4 → 0.25; five invalid → 0. Group b: Everest 2/4 → 0.5 (twice),
	// Himalayas 0/4 → 0, K2 not in paragraph → 0.
	wantGen := map[string]struct {
		reason string
		acc    float64
		r      float64
	}{
		`\mask{Eiffel Tower}`: {"", 0.25, 0.75}, `\mask{Paris}`: {"", 1, 0}, `\mask{of}`: {"", 0.75, 0.25},
		"no mask at all": {"missing", 0, 0}, `\mask{Paris`: {"unbalanced", 0, 0}, `\mask{   }`: {"empty", 0, 0},
		"\\mask{Fran\xc3}": {"invalid_utf8", 0, 0}, `\mask{Everest}`: {"", 0.5, 0.5}, `\mask{Himalayas}`: {"", 0, 0},
		`\mask{K2}`: {"not_in_paragraph", 0, 0}, `\mask{x}`: {"not_in_paragraph", 0, 0},
	}
	nGen, nPred := 0, 0
	for _, r := range rows {
		if r.Role == RolePredictor {
			nPred++
			continue
		}
		nGen++
		if strings.HasPrefix(r.CompletionText, `\mask{Paris Paris`) {
			if r.InvalidReason != "unbalanced" || r.FinishReason != FinishLength {
				t.Errorf("huge completion: %q %q", r.InvalidReason, r.FinishReason)
			}
			continue
		}
		w, ok := wantGen[r.CompletionText]
		if !ok {
			t.Fatalf("unexpected generator row %q", r.CompletionText)
		}
		if r.InvalidReason != w.reason || r.MaskAccuracy != w.acc || r.Reward != w.r {
			t.Errorf("%q: reason %q acc %v r %v, want %+v", r.CompletionText, r.InvalidReason, r.MaskAccuracy, r.Reward, w)
		}
	}
	if nGen != 13 || nPred != 6*4 {
		t.Errorf("rows: %d generator, %d predictor", nGen, nPred)
	}
	// Group a rewards [.75,0,.25,0,0,0,0,0]: mean 1/8, ss = (5/8)²+(1/8)²+(1/8)²+5(1/8)² = 32/64, var 1/14.
	ga := math.Sqrt(1.0 / 14)
	if r := rows[0]; r.GroupID != "s7/g0" || math.Abs(float64(r.Advantage)-0.625/(ga+1e-6)) > 1e-5 || r.Filtered {
		t.Errorf("first row %s adv %v filtered %v", r.GroupID, r.Advantage, r.Filtered)
	}
	if st.Proposals != 13 || st.ValidMasks != 6 || st.Invalid["not_in_paragraph"] != 2 || st.Predictor.FilteredGroups != 2 || st.Generator.FilteredGroups != 1 {
		t.Errorf("stats %+v", st)
	}
	// Paris (4/4) and Himalayas (0/4) prediction rows are filtered, advantage 0.
	for _, r := range rows {
		if r.Role == RolePredictor && (r.Target == "Paris" || r.Target == "Himalayas") != r.Filtered {
			t.Errorf("prediction row of %q filtered=%v", r.Target, r.Filtered)
		}
	}

	dir := t.TempDir()
	path := writeStep(t, dir, cfg, mo, rows)
	rep, err := Audit(context.Background(), AuditOptions{Inputs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	rep.WriteText(&buf)
	if !rep.OK() || rep.Rows != len(rows) || rep.Steps != 1 {
		t.Fatalf("clean file fails audit:\n%s", buf.String())
	}
	for _, frag := range []string{"invalid missing", "accuracy per mask (correct/predictions): 0/4:1 1/4:1 2/4:2 3/4:1 4/4:1", "OK:"} {
		if !strings.Contains(strings.Join(strings.Fields(buf.String()), " "), frag) {
			t.Errorf("summary lacks %q:\n%s", frag, buf.String())
		}
	}

	// Tamper: each change must be found, naming file, row and group.
	for _, tc := range []struct {
		field string
		edit  func(r *Row)
		row   int
	}{
		{"advantage", func(r *Row) { r.Advantage += 0.01 }, 0},
		{"reward", func(r *Row) { r.Reward = 1 }, 0},
		{"strict", func(r *Row) { r.Strict = !r.Strict }, 1},
		{"filtered", func(r *Row) { r.Filtered = true; r.Advantage = 0 }, 1},
		{"invalid_reason", func(r *Row) { r.InvalidReason = "empty" }, 0},
		{"parsed", func(r *Row) { r.CompletionText = `\mask{Tower}` }, 0},
		{"len(old_logprobs)", func(r *Row) { r.OldLogprobs = r.OldLogprobs[:1] }, 0},
	} {
		bad := append([]Row(nil), rows...)
		tc.edit(&bad[tc.row])
		d := t.TempDir()
		writeStep(t, d, cfg, mo, bad)
		rep, err := Audit(context.Background(), AuditOptions{Inputs: []string{filepath.Join(d, "*.parquet")}})
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK() || rep.MismatchedBy[tc.field] == 0 {
			t.Errorf("%s: tampering not found: %+v", tc.field, rep.MismatchedBy)
			continue
		}
		found := false
		for _, m := range rep.Examples {
			if m.Field == tc.field && m.Row == tc.row && m.GroupID == bad[tc.row].GroupID && strings.HasSuffix(m.File, "traj-s7.parquet") {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no example names row %d: %v", tc.field, tc.row, rep.Examples)
		}
	}
	_ = path
}

func TestAuditGuardsFromMetadata(t *testing.T) {
	cfg, mo := reward.DefaultConfig(), task.DefaultMaskOptions()
	cfg.DedupWithinGroup, cfg.BatchCap, cfg.RepeatPenalty = true, 1, 0.05
	mo.RequireContentWord, mo.WordAligned = true, true
	rows, st := buildStep(t, cfg, mo)
	if st.Guards.Duplicates != 1 || st.Guards.StopWordsOnly != 1 {
		t.Errorf("guards %+v", st.Guards)
	}
	dir := t.TempDir()
	writeStep(t, dir, cfg, mo, rows)
	rep, err := Audit(context.Background(), AuditOptions{Inputs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		var buf bytes.Buffer
		rep.WriteText(&buf)
		t.Fatalf("guarded step fails audit:\n%s", buf.String())
	}
	// Auditing with the paper's settings instead must disagree.
	def, dmo := reward.DefaultConfig(), task.DefaultMaskOptions()
	rep, _ = Audit(context.Background(), AuditOptions{Inputs: []string{dir}, Reward: &def, Mask: &dmo})
	if rep.OK() {
		t.Error("audit with other settings agrees")
	}
}

func TestAuditInputs(t *testing.T) {
	dir := t.TempDir()
	if _, err := Audit(context.Background(), AuditOptions{Inputs: []string{filepath.Join(dir, "*.parquet")}}); !errors.Is(err, ErrNoFiles) {
		t.Errorf("no files: %v", err)
	}
	// An empty trajectory file audits clean.
	if err := WriteFile(filepath.Join(dir, "empty.parquet"), nil, nil); err != nil {
		t.Fatal(err)
	}
	rep, err := Audit(context.Background(), AuditOptions{Inputs: []string{dir}})
	if err != nil || !rep.OK() || rep.Rows != 0 {
		t.Errorf("empty file: %v %+v", err, rep)
	}
	os.WriteFile(filepath.Join(dir, "junk.parquet"), []byte("junk"), 0o644)
	if _, err := Audit(context.Background(), AuditOptions{Inputs: []string{dir}}); err == nil || !strings.Contains(err.Error(), "junk.parquet") {
		t.Errorf("junk file: %v", err)
	}
}

// Rows shaped like the rollout's baselines: predictor rows only, one group
// per random span (or next token), the mode in the metadata.
func baselineRows(t *testing.T, mode string) []Row {
	t.Helper()
	var rows []Row
	cfg := reward.DefaultConfig()
	targets := []string{"Paris", "capital", "Tower"}
	answers := [][]string{{`\boxed{Paris}`, `\boxed{Lyon}`}, {`\boxed{capital}`, `\boxed{capital}`}, {`\boxed{x}`, `no box`}}
	var props []reward.Proposal
	var preds []reward.Prediction
	for m, tg := range targets {
		props = append(props, reward.Proposal{Group: m, Span: tg, Reason: task.Valid, Words: 1})
		for j, a := range answers[m] {
			v := task.Verify(a, tg)
			preds = append(preds, reward.Prediction{Mask: m, Verdict: v})
			rows = append(rows, Row{Role: RolePredictor, GroupID: PredictionGroupID(1, m, 0), SampleIndex: int32(j),
				CompletionText: a, Parsed: v.Answer, ParseOK: v.Parsed, Valid: true, Target: tg,
				Strict: v.Strict, Normalised: v.Normalised, MaskWords: 1})
		}
	}
	res, err := reward.Score(cfg, props, preds, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		p := res.Pred[i]
		rows[i].Reward, rows[i].Advantage, rows[i].Filtered = p.Reward, float32(p.Advantage), p.Filtered
		rows[i].MaskAccuracy = res.Gen[preds[i].Mask].Accuracy
	}
	return rows
}

func TestAuditBaselines(t *testing.T) {
	for _, mode := range []string{"random-span", "random-ntp"} {
		rows := baselineRows(t, mode)
		dir := t.TempDir()
		meta := RunMeta("r", reward.DefaultConfig(), task.DefaultMaskOptions(), task.DefaultTemplates(), true)
		meta[MetaMode] = mode
		if err := WriteFile(filepath.Join(dir, "b.parquet"), meta, rows); err != nil {
			t.Fatal(err)
		}
		rep, err := Audit(context.Background(), AuditOptions{Inputs: []string{dir}})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() || rep.Generator.Rows != 0 || rep.Predictor.Groups != 3 || rep.Predictor.FilteredGroups != 2 {
			var buf bytes.Buffer
			rep.WriteText(&buf)
			t.Errorf("%s: %s", mode, buf.String())
		}
		// A wrong stored reward is still found.
		rows[0].Reward = 0
		d := t.TempDir()
		WriteFile(filepath.Join(d, "b.parquet"), meta, rows)
		if rep, _ := Audit(context.Background(), AuditOptions{Inputs: []string{d}}); rep.MismatchedBy["reward"] != 1 {
			t.Errorf("%s: tampered reward not found: %v", mode, rep.MismatchedBy)
		}
	}
}

func TestAuditRolloutQuirks(t *testing.T) {
	cfg, mo := reward.DefaultConfig(), task.DefaultMaskOptions()
	rows, _ := buildStep(t, cfg, mo)
	for i := range rows {
		// The rollout stores completions with invalid UTF-8 replaced.
		rows[i].CompletionText = strings.ToValidUTF8(rows[i].CompletionText, "\uFFFD")
	}
	dir := t.TempDir()
	writeStep(t, dir, cfg, mo, rows)
	rep, err := Audit(context.Background(), AuditOptions{Inputs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		var buf bytes.Buffer
		rep.WriteText(&buf)
		t.Errorf("sanitised completions: %s", buf.String())
	}
	// A valid mask the rollout dropped for its prompt length: no predictions,
	// reason prediction_prompt_too_long, r_gen 0; the audit accepts it.
	groups := []GenGroup{{PassageID: "a", PassageText: paraA, Samples: []Sample{gen(`\mask{Paris}`), gen(`\mask{iron}`)}}}
	props, masks := Proposals(cfg, mo, groups)
	props[1].Reason = task.PredictionPromptTooLong
	preds := [][]Sample{predSamples(`\boxed{Paris}`, `\boxed{Rome}`), nil}
	rows, _, err = StepRows(StepMeta{Step: 7}, cfg, mo, groups, props, masks, preds)
	if err != nil {
		t.Fatal(err)
	}
	if rows[3].InvalidReason != "prediction_prompt_too_long" || rows[3].Reward != 0 || rows[0].Reward != 0.5 {
		t.Fatalf("rows %+v", rows)
	}
	d := t.TempDir()
	writeStep(t, d, cfg, mo, rows)
	if rep, _ := Audit(context.Background(), AuditOptions{Inputs: []string{d}}); !rep.OK() {
		var buf bytes.Buffer
		rep.WriteText(&buf)
		t.Errorf("prompt too long: %s", buf.String())
	}
}

// TestAuditNextTokenExactMatch: next-token rows verified by exact match
// (pz.ntp_reward "exact") are re-verified, so a wrong stored verdict is
// found; with RPT's prefix match (no such key) the stored verdict is taken.
func TestAuditNextTokenExactMatch(t *testing.T) {
	rows := baselineRows(t, "random-ntp")
	rows[1].Strict = true // \boxed{Lyon} for Paris
	for _, c := range []struct {
		reward string
		want   int
	}{{"exact", 1}, {"", 0}} {
		meta := RunMeta("r", reward.DefaultConfig(), task.DefaultMaskOptions(), task.DefaultTemplates(), true)
		meta[MetaMode] = "random-ntp"
		if c.reward != "" {
			meta[MetaNTPReward] = c.reward
		}
		dir := t.TempDir()
		if err := WriteFile(filepath.Join(dir, "b.parquet"), meta, rows); err != nil {
			t.Fatal(err)
		}
		rep, err := Audit(context.Background(), AuditOptions{Inputs: []string{dir}})
		if err != nil {
			t.Fatal(err)
		}
		if got := rep.MismatchedBy["strict"]; got != c.want {
			t.Errorf("ntp reward %q: %d strict mismatches, want %d (%v)", c.reward, got, c.want, rep.MismatchedBy)
		}
	}
}
