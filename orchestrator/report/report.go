package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"pz/internal/atomicfile"
)

// Options say what to report and where.
type Options struct {
	// RunDirs are run folders holding metrics.jsonl (or metrics.jsonl
	// files themselves). Several are overlaid, labelled by folder name.
	RunDirs []string
	// Out is the HTML file to write. Default: RUN_DIR/report/report.html
	// for one run, <parent of the first run>/report/report.html for more.
	// The PNGs go next to it, named <stem>-<chart>.png.
	Out string
	// Comparisons are extra comparison.json (or eval.json) files to show.
	Comparisons []string
	// Benchmarks are pz eval --bench result files (RUN_DIR/bench.json is
	// read without being named).
	Benchmarks []string
	// Title of the page (default: from the run names).
	Title string
	// Refresh, when positive, makes the page reload itself this often
	// (for watching a live run together with Watch).
	Refresh time.Duration
	// NoPNG skips the PNG files.
	NoPNG bool
	Log   *slog.Logger
}

// Result lists the files written.
type Result struct {
	HTML string
	PNGs []string
}

// Run is one run folder's data.
type Run struct {
	Name  string
	Dir   string
	Steps []Step
	// Eval is the run folder's eval.json, when there is one.
	Eval *Eval
	// Warning, when set, says why the run's curves cannot be trusted as
	// one run (steps out of order: two runs written into one folder).
	Warning string
}

// Comparison is the format of comparison.json: held-out accuracy per arm
// (see the package documentation). It reads what orchestrator.Comparison
// writes (pz eval --json with several models).
type Comparison struct {
	Title string `json:"title,omitempty"`
	Note  string `json:"note,omitempty"`
	Arms  []Arm  `json:"arms"`
	path  string
}

// Arm is one row of a comparison.
type Arm struct {
	Name  string                 `json:"name"`
	Model string                 `json:"model,omitempty"` // the evaluated model's folder, if known
	Kinds map[string]*KindResult `json:"kinds"`
}

// Load reads the runs and the comparison files that Options name or that
// sit in the run folders or their common parent.
func Load(opts Options) ([]*Run, []*Comparison, error) {
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	if len(opts.RunDirs) == 0 {
		return nil, nil, errors.New("report: no run folder given")
	}
	var runs []*Run
	for _, arg := range opts.RunDirs {
		dir, file := arg, filepath.Join(arg, "metrics.jsonl")
		if st, err := os.Stat(arg); err == nil && !st.IsDir() {
			dir, file = filepath.Dir(arg), arg
		}
		steps, err := ReadMetrics(file, log)
		if err != nil {
			return nil, nil, fmt.Errorf("report: %w", err)
		}
		if len(steps) == 0 {
			log.Warn("report: no steps yet", "file", file)
		}
		r := &Run{Dir: dir, Steps: steps, Warning: stepOrder(steps)}
		if r.Warning != "" {
			log.Warn("report: "+r.Warning, "file", file)
		}
		ev, err := readEval(filepath.Join(dir, "eval.json"))
		if err != nil {
			return nil, nil, fmt.Errorf("report: %w", err)
		}
		r.Eval = ev
		runs = append(runs, r)
	}
	nameRuns(runs)

	var paths []string
	paths = append(paths, opts.Comparisons...)
	for _, r := range runs {
		paths = append(paths, filepath.Join(r.Dir, "comparison.json"))
	}
	if p := commonParent(runs); p != "" {
		paths = append(paths, filepath.Join(p, "comparison.json"))
	}
	var comps []*Comparison
	seen := map[string]bool{}
	for i, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			abs = p
		}
		if seen[abs] {
			continue
		}
		seen[abs] = true
		c, err := readComparison(p)
		switch {
		case errors.Is(err, fs.ErrNotExist) && i >= len(opts.Comparisons):
			continue // looked for, not there
		case err != nil:
			return nil, nil, fmt.Errorf("report: %w", err)
		}
		comps = append(comps, c)
	}
	return runs, comps, nil
}

// nameRuns labels runs by folder name, adding the parent when two clash.
func nameRuns(runs []*Run) {
	count := map[string]int{}
	for _, r := range runs {
		r.Name = filepath.Base(filepath.Clean(r.Dir))
		count[r.Name]++
	}
	for _, r := range runs {
		if count[r.Name] > 1 {
			abs, _ := filepath.Abs(r.Dir)
			r.Name = filepath.Base(filepath.Dir(abs)) + "/" + r.Name
		}
	}
}

