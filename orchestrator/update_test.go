package orchestrator

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pz/data"
	"pz/export/exporttest"
	"pz/models"
	"pz/models/qwen3"
	"pz/orchestrator/learn"
)

// TestTrainerPPOEpochs: with two epochs a step is two optimizer steps,
// both in the step's metrics line; the loop still runs Opts.Steps steps,
// and a resume with another number of updates per step is refused.
func TestTrainerPPOEpochs(t *testing.T) {
	rt := exporttest.Runtime(t)
	cfg := models.Tiny()
	cfg.VocabSize = 256
	newTrainer := func(out string, uo learn.UpdateOptions) *Trainer {
		l, err := learn.New(rt, &cfg, qwen3.RandomWeights(&cfg, 1, 0.02), learn.Options{LR: 1e-3})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		eng := &loaderEngine{scripted: scripted{answer: func(p string, i int) string {
			if strings.Contains(p, "[mask]") {
				return []string{`\boxed{Paris}`, `\boxed{Rome}`}[i%2]
			}
			return `\mask{Paris}`
		}}}
		o := DefaultRolloutOptions()
		o.Templates, o.GenSamples, o.PredSamples = ShortTemplates(), 2, 2
		r, _ := NewRollout(eng, byteTok{}, o)
		src := data.NewStream([]data.Passage{{ID: "x", Text: "Paris is big."}}, 1, false)
		return &Trainer{Rollout: r, Learner: l, Engine: eng, Data: src, Opts: TrainOptions{Out: out, Steps: 2, Paragraphs: 1, Update: uo}}
	}
	out := t.TempDir()
	tr := newTrainer(out, learn.UpdateOptions{Epochs: 2})
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := tr.Learner.StepCount(); n != 4 {
		t.Errorf("%d optimizer steps, want 4", n)
	}
	f, err := os.Open(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	lines := 0
	for sc.Scan() {
		var m StepMetrics
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		if m.Step != int64(lines) || len(m.LearnUpdates) != 2 || m.LearnUpdates[1].Step != m.LearnUpdates[0].Step+1 {
			t.Errorf("line %d: step %d, updates %+v", lines, m.Step, m.LearnUpdates)
		}
		lines++
	}
	if lines != 2 {
		t.Errorf("%d metrics lines, want 2", lines)
	}
	if _, err := os.Stat(filepath.Join(out, learn.CheckpointName(4))); err != nil {
		t.Errorf("final checkpoint: %v", err)
	}
	if _, err := newTrainer(out, learn.UpdateOptions{}).Resume(context.Background()); err == nil || !strings.Contains(err.Error(), "--ppo-epochs") {
		t.Errorf("resume with 1 update per step: %v, want an error naming --ppo-epochs", err)
	}
	again := newTrainer(out, learn.UpdateOptions{Epochs: 2})
	if from, err := again.Resume(context.Background()); err != nil || from != 2 {
		t.Errorf("resume: step %d, %v; want 2", from, err)
	}
}
