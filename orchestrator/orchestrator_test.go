package orchestrator

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pz/data"
	"pz/export/exporttest"
	"pz/models"
	"pz/models/qwen3"
	"pz/orchestrator/learn"
	"pz/orchestrator/task"
	"pz/orchestrator/traj"
)

// byteTok is a tokenizer whose ids are the text's bytes.
type byteTok struct{}

func (byteTok) EncodeSpecial(s string) []int32 { return byteTok{}.Encode(s) }
func (byteTok) Encode(s string) []int32 {
	ids := make([]int32, len(s))
	for i := range len(s) {
		ids[i] = int32(s[i])
	}
	return ids
}
func (byteTok) Decode(ids []int32) (string, error) {
	b := make([]byte, len(ids))
	for i, id := range ids {
		b[i] = byte(id)
	}
	return string(b), nil
}

// scripted answers each prompt from a function of its text and sample
// index, with fixed log-probs.
type scripted struct {
	answer func(prompt string, i int) string
	scores [][]float32
}

func (s *scripted) Generate(_ context.Context, reqs []GenRequest) ([]GenResult, error) {
	out := make([]GenResult, len(reqs))
	for k, r := range reqs {
		p, _ := byteTok{}.Decode(r.Prompt)
		for i := range r.N {
			ids := byteTok{}.Encode(s.answer(p, i))
			lp := make([]float32, len(ids))
			for j := range lp {
				lp[j] = -0.5
			}
			out[k].Completions = append(out[k].Completions, Completion{IDs: ids, PolicyLogProbs: lp, SampleLogProbs: lp, Finish: FinishEOS})
		}
	}
	return out, nil
}

func (s *scripted) Score(_ context.Context, reqs []ScoreRequest) ([]ScoreResult, error) {
	out := make([]ScoreResult, len(reqs))
	for i, r := range reqs {
		for t := r.From; t < len(r.IDs); t++ {
			out[i].LogProbs = append(out[i].LogProbs, -float32(t))
			out[i].Entropy = append(out[i].Entropy, float32(t%5))
		}
	}
	return out, nil
}

// TestRolloutStepHandComputed: one paragraph, four proposals (two of
// "Paris", one of "Eiffel", one with no mask); the predictor gets "Paris"
// right 3 times of 4 and "Eiffel" right 0 times of 4.
func TestRolloutStepHandComputed(t *testing.T) {
	para := "The Eiffel Tower is in Paris. It is made of iron."
	eng := &scripted{answer: func(p string, i int) string {
		if strings.HasSuffix(p, "Mask:") {
			return []string{`\mask{Paris}`, `\mask{Eiffel}`, `I don't know`, `\mask{Paris}`}[i]
		}
		if strings.Contains(p, "Eiffel") { // "Paris" is masked
			if i < 3 {
				return `\boxed{Paris}`
			}
			return `\boxed{London}`
		}
		return `\boxed{Big}`
	}}
	o := DefaultRolloutOptions()
	o.Templates = ShortTemplates()
	o.GenSamples, o.PredSamples = 4, 4
	r, err := NewRollout(eng, byteTok{}, o)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Step(context.Background(), 0, 0, []data.Passage{{ID: "p", Text: para}})
	if err != nil {
		t.Fatal(err)
	}
	var gen, pred []traj.Row
	for _, row := range res.Rows {
		if row.Role == traj.RoleGenerator {
			gen = append(gen, row)
		} else {
			pred = append(pred, row)
		}
	}
	if len(gen) != 4 || len(pred) != 12 {
		t.Fatalf("%d generator rows, %d predictor rows; want 4 and 12 (3 valid masks × 4)", len(gen), len(pred))
	}
	// r_gen: Paris acc 3/4 → 0.25 (twice), Eiffel acc 0 → 0, invalid → 0.
	wantR := []float64{0.25, 0, 0, 0.25}
	// z-scores of [0.25 0 0 0.25]: mean 0.125, sample std sqrt(4·0.015625/3).
	sd := math.Sqrt(4 * 0.015625 / 3)
	for i, g := range gen {
		if g.Reward != wantR[i] {
			t.Errorf("proposal %d reward %g, want %g", i, g.Reward, wantR[i])
		}
		want := (wantR[i] - 0.125) / (sd + 1e-6)
		if math.Abs(float64(g.Advantage)-want) > 1e-6 {
			t.Errorf("proposal %d advantage %g, want %g", i, g.Advantage, want)
		}
	}
	if gen[2].Valid || gen[2].InvalidReason != task.Missing.String() {
		t.Errorf("proposal 2: valid %v reason %q", gen[2].Valid, gen[2].InvalidReason)
	}
	// Predictions of "Paris" (3 of 4 right): mean 0.75, std 0.5 → ±0.5/0.5.
	for _, p := range pred {
		switch {
		case p.Target == "Paris" && p.Strict:
			if math.Abs(float64(p.Advantage)-0.25/(0.5+1e-6)) > 1e-5 || p.Filtered {
				t.Errorf("correct prediction advantage %g filtered %v", p.Advantage, p.Filtered)
			}
		case p.Target == "Paris":
			if math.Abs(float64(p.Advantage)+0.75/(0.5+1e-6)) > 1e-5 {
				t.Errorf("wrong prediction advantage %g", p.Advantage)
			}
		case p.Target == "Eiffel":
			if !p.Filtered || p.Advantage != 0 { // accuracy 0: DAPO filter
				t.Errorf("Eiffel group: filtered %v advantage %g", p.Filtered, p.Advantage)
			}
		}
	}
	if s := res.Stats; s.ValidMasks != 3 || s.DistinctSpans != 2 || math.Abs(s.StrictAccuracy-0.5) > 1e-12 {
		t.Errorf("stats: valid %d distinct %d accuracy %g", s.ValidMasks, s.DistinctSpans, s.StrictAccuracy)
	}
}

