package main

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"pz/orchestrator"
	"pz/orchestrator/bench"
	engine "pz/orchestrator/engine/ort"
	"pz/orchestrator/sample"
)

// benchEvalFlags are pz eval's downstream-benchmark flags (`pz eval
// --bench KIND`); --model, --name, --data, --n, --seed and --json are the
// eval command's own.
func benchEvalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "bench", Usage: "downstream benchmark: mmlu-pro, supergpqa, math (MATH-500, Minerva, OlympiadBench), gsm8k or aime; --data is its JSONL/Parquet file as published"},
		&cli.StringFlag{Name: "predictions", Usage: "with --bench: score the completion/completions column of this file (the benchmark's rows) instead of running a model"},
		&cli.StringFlag{Name: "out", Usage: "with --bench: one JSON line per row, in input order (extracted, correct, reason, ...)"},
		&cli.IntFlag{Name: "k", Value: 1, Usage: "with --bench: samples per question (mean@k; needs --temperature > 0)"},
		&cli.Float64Flag{Name: "temperature", Value: 0, Usage: "with --bench: 0 is greedy (pass@1)"},
		&cli.Float64Flag{Name: "top-p", Value: 1, Usage: "with --bench: nucleus sampling"},
		&cli.IntFlag{Name: "max-new-tokens", Value: 1024, Usage: "with --bench: tokens per completion"},
		&cli.IntFlag{Name: "batch", Value: 16, Usage: "with --bench: questions per engine call"},
	}
}

// runBenchEval is `pz eval --bench`: read the benchmark file, run each
// model (or score --predictions), print a table, write --json and --out.
func runBenchEval(c *cli.Context) error {
	kind, err := bench.ParseKind(c.String("bench"))
	if err != nil {
		return cli.Exit("pz eval: "+err.Error(), 2)
	}
	modelsIn, names := c.StringSlice("model"), c.StringSlice("name")
	pred := c.String("predictions")
	switch {
	case pred != "" && len(modelsIn) > 0:
		return cli.Exit("pz eval: --predictions scores a file without a model; drop --model", 2)
	case pred == "" && len(modelsIn) == 0:
		return cli.Exit("pz eval --bench: give --model (repeatable) or --predictions FILE", 2)
	case pred == "" && !c.IsSet("data"):
		return cli.Exit("pz eval --bench: --data is the benchmark file (JSONL or Parquet, e.g. MMLU-Pro's test split); see data/bench-samples/", 2)
	case len(names) != 0 && len(names) != max(len(modelsIn), 1):
		return cli.Exit(fmt.Sprintf("pz eval: %d --name for %d --model", len(names), len(modelsIn)), 2)
	}
	limit := func(items []bench.Item) []bench.Item {
		if c.IsSet("n") && c.Int("n") < len(items) {
			return items[:c.Int("n")]
		}
		return items
	}
	var cmp bench.Comparison
	if pred != "" {
		items, err := bench.ReadItems(pred, kind, bench.ReadOptions{Predictions: true})
		if err != nil {
			return err
		}
		items = limit(items)
		vs, res := bench.ScorePredictions(kind, items)
		res.Name, res.Predictions, res.Data = strings.TrimSuffix(filepath.Base(pred), filepath.Ext(pred)), pred, pred
		if len(names) > 0 {
			res.Name = names[0]
		}
		cmp.Arms = append(cmp.Arms, res)
		if p := c.String("out"); p != "" {
			if err := bench.WriteRows(p, items, vs, nil); err != nil {
				return err
			}
		}
	} else {
		items, err := bench.ReadItems(c.String("data"), kind, bench.ReadOptions{})
		if err != nil {
			return err
		}
		items = limit(items)
		o := orchestrator.BenchOptions{Kind: kind, K: c.Int("k"), MaxNewTokens: c.Int("max-new-tokens"), Seed: c.Uint64("seed"), Batch: c.Int("batch"),
			Sampling: sample.Options{Temperature: c.Float64("temperature"), TopP: c.Float64("top-p")}}
		if err := o.Sampling.Validate(); err != nil {
			return cli.Exit("pz eval: "+err.Error(), 2)
		}
		if o.Sampling.Temperature == 0 && o.K > 1 {
			return cli.Exit("pz eval: --k > 1 needs --temperature > 0 (greedy samples are identical)", 2)
		}
		for i, m := range modelsIn {
			name := filepath.Base(filepath.Clean(m))
			if len(names) > 0 {
				name = names[i]
			}
			res, err := benchModel(c, m, name, items, o)
			if err != nil {
				return err
			}
			cmp.Arms = append(cmp.Arms, res)
		}
	}
	writeBenchTable(c.App.Writer, cmp)
	if p := c.String("json"); p != "" {
		return writeJSON(p, cmp)
	}
	return nil
}

