package orchestrator

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"pz/data"
	"pz/orchestrator/bench"
	"pz/orchestrator/reward"
	"pz/orchestrator/sample"
	"pz/orchestrator/traj"
)

// recording remembers the requests it was given.
type recording struct {
	scripted
	reqs []GenRequest
}

func (r *recording) Generate(ctx context.Context, reqs []GenRequest) ([]GenResult, error) {
	r.reqs = append(r.reqs, reqs...)
	return r.scripted.Generate(ctx, reqs)
}

var mathItems = []bench.Item{
	{ID: "q0", Question: "What is 2+2?", Answer: "4", Category: "arithmetic"},
	{ID: "q1", Question: "What is half of 1?", Answer: "\\frac{1}{2}", Category: "fractions"},
}

// mathAnswers: q0 right on even samples; q1 right on every sample but
// with a stop string the model ran on into.
func mathAnswers(p string, i int) string {
	switch {
	case strings.Contains(p, "2+2") && i%2 == 0:
		return "2+2=4 so \\boxed{4}"
	case strings.Contains(p, "2+2"):
		return "\\boxed{5}"
	}
	return "\\boxed{0.5}\nProblem: next \\boxed{9}"
}

func TestRunBench(t *testing.T) {
	a := &recording{scripted: scripted{answer: mathAnswers}}
	o := BenchOptions{Kind: bench.Math, K: 4, Sampling: sample.Options{Temperature: 1}, MaxNewTokens: 8, Seed: 3, Batch: 1}
	comps, vs, res, err := RunBench(context.Background(), a, byteTok{}, mathItems, o)
	if err != nil {
		t.Fatal(err)
	}
	// q0: 2 of 4, q1: 4 of 4 → mean@4 = 0.75, pass@4 = 1.
	if res.Accuracy != 0.75 || res.PassAtK != 1 || res.Metric != "mean@4" || res.Samples != 8 || res.Correct != 6 {
		t.Errorf("result %+v", res)
	}
	if res.Categories["arithmetic"].Accuracy != 0.5 || res.Categories["fractions"].Accuracy != 1 || res.Reasons[bench.ReasonWrong] != 2 {
		t.Errorf("categories %+v reasons %v", res.Categories, res.Reasons)
	}
	if strings.Contains(comps[1][0], "Problem:") || !vs[1][0].Correct {
		t.Errorf("stop string not cut: %q %+v", comps[1][0], vs[1][0])
	}
	// A second model gets identical prompts and seeds.
	b := &recording{scripted: scripted{answer: mathAnswers}}
	if _, _, _, err := RunBench(context.Background(), b, byteTok{}, mathItems, o); err != nil {
		t.Fatal(err)
	}
	if len(a.reqs) != 2 || len(b.reqs) != 2 {
		t.Fatalf("%d and %d requests", len(a.reqs), len(b.reqs))
	}
	for i := range a.reqs {
		if !slices.Equal(a.reqs[i].Prompt, b.reqs[i].Prompt) || a.reqs[i].Seed != b.reqs[i].Seed || a.reqs[i].N != 4 {
			t.Errorf("request %d differs between models", i)
		}
	}
	if a.reqs[0].Seed == a.reqs[1].Seed {
		t.Error("two questions share a seed")
	}
	if _, _, _, err := RunBench(context.Background(), a, byteTok{}, mathItems, BenchOptions{Kind: bench.Math, K: 2, MaxNewTokens: 8}); err == nil {
		t.Error("greedy with k 2 accepted")
	}
}

// TestRLVRStep: q0's samples are right, wrong, right, wrong (rewards 1 0 1
// 0: mean 0.5, sample std √(1/3), advantages ±0.866); q1's are all right,
// so DAPO filters that group and its advantages are 0.
func TestRLVRStep(t *testing.T) {
	eng := &scripted{answer: mathAnswers}
	r, err := NewRLVR(eng, byteTok{}, mathItems, RLVROptions{Kind: bench.Math, Samples: 4, Sampling: sample.Options{Temperature: 1},
		MaxNewTokens: 8, Reward: reward.DefaultConfig(), RunID: "t"})
	if err != nil {
		t.Fatal(err)
	}
	src, err := NewRLVRQuestions(mathItems, 1)
	if err != nil {
		t.Fatal(err)
	}
	p0, _ := src.Next()
	p1, _ := src.Next()
	if p0.ID == p1.ID {
		t.Fatalf("one epoch repeated question %s", p0.ID)
	}
	res, err := r.Step(context.Background(), 0, 0, nil)
	if err != nil || len(res.Rows) != 0 {
		t.Fatalf("empty step: %v %d rows", err, len(res.Rows))
	}
	res, err = r.Step(context.Background(), 0, 0, []data.Passage{p0, p1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 8 {
		t.Fatalf("%d rows", len(res.Rows))
	}
	want := 0.5 / (math.Sqrt(1.0/3) + reward.DefaultEps)
	for _, row := range res.Rows {
		if row.Role != traj.RolePredictor {
			t.Errorf("role %s", row.Role)
		}
		switch row.PassageID {
		case "q0":
			w := want
			if !row.Strict {
				w = -want
			}
			if row.Filtered || math.Abs(float64(row.Advantage)-w) > 1e-5 || row.MaskAccuracy != 0.5 {
				t.Errorf("q0 row %d: advantage %v filtered %v accuracy %v, want %v", row.SampleIndex, row.Advantage, row.Filtered, row.MaskAccuracy, w)
			}
		case "q1":
			if !row.Filtered || row.Advantage != 0 || row.Reward != 1 {
				t.Errorf("q1 row %d: %+v", row.SampleIndex, row)
			}
		}
	}
	if res.Stats.Predictor.FilteredGroups != 1 || res.Stats.Predictor.Groups != 2 || res.Stats.StrictAccuracy != 0.75 || res.Stats.Generator.Rows != 0 {
		t.Errorf("stats %+v", res.Stats)
	}
	// Resume: the cursor continues the epoch; other questions are refused.
	c := src.Cursor()
	again, _ := NewRLVRQuestions(mathItems, 1)
	if err := again.Resume(c); err != nil {
		t.Fatal(err)
	}
	n1, _ := src.Next()
	n2, _ := again.Next()
	if n1.ID != n2.ID {
		t.Errorf("resumed at %s, want %s", n2.ID, n1.ID)
	}
	other, _ := NewRLVRQuestions(mathItems[:1], 1)
	if err := other.Resume(c); err == nil {
		t.Error("resume on other questions accepted")
	}
}
