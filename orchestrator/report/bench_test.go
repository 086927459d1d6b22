package report

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchTable: a run folder's bench.json and a named result file each
// give table rows; a named file that is absent or not JSON is an error
// naming it.
func TestBenchTable(t *testing.T) {
	root := t.TempDir()
	a := writeRun(t, filepath.Join(root, "a"), threeSteps)
	os.WriteFile(filepath.Join(a, "bench.json"), []byte(`{"arms":[{"name":"ckpt-100","model":"m","bench":"math","metric":"mean@4","temperature":0.6,"top_p":0.95,
		"questions":500,"accuracy":0.4125,"ci95_low":0.38,"ci95_high":0.445,"reasons":{"wrong":1000,"no_answer":175},
		"categories":{"Algebra":{"questions":124,"accuracy":0.5}}}]}`), 0o644)
	extra := filepath.Join(root, "mmlu.json")
	os.WriteFile(extra, []byte(`{"arms":[{"name":"preds","bench":"mmlu-pro","metric":"pass@1","questions":6,"accuracy":0.5,"ci95_low":0.2,"ci95_high":0.8,"reasons":{}}]}`), 0o644)
	res, err := Generate(context.Background(), Options{RunDirs: []string{a}, Benchmarks: []string{extra}, NoPNG: true, Log: quietLog(new(bytes.Buffer))})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(res.HTML)
	page := string(b)
	for _, want := range []string{"<h2>Downstream benchmarks</h2>", "<td class=\"l\">ckpt-100</td>", "41.2% [38.0, 44.5]", "0.6 / 0.95",
		"no_answer 175, wrong 1000", "Algebra 50.0% (n=124)", "<td class=\"l\">preds</td>", "50.0% [20.0, 80.0]"} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	bad := filepath.Join(root, "bad.json")
	os.WriteFile(bad, []byte(`{"arms": [`), 0o644)
	for _, p := range []string{bad, filepath.Join(root, "absent.json")} {
		if _, err := Generate(context.Background(), Options{RunDirs: []string{a}, Benchmarks: []string{p}, NoPNG: true}); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("benchmark file %s: err = %v", p, err)
		}
	}
}