func TestWilson(t *testing.T) {
	// k=5, n=10: p=0.5, z=1.96 → (0.2366, 0.7634) (standard table value).
	lo, hi := Wilson(5, 10)
	if math.Abs(lo-0.2366) > 1e-4 || math.Abs(hi-0.7634) > 1e-4 {
		t.Errorf("Wilson(5,10) = %.4f, %.4f", lo, hi)
	}
	if lo, hi := Wilson(0, 20); lo != 0 || math.Abs(hi-0.1611) > 1e-4 {
		t.Errorf("Wilson(0,20) = %.4f, %.4f", lo, hi)
	}
}

func TestEvaluate(t *testing.T) {
	ps := []data.Passage{
		{ID: "a", Text: "Marie Curie won the Nobel Prize in Physics and later in Chemistry for her work."},
		{ID: "b", Text: "The river flows north through the valley before it reaches the cold sea at last."},
	}
	items := MakeEvalSet(ps, 2, 1)
	again := MakeEvalSet(ps, 2, 1)
	if len(items) == 0 || len(items) != len(again) {
		t.Fatalf("%d items, %d on a rerun", len(items), len(again))
	}
	for i, it := range items {
		if it != again[i] {
			t.Fatalf("item %d differs on a rerun: %+v vs %+v", i, it, again[i])
		}
		if strings.Count(it.Text, it.Span) != 1 {
			t.Errorf("span %q occurs %d times", it.Span, strings.Count(it.Text, it.Span))
		}
	}
	// An engine that knows every answer: accuracy 1 in every kind.
	eng := &scripted{answer: func(p string, i int) string {
		for _, it := range items {
			m, _ := task.ValidateMask(it.Text, it.Span, task.MaskOptions{})
			if strings.HasPrefix(p, task.MaskParagraph(it.Text, m, true, nil)) {
				return `\boxed{` + it.Span + `}`
			}
		}
		return "?"
	}}
	rep, err := Evaluate(context.Background(), eng, byteTok{}, items, EvalOptions{Templates: ShortTemplates()})
	if err != nil {
		t.Fatal(err)
	}
	for k, r := range rep.Kinds {
		if r.Accuracy != 1 || r.N == 0 {
			t.Errorf("%s: accuracy %g over %d", k, r.Accuracy, r.N)
		}
	}
}

