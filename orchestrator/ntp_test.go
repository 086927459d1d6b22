package orchestrator

import (
	"context"
	"strings"
	"testing"

	"pz/data"
)

// wordTok is a tokenizer whose tokens are words with their leading space
// (" cat"), as BPE vocabularies have them.
type wordTok struct{ words []string }

func (w *wordTok) EncodeSpecial(s string) []int32 { return w.Encode(s) }
func (w *wordTok) Encode(s string) []int32 {
	var ids []int32
	for i, f := range strings.Split(s, " ") {
		if i > 0 {
			f = " " + f
		}
		id := -1
		for k, x := range w.words {
			if x == f {
				id = k
			}
		}
		if id < 0 {
			id = len(w.words)
			w.words = append(w.words, f)
		}
		ids = append(ids, int32(id))
	}
	return ids
}
func (w *wordTok) Decode(ids []int32) (string, error) {
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(w.words[id])
	}
	return b.String(), nil
}

// tokScripted is scripted with another tokenizer than byteTok.
type tokScripted struct {
	tok    Tokenizer
	answer func(prompt string, i int) string
}

func (s *tokScripted) Generate(_ context.Context, reqs []GenRequest) ([]GenResult, error) {
	out := make([]GenResult, len(reqs))
	for k, r := range reqs {
		p, _ := s.tok.Decode(r.Prompt)
		for i := range r.N {
			ids := s.tok.Encode(s.answer(p, i))
			lp := make([]float32, len(ids))
			out[k].Completions = append(out[k].Completions, Completion{IDs: ids, PolicyLogProbs: lp, SampleLogProbs: lp, Finish: FinishEOS})
		}
	}
	return out, nil
}

func (s *tokScripted) Score(context.Context, []ScoreRequest) ([]ScoreResult, error) { return nil, nil }

// TestNextTokenBaselinesUseExactMatch: the next token is " y" (with its
// space); the predictor answers \boxed{y}, \boxed{ y}, \boxed{Y} and
// \boxed{ y z}. Exact match (the default) takes the first two, the
// normalised flag adds the third, and RPT's prefix match takes only the
// second and the fourth.
func TestNextTokenBaselinesUseExactMatch(t *testing.T) {
	letters := "a b c d e f g h i j k l m n o p q r s t u v w x y z"
	answers := []string{`\boxed{%s}`, `\boxed{ %s}`, `\boxed{%S}`, `\boxed{ %s %n}`}
	tok := &wordTok{}
	eng := &tokScripted{tok: tok, answer: func(p string, i int) string {
		f := strings.Fields(p)
		last := f[len(f)-1][0]
		next, after := string(last+1), string(last+2)
		r := strings.NewReplacer("%s", next, "%S", strings.ToUpper(next), "%n", after)
		return r.Replace(answers[i])
	}}
	for _, c := range []struct {
		reward     string
		normalised bool
		want       []bool
	}{
		{"", false, []bool{true, true, false, false}},
		{NTPExact, true, []bool{true, true, true, false}},
		{NTPPrefix, false, []bool{false, true, false, true}},
	} {
		o := DefaultRolloutOptions()
		o.Mode, o.PredSamples, o.NTPMinPrefix, o.NTPReward, o.BaselineMasks = ModeRandomNTP, len(answers), 2, c.reward, 1
		o.Reward.RewardNormalised = c.normalised
		r, err := NewRollout(eng, tok, o)
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.Step(context.Background(), 0, 0, []data.Passage{{ID: "p", Text: letters}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rows) != len(answers) {
			t.Fatalf("%s: %d rows", c.reward, len(res.Rows))
		}
		for i, row := range res.Rows {
			if got := row.Reward == 1; got != c.want[i] {
				t.Errorf("ntp-reward %q normalised %v: answer %q for target %q: reward %v, want %v",
					c.reward, c.normalised, row.Parsed, row.Target, row.Reward, c.want[i])
			}
		}
	}
	if _, err := NewRollout(eng, tok, RolloutOptions{NTPReward: "fuzzy"}); err == nil {
		t.Error("an unknown --ntp-reward was accepted")
	}
}

// TestBaselinesMatchPretrainZeroMasks: by default a random-span or
// next-token step draws GenSamples masks per paragraph, so it makes as
// many predictions as a PretrainZero step whose proposals are all valid;
// the counts are in the step result.
func TestBaselinesMatchPretrainZeroMasks(t *testing.T) {
	eng := &scripted{answer: func(p string, i int) string {
		if strings.Contains(p, "[mask]") || strings.Contains(p, "Context") {
			return `\boxed{Paris}`
		}
		return `\mask{Paris}`
	}}
	passages := []data.Passage{
		{ID: "a", Text: "Paris is the capital of France and its largest city by far."},
		{ID: "b", Text: "The river Seine flows through Paris on its way to the sea."},
	}
	const gen, pred = 3, 2
	counts := map[Mode][2]int{}
	for _, m := range []Mode{ModePretrainZero, ModeRandomSpan, ModeRandomNTP} {
		o := DefaultRolloutOptions()
		o.Mode, o.GenSamples, o.PredSamples, o.NTPMinPrefix = m, gen, pred, 4
		o.Templates.Generation, o.Templates.Prediction = "{paragraph}\nMask:", "{paragraph}\nAnswer:"
		r, err := NewRollout(eng, byteTok{}, o)
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.Step(context.Background(), 0, 0, passages)
		if err != nil {
			t.Fatal(err)
		}
		counts[m] = [2]int{res.Masks, res.Predictions}
		if res.Masks != len(passages)*gen || res.Predictions != res.Masks*pred {
			t.Errorf("%s: %d masks, %d predictions; want %d and %d", m, res.Masks, res.Predictions, len(passages)*gen, len(passages)*gen*pred)
		}
	}
	t.Logf("masks, predictions per mode: %v", counts)
}
