package main

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"pz/export/exporttest"
	"pz/orchestrator/bench"
)

// TestEvalBenchPredictions scores the shipped prediction samples; the
// expected accuracies are counted by hand from the files (see each
// completion): e.g. math has 11 of 18 samples right, and its per-question
// mean is 11/18 because every question has 3 samples.
func TestEvalBenchPredictions(t *testing.T) {
	dir := t.TempDir()
	samples := filepath.Join(repoRoot(), "data", "bench-samples")
	for _, c := range []struct {
		kind     string
		accuracy float64
		metric   string
		reasons  map[string]int
	}{
		{"mmlu-pro", 4.0 / 6, "pass@1", map[string]int{"wrong": 1, "no_answer": 1}},
		{"supergpqa", 3.0 / 5, "pass@1", map[string]int{"wrong": 2}},
		{"math", 11.0 / 18, "mean@3", map[string]int{"wrong": 5, "no_answer": 1, "unclosed_boxed": 1}},
		{"gsm8k", 4.0 / 5, "pass@1", map[string]int{"wrong": 1}},
		{"aime", 13.0 / 20, "mean@4", map[string]int{"wrong": 5, "no_answer": 1, "empty_boxed": 1}},
	} {
		res := filepath.Join(dir, c.kind+".json")
		out := filepath.Join(dir, c.kind+"-rows.jsonl")
		pred := filepath.Join(samples, c.kind+"-predictions.jsonl")
		pz(t, "eval", "--bench", c.kind, "--predictions", pred, "--json", res, "--out", out)
		b, err := os.ReadFile(res)
		if err != nil {
			t.Fatal(err)
		}
		var cmp bench.Comparison
		if err := json.Unmarshal(b, &cmp); err != nil {
			t.Fatal(err)
		}
		a := cmp.Arms[0]
		if math.Abs(a.Accuracy-c.accuracy) > 1e-12 || a.Metric != c.metric || len(a.Reasons) != len(c.reasons) {
			t.Errorf("%s: accuracy %v metric %s reasons %v; want %v %s %v", c.kind, a.Accuracy, a.Metric, a.Reasons, c.accuracy, c.metric, c.reasons)
		}
		for k, n := range c.reasons {
			if a.Reasons[k] != n {
				t.Errorf("%s: reason %s counted %d, want %d", c.kind, k, a.Reasons[k], n)
			}
		}
		rows, _ := os.ReadFile(out)
		lines := strings.Split(strings.TrimSpace(string(rows)), "\n")
		items, err := bench.ReadItems(pred, bench.Kind(c.kind), bench.ReadOptions{Predictions: true})
		if err != nil || len(lines) != len(items) {
			t.Errorf("%s: %d out lines for %d rows (%v)", c.kind, len(lines), len(items), err)
		}
		// The plain sample file has the same questions and reads too.
		if _, err := bench.ReadItems(filepath.Join(samples, c.kind+".jsonl"), bench.Kind(c.kind), bench.ReadOptions{}); err != nil {
			t.Error(err)
		}
	}
}

func TestEvalBenchUsageErrors(t *testing.T) {
	samples := filepath.Join(repoRoot(), "data", "bench-samples")
	for _, args := range [][]string{
		{"eval", "--bench", "mmlu"},
		{"eval", "--bench", "math"},
		{"eval", "--bench", "math", "--model", "m", "--predictions", filepath.Join(samples, "math-predictions.jsonl")},
		{"eval", "--bench", "math", "--model", "m", "--data", filepath.Join(samples, "math.jsonl"), "--k", "4"},
		{"eval", "--model", "m", "--k", "4"},
	} {
		out, err := pzCmd(args...).CombinedOutput()
		if err == nil {
			t.Errorf("pz %s succeeded: %s", strings.Join(args, " "), out)
		}
		if code := exitCode(err); code != 2 {
			t.Errorf("pz %s: exit %d, want 2 (usage): %s", strings.Join(args, " "), code, out)
		}
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err == nil {
		return 0
	}
	return -1
}

// TestEvalBenchModels runs two tiny models on the MMLU-Pro sample with
// sampling: one result arm each, one --out file each with a line per row
// in input order, and the same questions for both.
func TestEvalBenchModels(t *testing.T) {
	exporttest.Runtime(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	pz(t, "init-model", "--preset", "tiny", "--out", a, "--seed", "5")
	pz(t, "init-model", "--preset", "tiny", "--out", b, "--seed", "6")
	data := filepath.Join(repoRoot(), "data", "bench-samples", "mmlu-pro.jsonl")
	res := filepath.Join(dir, "bench.json")
	pz(t, "eval", "--bench", "mmlu-pro", "--model", a, "--model", b, "--data", data, "--k", "2", "--temperature", "1",
		"--top-p", "0.95", "--max-new-tokens", "6", "--out", filepath.Join(dir, "rows.jsonl"), "--json", res, "--threads", "1")
	raw, err := os.ReadFile(res)
	if err != nil {
		t.Fatal(err)
	}
	var cmp bench.Comparison
	if err := json.Unmarshal(raw, &cmp); err != nil {
		t.Fatal(err)
	}
	if len(cmp.Arms) != 2 || cmp.Arms[0].Name != "a" || cmp.Arms[1].Name != "b" {
		t.Fatalf("arms %+v", cmp.Arms)
	}
	for _, arm := range cmp.Arms {
		if arm.Metric != "mean@2" || arm.Questions != 6 || arm.Samples != 12 || arm.TopP != 0.95 || len(arm.Categories) != 6 {
			t.Errorf("arm %s: %+v", arm.Name, arm)
		}
		rows, err := os.ReadFile(filepath.Join(dir, "rows."+arm.Name+".jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(strings.TrimSpace(string(rows)), "\n") {
			var l bench.RowLine
			if err := json.Unmarshal([]byte(line), &l); err != nil || l.Row != i || len(l.Completions) != 2 || len(l.Samples) != 2 {
				t.Errorf("arm %s line %d: %+v %v", arm.Name, i, l, err)
			}
		}
	}
}
