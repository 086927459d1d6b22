package traj_test

// Integration check: the rollout's own rows (orchestrator.Rollout with a
// canned engine and a byte tokenizer) must pass the audit, with and without
// the collapse guards.

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"pz/data"
	"pz/orchestrator"
	"pz/orchestrator/traj"
)

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

var passages = []data.Passage{
	{ID: "a#0", Text: "The Eiffel Tower is in Paris. Paris is the capital of France. It was built of iron."},
	{ID: "b#0", Text: "Mount Everest is the highest mountain of Asia. It lies in the Himalayas of Nepal."},
	{ID: "c#0", Text: "Marie Curie won the Nobel Prize in Physics. She was born in Warsaw, Poland."},
}

// cannedEngine proposes masks from the paragraph's words (and broken ones),
// and answers with a word that the masked prompt no longer shows.
type cannedEngine struct{ vocab []string }

func (e cannedEngine) Generate(_ context.Context, reqs []orchestrator.GenRequest) ([]orchestrator.GenResult, error) {
	out := make([]orchestrator.GenResult, len(reqs))
	for k, r := range reqs {
		prompt, _ := byteTok{}.Decode(r.Prompt)
		for j := range r.N {
			var text string
			finish := orchestrator.FinishEOS
			if strings.HasPrefix(prompt, "Generate a mask") {
				words := strings.Fields(prompt[strings.Index(prompt, "Paragraph: ")+11:])
				switch j % 8 {
				case 0, 1:
					text = `I pick \mask{` + strings.Trim(words[1], ".,") + `}`
				case 2:
					text = `\mask{of}`
				case 3:
					text = "no mask here"
				case 4:
					text = `\mask{` + strings.Trim(words[4], ".,")
					finish = orchestrator.FinishLength
				case 5:
					text = "\\mask{" + strings.Trim(words[2], ".,")[:1] + "\xc3}"
				case 6:
					text = `\mask{ }`
				case 7:
					text = `\mask{` + strings.Trim(words[4], ".,") + `}`
				}
			} else {
				hidden := "zzz"
				for _, w := range e.vocab {
					if !strings.Contains(prompt, w) {
						hidden = w
						break
					}
				}
				switch (j + k) % 4 {
				case 0:
					text = `\boxed{` + hidden + `}`
				case 1:
					text = `\boxed{ ` + strings.ToLower(hidden) + `.}`
				case 2:
					text = `\boxed{zzz}`
				case 3:
					text = `\boxed{` + hidden
					finish = orchestrator.FinishLength
				}
			}
			ids := byteTok{}.Encode(text)
			lp := make([]float32, len(ids))
			for i := range lp {
				lp[i] = -0.25
			}
			out[k].Completions = append(out[k].Completions, orchestrator.Completion{IDs: ids, SampleLogProbs: lp, PolicyLogProbs: lp, Finish: finish})
		}
	}
	return out, nil
}

func (cannedEngine) Score(context.Context, []orchestrator.ScoreRequest) ([]orchestrator.ScoreResult, error) {
	return nil, nil
}

func TestRolloutRowsPassAudit(t *testing.T) {
	var vocab []string
	for _, p := range passages {
		for _, w := range strings.Fields(p.Text) {
			vocab = append(vocab, strings.Trim(w, ".,"))
		}
	}
	for _, guards := range []bool{false, true} {
		opts := orchestrator.DefaultRolloutOptions()
		opts.RunID = "it"
		if guards {
			opts.Mask.RequireContentWord = true
			opts.Reward.DedupWithinGroup = true
			opts.Reward.BatchCap = 2
			opts.Reward.RepeatPenalty = 0.05
		}
		ro, err := orchestrator.NewRollout(cannedEngine{vocab}, byteTok{}, opts)
		if err != nil {
			t.Fatal(err)
		}
		res, err := ro.Step(context.Background(), 3, 3, passages)
		if err != nil {
			t.Fatal(err)
		}
		valid, preds := 0, 0
		for _, r := range res.Rows {
			if r.Role == traj.RoleGenerator && r.Valid {
				valid++
			}
			if r.Role == traj.RolePredictor {
				preds++
			}
		}
		if valid == 0 || preds == 0 {
			t.Fatalf("guards=%v: canned rollout made %d valid masks, %d predictions", guards, valid, preds)
		}
		dir := t.TempDir()
		if err := traj.WriteFile(filepath.Join(dir, "s3.parquet"), ro.FileMetadata(), res.Rows); err != nil {
			t.Fatal(err)
		}
		rep, err := traj.Audit(context.Background(), traj.AuditOptions{Inputs: []string{dir}})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		rep.WriteText(&buf)
		if !rep.OK() {
			t.Errorf("guards=%v: rollout rows fail the audit:\n%s", guards, buf.String())
		}
		t.Logf("guards=%v:\n%s", guards, buf.String())
	}
}
