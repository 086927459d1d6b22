package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pz/export/exporttest"
	"pz/orchestrator/traj"
)

// TestTrainRLVR runs `pz train --task rlvr` on the tiny preset with the
// shipped GSM8K sample: it must complete, write checkpoints, metrics in
// the RLVR mode and trajectories of one role whose targets are the
// questions' answers, and resume to a further step. Learning is not
// asserted (a random model answers nothing right).
func TestTrainRLVR(t *testing.T) {
	exporttest.Runtime(t)
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	pz(t, "init-model", "--preset", "tiny", "--out", model, "--seed", "5")
	out := filepath.Join(dir, "run")
	args := func(steps string) []string {
		return []string{"train", "--task", "rlvr", "--bench", "gsm8k", "--model", model,
			"--data", filepath.Join(repoRoot(), "data", "bench-samples", "gsm8k.jsonl"), "--out", out, "--steps", steps,
			"--paragraphs", "2", "--pred-samples", "4", "--pred-max-tokens", "8", "--no-filter", "--entropy-coef", "0.01",
			"--lr", "1e-3", "--checkpoint-every", "1", "--keep-last", "5", "--threads", "1", "--seed", "3"}
	}
	pz(t, args("2")...)
	for _, f := range []string{"checkpoint-1/model.safetensors", "checkpoint-2/model.safetensors", "checkpoint-2/trainer_state.json", "trajectories/step-000001.parquet"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	f, err := os.Open(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	lines := 0
	for sc.Scan() {
		var m struct {
			Mode      string
			LearnRows int `json:"learn_rows"`
			Rollout   struct {
				Predictor struct{ Rows, Groups int }
			}
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		if m.Mode != "rlvr" || m.Rollout.Predictor.Groups != 2 || m.Rollout.Predictor.Rows != 8 || m.LearnRows != 8 {
			t.Errorf("metrics line %d: %+v", lines, m)
		}
		lines++
	}
	if lines != 2 {
		t.Errorf("%d metrics lines, want 2", lines)
	}
	rows, err := traj.ReadFile(filepath.Join(out, "trajectories", "step-000000.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	answers := map[string]bool{"18": true, "12": true, "200": true, "1,450": true, "37": true}
	for _, r := range rows {
		if r.Role != traj.RolePredictor || !answers[r.Target] || len(r.CompletionIDs) == 0 {
			t.Errorf("trajectory row: role %s target %q, %d completion ids", r.Role, r.Target, len(r.CompletionIDs))
		}
	}
	// The audit re-scores the rows with the GSM8K verifier.
	if out := pz(t, "verify", "--in", filepath.Join(out, "trajectories")); !strings.Contains(out, "OK: every row matches") {
		t.Errorf("pz verify: %s", out)
	}
	pz(t, append(args("3"), "--resume")...)
	if _, err := os.Stat(filepath.Join(out, "checkpoint-3", "model.safetensors")); err != nil {
		t.Error(err)
	}
}
