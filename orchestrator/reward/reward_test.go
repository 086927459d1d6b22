package reward

import (
	"encoding/json"
	"math"
	"testing"

	"pz/orchestrator/task"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestGeneratorRewardTable(t *testing.T) {
	// METHOD.md §3: correct of 8 → r_gen.
	want := []float64{0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0}
	for k, w := range want {
		if got := GeneratorReward(float64(k) / 8); !near(got, w) {
			t.Errorf("GeneratorReward(%d/8) = %v, want %v", k, got, w)
		}
	}
}

func TestGroupAdvantages(t *testing.T) {
	const eps = 1e-6
	// [0, .875, 0, .625] (accuracies 0, 1/8, 1, 3/8): mean 3/8; deviations
	// -3/8, 1/2, -3/8, 1/4; sum of squares 9/64+16/64+9/64+4/64 = 38/64;
	// sample variance 38/192; std = sqrt(38/192).
	s1 := math.Sqrt(38.0 / 192)
	// [1,0,0,0,0,0,0,0]: mean 1/8, sum of squares 49/64 + 7/64 = 7/8,
	// variance 1/8.
	s2 := math.Sqrt(1.0 / 8)
	// [1,1,1,0,0,0,0,0]: mean 3/8, ss = 3·25/64 + 5·9/64 = 120/64, var 120/448.
	s3 := math.Sqrt(120.0 / 448)
	for _, tc := range []struct {
		name    string
		rewards []float64
		want    []float64
	}{
		{"paper accuracies", []float64{0, 0.875, 0, 0.625}, []float64{-0.375 / (s1 + eps), 0.5 / (s1 + eps), -0.375 / (s1 + eps), 0.25 / (s1 + eps)}},
		{"one of eight", []float64{1, 0, 0, 0, 0, 0, 0, 0}, []float64{0.875 / (s2 + eps), -0.125 / (s2 + eps), -0.125 / (s2 + eps), -0.125 / (s2 + eps), -0.125 / (s2 + eps), -0.125 / (s2 + eps), -0.125 / (s2 + eps), -0.125 / (s2 + eps)}},
		{"three of eight", []float64{1, 1, 1, 0, 0, 0, 0, 0}, []float64{0.625 / (s3 + eps), 0.625 / (s3 + eps), 0.625 / (s3 + eps), -0.375 / (s3 + eps), -0.375 / (s3 + eps), -0.375 / (s3 + eps), -0.375 / (s3 + eps), -0.375 / (s3 + eps)}},
		{"all equal", []float64{1, 1, 1}, []float64{0, 0, 0}},
		{"single", []float64{0.5}, []float64{0}},
		{"empty", nil, []float64{}},
	} {
		got := GroupAdvantages(tc.rewards, eps)
		if len(got) != len(tc.want) {
			t.Fatalf("%s: len %d", tc.name, len(got))
		}
		for i := range got {
			if !near(got[i], tc.want[i]) {
				t.Errorf("%s[%d] = %v, want %v", tc.name, i, got[i], tc.want[i])
			}
		}
	}
	// Spot check against an independently computed number (python, n-1 std).
	if got := GroupAdvantages([]float64{0, 0.875, 0, 0.625}, eps)[1]; !near(got, 1.123900447587922) {
		t.Errorf("z = %v", got)
	}
}

func TestFilters(t *testing.T) {
	for acc, want := range map[float64]bool{0: true, 1: true, 0.125: false, 0.875: false} {
		if PredictorGroupFiltered(acc) != want {
			t.Errorf("PredictorGroupFiltered(%v)", acc)
		}
	}
	if !GeneratorGroupFiltered([]float64{0, 0, 0}) || GeneratorGroupFiltered([]float64{0, 0.5}) || !GeneratorGroupFiltered(nil) {
		t.Error("GeneratorGroupFiltered")
	}
}

func verdicts(correct, n int) []task.Verdict {
	v := make([]task.Verdict, n)
	for i := range v {
		v[i] = task.Verdict{Parsed: true, Strict: i < correct, Normalised: i < correct}
	}
	return v
}

// One paragraph (group 0) with four proposals, accuracies 0, 1/8, 1, 3/8, and
// a second paragraph (group 1) with two invalid proposals.
func TestScoreStep(t *testing.T) {
	props := []Proposal{
		{Group: 0, Span: "Paris", Words: 1, Tokens: 1},
		{Group: 0, Span: "Eiffel Tower", Words: 2, Tokens: 3},
		{Group: 0, Span: "of", Words: 1, Tokens: 1},
		{Group: 0, Span: "capital", Words: 1, Tokens: 2},
		{Group: 1, Reason: task.Missing},
		{Group: 1, Span: "London", Reason: task.NotInParagraph},
	}
	var preds []Prediction
	for m, c := range []int{0, 1, 8, 3} {
		for _, v := range verdicts(c, 8) {
			preds = append(preds, Prediction{Mask: m, Verdict: v})
		}
	}
	preds[0].Verdict.Parsed = false // an unparsed answer is just wrong
	res, err := Score(DefaultConfig(), props, preds, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantAcc := []float64{0, 0.125, 1, 0.375, 0, 0}
	wantR := []float64{0, 0.875, 0, 0.625, 0, 0}
	s1 := math.Sqrt(38.0 / 192)
	wantAdv := []float64{-0.375 / (s1 + 1e-6), 0.5 / (s1 + 1e-6), -0.375 / (s1 + 1e-6), 0.25 / (s1 + 1e-6), 0, 0}
	for i, g := range res.Gen {
		if !near(g.Accuracy, wantAcc[i]) || !near(g.Reward, wantR[i]) || !near(g.Advantage, wantAdv[i]) {
			t.Errorf("gen %d: %+v; want acc %v r %v adv %v", i, g, wantAcc[i], wantR[i], wantAdv[i])
		}
	}
	if res.Gen[0].Filtered || !res.Gen[4].Filtered || !res.Gen[5].Filtered {
		t.Error("generator filter: group 0 kept, group 1 (all zero) filtered")
	}
	// Prediction groups 0 (acc 0) and 2 (acc 1) are filtered with advantage 0;
	// group 1 (1 of 8) has z-scores 0.875/s2 and -0.125/s2.
	s2 := math.Sqrt(1.0 / 8)
	for i, p := range res.Pred {
		m := preds[i].Mask
		filtered := m == 0 || m == 2
		if p.Filtered != filtered || (filtered && p.Advantage != 0) {
			t.Errorf("pred %d (mask %d): %+v", i, m, p)
		}
	}
	if a := res.Pred[8].Advantage; !near(a, 0.875/(s2+1e-6)) {
		t.Errorf("pred 8 advantage %v", a)
	}
	if a := res.Pred[9].Advantage; !near(a, -0.125/(s2+1e-6)) {
		t.Errorf("pred 9 advantage %v", a)
	}
	st := res.Stats
	if st.Proposals != 6 || st.ValidMasks != 4 || !near(st.InvalidRate, 2.0/6) || st.Invalid["missing"] != 1 || st.Invalid["not_in_paragraph"] != 1 {
		t.Errorf("stats %+v", st)
	}
	if st.AccuracyHist["0/8"] != 1 || st.AccuracyHist["1/8"] != 1 || st.AccuracyHist["8/8"] != 1 || st.AccuracyHist["3/8"] != 1 {
		t.Errorf("hist %v", st.AccuracyHist)
	}
	if st.Predictor.Groups != 4 || st.Predictor.FilteredGroups != 2 || st.Predictor.FilteredRows != 16 || st.Generator.Groups != 2 || st.Generator.FilteredGroups != 1 {
		t.Errorf("role stats %+v %+v", st.Predictor, st.Generator)
	}
	if st.StopWordSpans != 1 || !near(st.StopWordShare, 0.25) || st.DistinctSpans != 4 || !near(st.MaskWordsMean, 1.25) || !near(st.MaskTokensMean, 7.0/4) {
		t.Errorf("span stats %+v", st)
	}
	if !near(st.StrictAccuracy, 12.0/32) || st.UnparsedAnswers != 1 || !near(st.Generator.RewardMean, 1.5/6) {
		t.Errorf("accuracy %v unparsed %d gen mean %v", st.StrictAccuracy, st.UnparsedAnswers, st.Generator.RewardMean)
	}
	if _, err := json.Marshal(st); err != nil {
		t.Error(err)
	}
	// Filters off: the all-zero generator group is kept, advantages still 0.
	cfg := DefaultConfig()
	cfg.FilterGeneratorGroups, cfg.FilterPredictorGroups = false, false
	res2, _ := Score(cfg, props, preds, nil)
	if res2.Gen[4].Filtered || res2.Pred[0].Filtered || res2.Stats.Predictor.FilteredGroups != 0 {
		t.Error("filters off still filter")
	}
	// Bad references.
	if _, err := Score(DefaultConfig(), props, []Prediction{{Mask: 4}}, nil); err == nil {
		t.Error("prediction of an invalid mask accepted")
	}
	if _, err := Score(DefaultConfig(), props, []Prediction{{Mask: 9}}, nil); err == nil {
		t.Error("prediction of a missing mask accepted")
	}
}

func TestPredictorRewards(t *testing.T) {
	vs := []task.Verdict{task.VerifyAnswer("Paris", "Paris"), task.VerifyAnswer("paris", "Paris"), {Failure: task.ParseMissing}}
	if got := PredictorRewards(vs, false); got[0] != 1 || got[1] != 0 || got[2] != 0 || Mean(got) != 1.0/3 {
		t.Errorf("strict %v", got)
	}
	if got := PredictorRewards(vs, true); got[0] != 1 || got[1] != 1 || got[2] != 0 {
		t.Errorf("normalised %v", got)
	}
}

func TestNormalisedReward(t *testing.T) {
	props := []Proposal{{Group: 0, Span: "Paris"}}
	preds := []Prediction{
		{0, task.VerifyAnswer("paris", "Paris")},
		{0, task.VerifyAnswer("Paris", "Paris")},
	}
	strict, _ := Score(DefaultConfig(), props, preds, nil)
	cfg := DefaultConfig()
	cfg.RewardNormalised = true
	norm, _ := Score(cfg, props, preds, nil)
	if strict.Gen[0].Accuracy != 0.5 || norm.Gen[0].Accuracy != 1 || strict.Gen[0].AccuracyNormalised != 1 || strict.Pred[0].Reward != 0 || norm.Pred[0].Reward != 1 {
		t.Errorf("strict %+v norm %+v", strict.Gen[0], norm.Gen[0])
	}
}

func TestGuards(t *testing.T) {
	props := []Proposal{
		{Group: 0, Span: "of"},
		{Group: 0, Span: "of"}, // duplicate in group 0
		{Group: 0, Span: "Paris"},
		{Group: 1, Span: "of"}, // second "of" in the batch
		{Group: 1, Span: "of"}, // duplicate in group 1
		{Group: 2, Span: "of"}, // third "of": over a cap of 2
		{Group: 2, Span: "the", Reason: task.StopWordsOnly},
	}
	cfg := DefaultConfig()
	cfg.DedupWithinGroup = true
	cfg.BatchCap = 2
	reasons, gc := ApplyGuards(cfg, props)
	want := []task.InvalidReason{task.Valid, task.DuplicateInGroup, task.Valid, task.Valid, task.DuplicateInGroup, task.RepeatedInBatch, task.StopWordsOnly}
	for i := range want {
		if reasons[i] != want[i] {
			t.Errorf("proposal %d: %v, want %v", i, reasons[i], want[i])
		}
	}
	if gc.Duplicates != 2 || gc.BatchCapped != 1 {
		t.Errorf("counts %+v", gc)
	}
	if props[1].Reason != task.Valid {
		t.Error("ApplyGuards changed its input")
	}
	// Off: nothing changes.
	reasons, gc = ApplyGuards(DefaultConfig(), props)
	for i := range props {
		if reasons[i] != props[i].Reason {
			t.Errorf("guards off changed proposal %d", i)
		}
	}
	// Repeat penalty: two valid "of" in the step, each 1/2 accuracy → r = 0.5 - 0.1.
	pp := []Proposal{{Group: 0, Span: "of"}, {Group: 1, Span: "of"}, {Group: 1, Span: "Paris"}}
	var preds []Prediction
	for m := range pp {
		for _, v := range verdicts(1, 2) {
			preds = append(preds, Prediction{Mask: m, Verdict: v})
		}
	}
	cfg = DefaultConfig()
	cfg.RepeatPenalty = 0.1
	res, err := Score(cfg, pp, preds, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !near(res.Gen[0].Reward, 0.4) || !near(res.Gen[1].Reward, 0.4) || !near(res.Gen[2].Reward, 0.5) || res.Stats.Guards.Penalised != 2 {
		t.Errorf("penalty: %+v %+v", res.Gen, res.Stats.Guards)
	}
	if res.Stats.TopSpans[0] != (SpanCount{"of", 2}) || res.Stats.DistinctSpans != 2 || !near(res.Stats.StopWordShare, 2.0/3) {
		t.Errorf("top spans %+v", res.Stats)
	}
}

// A paper-sized step: 32 paragraphs × 8 proposals, 8 predictions each.
func BenchmarkScorePaperStep(b *testing.B) {
	var props []Proposal
	var preds []Prediction
	for g := range 32 {
		for j := range 8 {
			m := len(props)
			props = append(props, Proposal{Group: g, Span: string(rune('a'+j)) + "span", Words: 1})
			for k := range 8 {
				preds = append(preds, Prediction{Mask: m, Verdict: task.Verdict{Parsed: true, Strict: k < j, Normalised: k <= j}})
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Score(DefaultConfig(), props, preds, nil); err != nil {
			b.Fatal(err)
		}
	}
}
