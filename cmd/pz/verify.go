package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"pz/orchestrator"
	engine "pz/orchestrator/engine/ort"
	"pz/orchestrator/task"
	"pz/orchestrator/traj"
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "verify",
		Usage: "audit trajectory files (re-parse, re-score, recompute rewards and advantages) or score a predictions JSONL",
		Description: "With --in, every row is re-parsed from its text and re-scored with the reward settings stored in the\n" +
			"file's metadata; any stored value that differs is reported by file, row and group, and the exit status\n" +
			"is 1. With --predictions, each line {\"answer\" or \"completion\", \"target\"} is scored by the same verifier.",
		ArgsUsage: " ",
		Flags: append(ortFlags(),
			&cli.StringSliceFlag{Name: "in", Usage: "trajectory files, directories (their *.parquet) or globs; repeatable"},
			&cli.StringFlag{Name: "predictions", Usage: "predictions JSONL to score (- for stdin)"},
			&cli.StringFlag{Name: "model", Usage: "model folder: also recompute the policy log-probs and report the rollout/learner mismatch"},
			threadsFlag,
			&cli.IntFlag{Name: "max-examples", Value: 50, Usage: "mismatching values to print"},
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
		),
		Action: func(c *cli.Context) error {
			in, preds := c.StringSlice("in"), c.String("predictions")
			if (len(in) == 0) == (preds == "") {
				return cli.Exit("pz verify: give exactly one of --in or --predictions", 2)
			}
			if preds != "" {
				return verifyPredictions(c, preds)
			}
			rep, err := traj.Audit(c.Context, traj.AuditOptions{
				Inputs: in, MaxExamples: c.Int("max-examples"),
			})
			if err != nil {
				return err
			}
			if c.Bool("json") {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				rep.WriteText(os.Stdout)
			}
			if m := c.String("model"); m != "" {
				eng, _, _, err := loadEngine(c, m, engine.Options{})
				if err != nil {
					return err
				}
				defer eng.Close()
				files, err := orchestrator.ExpandInputs(in)
				if err != nil {
					return err
				}
				ms, err := orchestrator.LogProbMismatch(c.Context, eng, files, 64)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "log-probs recomputed with %s: %d rows, %d tokens; mean exp(|Δ|) %.6f, mean |Δ| %.3g, max |Δ| %.3g (rows without log-probs: %d)\n",
					m, ms.Rows, ms.Tokens, ms.MeanExp, ms.MeanAbs, ms.MaxAbs, ms.Skipped)
				for role, v := range ms.ByRole {
					fmt.Fprintf(c.App.Writer, "  %s: mean exp(|Δ|) %.6f\n", role, v)
				}
			}
			if !rep.OK() {
				return cli.Exit(fmt.Sprintf("pz verify: %d stored values in %d rows differ from their recomputation", rep.Mismatches, rep.BadRows), 1)
			}
			return nil
		},
	}
}

func verifyPredictions(c *cli.Context, path string) error {
	f := os.Stdin
	if path != "-" {
		var err error
		if f, err = os.Open(path); err != nil {
			return fmt.Errorf("predictions: %w", err)
		}
		defer f.Close()
	}
	rep, err := task.ScorePredictions(c.Context, path, f, nil)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return json.NewEncoder(os.Stdout).Encode(rep)
	}
	fmt.Printf("lines %d, scored %d, bad lines %d, parsed %d\n", rep.Lines, rep.Scored, rep.BadLines, rep.Parsed)
	fmt.Printf("strict accuracy %.4f (%d), normalised accuracy %.4f (%d)\n", rep.StrictAccuracy(), rep.Strict, rep.NormalisedAccuracy(), rep.Normalised)
	for k, v := range rep.Failures {
		fmt.Printf("  unparsed (%s) %d\n", k, v)
	}
	return nil
}