// commonParent is the folder that holds all the runs, when there are
// several and they share one.
func commonParent(runs []*Run) string {
	if len(runs) < 2 {
		return ""
	}
	var p string
	for i, r := range runs {
		abs, err := filepath.Abs(r.Dir)
		if err != nil {
			return ""
		}
		if d := filepath.Dir(abs); i == 0 {
			p = d
		} else if d != p {
			return ""
		}
	}
	return p
}

func readEval(path string) (*Eval, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	var e Eval
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("eval %s: %w", path, err)
	}
	return &e, nil
}

// readComparison reads a comparison.json, or an eval.json (one arm named
// after its folder).
func readComparison(path string) (*Comparison, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("comparison: %w", err)
	}
	var c struct {
		Comparison
		Kinds map[string]*KindResult `json:"kinds"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("comparison %s: %w", path, err)
	}
	out := c.Comparison
	if len(out.Arms) == 0 && len(c.Kinds) > 0 {
		out.Arms = []Arm{{Name: filepath.Base(filepath.Dir(path)), Kinds: c.Kinds}}
	}
	if len(out.Arms) == 0 {
		return nil, fmt.Errorf("comparison %s: field arms: no arms", path)
	}
	for i, a := range out.Arms {
		if a.Name == "" {
			return nil, fmt.Errorf("comparison %s: arms[%d].name: empty", path, i)
		}
	}
	out.path = path
	return &out, nil
}

// outPaths resolves the HTML path.
func outPath(opts Options, runs []*Run) string {
	if opts.Out != "" {
		return opts.Out
	}
	if p := commonParent(runs); p != "" {
		return filepath.Join(p, "report", "report.html")
	}
	base := runs[0].Dir
	if len(runs) > 1 {
		base = filepath.Dir(filepath.Clean(base))
	}
	return filepath.Join(base, "report", "report.html")
}

// Generate reads the runs and writes the report.
func Generate(ctx context.Context, opts Options) (Result, error) {
	runs, comps, err := Load(opts)
	if err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	out, err := filepath.Abs(outPath(opts, runs))
	if err != nil {
		return Result{}, fmt.Errorf("report: %w", err)
	}
	dir := filepath.Dir(out)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Result{}, fmt.Errorf("report: %w", err)
	}
	charts := buildCharts(runs)
	stem := strings.TrimSuffix(filepath.Base(out), filepath.Ext(out))
	res := Result{HTML: out}
	pngName := map[string]string{}
	if !opts.NoPNG {
		for _, c := range charts {
			if err := ctx.Err(); err != nil {
				return Result{}, err
			}
			b, err := c.png()
			if err != nil {
				return Result{}, fmt.Errorf("report: chart %s: %w", c.Slug, err)
			}
			name := stem + "-" + c.Slug + ".png"
			p := filepath.Join(dir, name)
			if err := atomicfile.WriteFile(p, b, 0o644); err != nil {
				return Result{}, fmt.Errorf("report: write %w", err)
			}
			pngName[c.Slug] = name
			res.PNGs = append(res.PNGs, p)
		}
	}
	benches, err := loadBenchmarks(opts, runs)
	if err != nil {
		return Result{}, err
	}
	page := renderHTML(pageData{
		Title: opts.Title, Runs: runs, Comparisons: comps, Charts: charts, Benchmarks: benches,
		PNGs: pngName, Refresh: opts.Refresh, Generated: time.Now().UTC(),
	})
	if err := atomicfile.WriteFile(out, []byte(page), 0o644); err != nil {
		return Result{}, fmt.Errorf("report: write %w", err)
	}
	return res, nil
}

// Watch regenerates the report every interval until ctx ends, calling
// onWrite after each; a failed regeneration is logged and retried.
func Watch(ctx context.Context, opts Options, every time.Duration, onWrite func(Result)) error {
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		res, err := Generate(ctx, opts)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			log.Warn("report: regenerate", "err", err)
		case onWrite != nil:
			onWrite(res)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// stepOrder returns "" when the steps of a metrics file strictly increase,
// and otherwise a description of the first place they do not: the mark of
// two runs written into one folder, whose curves overlay each other.
func stepOrder(steps []Step) string {
	for i := 1; i < len(steps); i++ {
		if steps[i].Step <= steps[i-1].Step {
			return fmt.Sprintf("steps not increasing: record %d is step %d after step %d (several runs mixed in one folder?)",
				i+1, steps[i].Step, steps[i-1].Step)
		}
	}
	return ""
}
