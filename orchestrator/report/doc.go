// Package report turns the metrics of pz train runs into one self-contained
// HTML page (inline SVG charts and tables, inline CSS, no script, no
// network) and a PNG per chart, so that a run can be looked at from disk.
//
// Inputs, per run folder:
//
//   - metrics.jsonl: one orchestrator.StepMetrics per line. Only the plotted
//     fields are decoded (Step); missing fields are gaps, unknown fields are
//     ignored. A corrupt line is an error naming file:line, except a last
//     line left truncated by a killed run, which is skipped with a warning.
//   - eval.json (optional): an orchestrator.EvalReport, as pz eval --json
//     writes it: {"kinds":{"single":{"n","correct","accuracy","ci95_low","ci95_high"},...}}.
//   - comparison.json (optional, in a run folder or, for several runs, in
//     their common parent; or named with Options.Comparisons): held-out
//     accuracy per arm, shown as a table with the 95% intervals.
//
// The comparison.json format, a superset of what orchestrator.Comparison
// writes (pz eval --json with several models); title, note and model are
// optional, each kind result has the fields of orchestrator.KindResult, and
// extra fields are ignored:
//
//	{"title": "held-out exact match after the demo",
//	 "note": "greedy, 500 questions per kind",
//	 "arms": [
//	  {"name": "pretrainzero", "model": "runs/demo/pretrainzero/checkpoint-100",
//	   "kinds": {"single": {"n": 500, "correct": 43, "accuracy": 0.086,
//	                        "ci95_low": 0.064, "ci95_high": 0.114},
//	             "multi": {...}}},
//	  {"name": "random-span", "kinds": {...}}]}
//
// An eval.json is accepted in its place and becomes one arm named after its
// folder.
//
// Charts (x = step; several runs are overlaid, colour per metric and dash
// per run; from 60 steps on, a curve is drawn faint per step with a bold
// centred moving average over it): reward per role; predictor accuracy;
// held-out accuracy per kind with 95% intervals (when the run has evals);
// validity and invalid reasons; mask diversity (distinct spans,
// stop-word share and most frequent span, each as a share of valid masks:
// where a collapse shows); mask counts; collapse guards; mask length;
// response length per role; zero-variance filtering; loss; gradient norm;
// clip fraction and approximate KL; rollout/learner mismatch; throughput;
// seconds per phase. Tables: a summary per run, the held-out accuracy, and
// the top spans of each run's last step with stop-word-only spans marked.
//
// Generate writes Options.Out (default RUN_DIR/report/report.html) and
// <stem>-<chart>.png next to it, each atomically (temporary file and
// rename); Watch regenerates them periodically for a live run.
package report
