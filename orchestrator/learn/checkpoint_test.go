package learn

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"pz/export/exporttest"
	"pz/models"
	"pz/models/qwen3"
)

// TestResumeIsBitExact: 2 steps, checkpoint, a fresh learner restored from
// it, 2 more steps — the same losses and weights, bit for bit, as 4 steps
// without interruption.
func TestResumeIsBitExact(t *testing.T) {
	cfg := microConfig()
	w0 := qwen3.RandomWeights(cfg, 9, 0.5)
	opts := Options{LR: 1e-2, Schedule: "cosine", WarmupSteps: 1, TotalSteps: 4, WeightDecay: 0.1, MaxGradNorm: 1}
	ctx := context.Background()
	steps := [][]Sample{batch(), batch()[1:], batch()[:2], batch()}
	steps[1][0].Advantage = 2

	l, err := New(exporttest.Runtime(t), cfg, cloneWeights(w0), opts)
	if err != nil {
		t.Fatal(err)
	}
	var want []float64
	for _, b := range steps {
		m, err := l.Step(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, m.Loss)
	}
	wantW := l.Weights()
	l.Close()

	out := t.TempDir()
	l1, err := New(exporttest.Runtime(t), cfg, cloneWeights(w0), opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range steps[:2] {
		if _, err := l1.Step(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l1.Save(out, SaveOptions{KeepLast: 1, Extra: map[string]int{"cursor": 2}}); err != nil {
		t.Fatal(err)
	}
	l1.Close()

	dir, err := Latest(out)
	if err != nil || filepath.Base(dir) != "checkpoint-2" {
		t.Fatalf("latest %q, %v", dir, err)
	}
	ck, err := models.LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := New(exporttest.Runtime(t), ck.Config, ck.Weights, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	st, err := l2.Restore(dir)
	if err != nil {
		t.Fatal(err)
	}
	var extra struct{ Cursor int }
	if err := json.Unmarshal(st.Extra, &extra); err != nil || st.Step != 2 || extra.Cursor != 2 {
		t.Errorf("trainer state step %d extra %s (%v)", st.Step, st.Extra, err)
	}
	for i, b := range steps[2:] {
		m, err := l2.Step(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		if m.Loss != want[2+i] {
			t.Errorf("step %d loss %.17g after resume, %.17g uninterrupted", 2+i, m.Loss, want[2+i])
		}
	}
	for k, v := range l2.Weights() {
		for i := range v {
			if v[i] != wantW[k][i] {
				t.Fatalf("%s[%d] = %g after resume, %g uninterrupted", k, i, v[i], wantW[k][i])
			}
		}
	}
	// keep-last-1 after a second save leaves only the newest.
	if _, err := l2.Save(out, SaveOptions{KeepLast: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "checkpoint-2")); !os.IsNotExist(err) {
		t.Errorf("checkpoint-2 not pruned: %v", err)
	}
}