// benchModel runs one model on the items and writes its --out file.
func benchModel(c *cli.Context, dir, name string, items []bench.Item, o orchestrator.BenchOptions) (bench.Result, error) {
	eng, _, tok, err := loadEngine(c, dir, engine.Options{MaxBatch: max(o.Batch*o.K, 1)})
	if err != nil {
		return bench.Result{}, err
	}
	defer eng.Close()
	if tok == nil {
		return bench.Result{}, fmt.Errorf("eval: %s has no tokenizer.json", dir)
	}
	bar := newProgress("eval "+name, "questions", 1)
	bar.SetTotal(int64(len(items)))
	done := 0
	o.OnBatch = func(d, _ int) { bar.Add(int64(d - done)); done = d }
	comps, vs, res, err := orchestrator.RunBench(c.Context, eng, tok, items, o)
	bar.Stop()
	if err != nil {
		return res, err
	}
	res.Name, res.Model, res.Data = name, dir, c.String("data")
	if p := c.String("out"); p != "" {
		if n := len(c.StringSlice("model")); n > 1 {
			// One file per model: out.jsonl → out.NAME.jsonl.
			ext := filepath.Ext(p)
			p = strings.TrimSuffix(p, ext) + "." + name + ext
		}
		if err := bench.WriteRows(p, items, vs, comps); err != nil {
			return res, err
		}
	}
	fmt.Fprintf(c.App.ErrWriter, "%s: %d questions × %d in %.1fs\n", name, len(items), o.K, res.Seconds)
	return res, nil
}

// writeBenchTable prints one line per arm, then its categories.
func writeBenchTable(w io.Writer, cmp bench.Comparison) {
	fmt.Fprintf(w, "%-20s %-10s %-8s %-24s %9s %s\n", "model", "bench", "metric", "accuracy [95% CI]", "questions", "wrong by reason")
	for _, a := range cmp.Arms {
		fmt.Fprintf(w, "%-20s %-10s %-8s %-24s %9d %s\n", a.Name, a.Bench, a.Metric,
			fmt.Sprintf("%5.1f%% [%4.1f, %4.1f]", 100*a.Accuracy, 100*a.Low, 100*a.High), a.Questions, reasonList(a.Reasons))
		cats := make([]string, 0, len(a.Categories))
		for k := range a.Categories {
			cats = append(cats, k)
		}
		slices.Sort(cats)
		for _, k := range cats {
			s := a.Categories[k]
			fmt.Fprintf(w, "  %-37s %-24s %9d\n", k, fmt.Sprintf("%5.1f%% [%4.1f, %4.1f]", 100*s.Accuracy, 100*s.Low, 100*s.High), s.Questions)
		}
	}
}

func reasonList(m map[string]int) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	var parts []string
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// checkBenchFlags refuses bench-only flags on the masked-span eval.
func checkBenchFlags(c *cli.Context) error {
	for _, f := range []string{"predictions", "out", "k", "temperature", "top-p", "max-new-tokens", "batch"} {
		if c.IsSet(f) {
			return cli.Exit("pz eval: --"+f+" needs --bench", 2)
		}
	}
	return nil
}