func TestScoreJSONL(t *testing.T) {
	in := strings.NewReader("{\"ids\":[1,2,3]}\n{\"ids\":[4]}\n{\"ids\":[5,6]}\n")
	var out bytes.Buffer
	sum, err := ScoreJSONL(context.Background(), &scripted{}, "in", in, &out, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := "{\"logprobs\":[-1,-2]}\n{\"logprobs\":[]}\n{\"logprobs\":[-1]}\n"
	if out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
	if sum.Tokens != 3 || math.Abs(sum.NLL-4.0/3) > 1e-12 {
		t.Errorf("summary %+v", sum)
	}
	if _, err := ScoreJSONL(context.Background(), &scripted{}, "bad.jsonl", strings.NewReader("{\"idz\":[1]}\n"), &out, 2); err == nil || !strings.Contains(err.Error(), "bad.jsonl:1") {
		t.Errorf("error %v, want one naming bad.jsonl:1", err)
	}
}

// TestTrainerCancelLeavesCheckpoint: cancelling the context stops the loop
// between steps and leaves a resumable checkpoint whose cursor matches.
func TestTrainerCancelLeavesCheckpoint(t *testing.T) {
	rt := exporttest.Runtime(t)
	cfg := models.Tiny()
	cfg.VocabSize = 256
	l, err := learn.New(rt, &cfg, qwen3.RandomWeights(&cfg, 1, 0.02), learn.Options{LR: 1e-3})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	eng := &loaderEngine{scripted: scripted{answer: func(p string, i int) string { return `\mask{Paris}` }}}
	o := DefaultRolloutOptions()
	o.Templates, o.GenSamples, o.PredSamples = ShortTemplates(), 2, 2
	r, _ := NewRollout(eng, byteTok{}, o)
	src := data.NewStream([]data.Passage{{ID: "x", Text: "Paris is big."}, {ID: "y", Text: "Rome is old."}}, 1, false)
	ctx, cancel := context.WithCancel(context.Background())
	out := t.TempDir()
	tr := &Trainer{Rollout: r, Learner: l, Engine: eng, Data: src, Opts: TrainOptions{Out: out, Steps: 100, Paragraphs: 1}}
	tr.OnStep = func(m StepMetrics) {
		if m.Step == 1 {
			cancel()
		}
	}
	err = tr.Run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	dir, err := learn.Latest(out)
	if err != nil || dir == "" {
		t.Fatalf("no checkpoint after cancel: %v", err)
	}
	st, err := learn.ReadTrainerState(dir)
	if err != nil || st.Step != 2 {
		t.Fatalf("checkpoint step %v (%v), want 2", st, err)
	}
	b, _ := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
	if n := strings.Count(string(b), "\n"); n != 2 {
		t.Errorf("%d metrics lines, want 2", n)
	}
}

type loaderEngine struct {
	scripted
	loads int
}

func (e *loaderEngine) LoadWeights(context.Context, map[string][]float32, int64) error {
	e.loads++
	return nil
}

func TestPoolComparison(t *testing.T) {
	cmp := Comparison{Arms: []Arm{
		{Name: "pz-1", Kinds: map[string]*KindResult{KindSingle: {N: 10, Correct: 3, Normalised: 0.5}}},
		{Name: "pz-2", Kinds: map[string]*KindResult{KindSingle: {N: 10, Correct: 7, Normalised: 0.7}}},
		{Name: "rs-1", Kinds: map[string]*KindResult{KindSingle: {N: 10, Correct: 1}}},
	}}
	a, err := cmp.Pool("pz", "pz-*")
	if err != nil {
		t.Fatal(err)
	}
	r := a.Kinds[KindSingle]
	lo, hi := Wilson(10, 20)
	if r.N != 20 || r.Correct != 10 || r.Accuracy != 0.5 || r.Low != lo || r.High != hi || math.Abs(r.Normalised-0.6) > 1e-12 {
		t.Errorf("pooled %+v", r)
	}
	if _, err := cmp.Pool("x", "nothing-*"); err == nil {
		t.Error("no error for a pattern matching no arm")
	}
}
