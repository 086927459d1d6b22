package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"pz/orchestrator/bench"
)

// benchFile is one downstream-benchmark result file (pz eval --bench
// --json): a bench.Comparison.
type benchFile struct {
	path string
	bench.Comparison
}

// loadBenchmarks reads the files Options.Benchmarks names and each run
// folder's bench.json when there is one.
func loadBenchmarks(opts Options, runs []*Run) ([]*benchFile, error) {
	paths := append([]string(nil), opts.Benchmarks...)
	for _, r := range runs {
		paths = append(paths, filepath.Join(r.Dir, "bench.json"))
	}
	var out []*benchFile
	for i, p := range paths {
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) && i >= len(opts.Benchmarks) {
			continue // looked for, not there
		}
		if err != nil {
			return nil, fmt.Errorf("report: benchmark results: %w", err)
		}
		f := &benchFile{path: p}
		if err := json.Unmarshal(b, &f.Comparison); err != nil {
			return nil, fmt.Errorf("report: benchmark results %s: %w", p, err)
		}
		out = append(out, f)
	}
	return out, nil
}

// benchSection renders one table row per arm of every benchmark file:
// accuracy with its 95% interval, the metric and sampling, and the
// wrong samples by reason. Categories go in a title tooltip, not columns.
func benchSection(b *strings.Builder, files []*benchFile) {
	if len(files) == 0 {
		return
	}
	b.WriteString("<h2>Downstream benchmarks</h2>\n<table class=\"bench\">\n")
	b.WriteString("<tr><th class=\"l\">arm</th><th class=\"l\">bench</th><th>metric</th><th>accuracy [95% CI]</th><th>questions</th><th>T / top-p</th><th class=\"l\">wrong by reason</th><th class=\"l\">file</th></tr>\n")
	for _, f := range files {
		for _, a := range f.Arms {
			var cats []string
			for k, s := range a.Categories {
				cats = append(cats, fmt.Sprintf("%s %.1f%% (n=%d)", k, 100*s.Accuracy, s.Questions))
			}
			sort.Strings(cats)
			var reasons []string
			for k, n := range a.Reasons {
				reasons = append(reasons, fmt.Sprintf("%s %d", k, n))
			}
			sort.Strings(reasons)
			sampling := "–"
			if a.Model != "" {
				sampling = fmt.Sprintf("%g / %g", a.Temperature, a.TopP)
			}
			fmt.Fprintf(b, "<tr title=\"%s\"><td class=\"l\">%s</td><td class=\"l\">%s</td><td>%s</td><td>%.1f%% [%.1f, %.1f]</td><td>%d</td><td>%s</td><td class=\"l\">%s</td><td class=\"l meta\">%s</td></tr>\n",
				esc(strings.Join(cats, "; ")), esc(a.Name), esc(string(a.Bench)), esc(a.Metric), 100*a.Accuracy, 100*a.Low, 100*a.High,
				a.Questions, esc(sampling), esc(strings.Join(reasons, ", ")), esc(f.path))
		}
	}
	b.WriteString("</table>\n")
}
