package traj_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"pz/data"
	"pz/orchestrator"
	"pz/orchestrator/bench"
	"pz/orchestrator/reward"
	"pz/orchestrator/sample"
	"pz/orchestrator/traj"
)

// mcEngine answers multiple-choice prompts in the ways the extractors
// read: right, wrong, by option text, and not at all.
type mcEngine struct{}

func (mcEngine) Generate(_ context.Context, reqs []orchestrator.GenRequest) ([]orchestrator.GenResult, error) {
	out := make([]orchestrator.GenResult, len(reqs))
	answers := []string{"The answer is (B).", "\\boxed{A}", "It must be blue.", "no idea", "The answer is (H)"}
	for k, r := range reqs {
		for j := range r.N {
			ids := byteTok{}.Encode(answers[(j+k)%len(answers)])
			lp := make([]float32, len(ids))
			out[k].Completions = append(out[k].Completions, orchestrator.Completion{IDs: ids, SampleLogProbs: lp, PolicyLogProbs: lp, Finish: orchestrator.FinishEOS})
		}
	}
	return out, nil
}

func (mcEngine) Score(context.Context, []orchestrator.ScoreRequest) ([]orchestrator.ScoreResult, error) {
	return nil, nil
}

// TestRLVRRowsPassAudit: RLVR rows re-score with the file's benchmark
// verifier (options kept in passage_text), and a tampered verdict is
// caught.
func TestRLVRRowsPassAudit(t *testing.T) {
	items := []bench.Item{
		{ID: "q1", Question: "Which colour is the sky?", Options: []string{"red", "blue", "green"}, Answer: "B"},
		{ID: "q2", Question: "Which is a fruit?", Options: []string{"apple", "stone", "chair"}, Answer: "A"},
	}
	for _, kind := range []bench.Kind{bench.MMLUPro, bench.SuperGPQA} {
		r, err := orchestrator.NewRLVR(mcEngine{}, byteTok{}, items, orchestrator.RLVROptions{Kind: kind, Samples: 5,
			Sampling: sample.Options{Temperature: 1}, MaxNewTokens: 8, Reward: reward.DefaultConfig(), RunID: "it"})
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.Step(context.Background(), 0, 0, []data.Passage{{ID: "q1"}, {ID: "q2"}})
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := traj.WriteFile(filepath.Join(dir, "s0.parquet"), r.FileMetadata(), res.Rows); err != nil {
			t.Fatal(err)
		}
		rep, err := traj.Audit(context.Background(), traj.AuditOptions{Inputs: []string{dir}})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() {
			var b strings.Builder
			rep.WriteText(&b)
			t.Errorf("%s: RLVR rows fail the audit:\n%s", kind, b.String())
		}
		// Flip one verdict: the audit must notice.
		rows := append([]traj.Row(nil), res.Rows...)
		rows[0].Strict = !rows[0].Strict
		bad := t.TempDir()
		traj.WriteFile(filepath.Join(bad, "s0.parquet"), r.FileMetadata(), rows)
		if rep, err := traj.Audit(context.Background(), traj.AuditOptions{Inputs: []string{bad}}); err != nil || rep.OK() {
			t.Errorf("%s: a flipped verdict passed the audit (%v)", kind, err)
		}
	}
}
