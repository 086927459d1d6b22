package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"pz/orchestrator/report"
)

// kindMixCommand is `pz kind-mix`: what each arm masked over training, by
// labelled span kind (runs on a pz data synth corpus).
func kindMixCommand() *cli.Command {
	return &cli.Command{
		Name:  "kind-mix",
		Usage: "a Markdown table per arm and phase of training: labelled kinds of the valid masks, accuracy per kind, rewards, collapse metrics",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "arm", Required: true, Usage: "NAME=GLOB: run folders (with metrics.jsonl) pooled as one arm; repeatable, in table order"},
			&cli.IntFlag{Name: "phases", Value: 4, Usage: "equal parts of training per arm"},
		},
		Action: func(c *cli.Context) error {
			var names []string
			runs := map[string][]*report.Run{}
			for _, a := range c.StringSlice("arm") {
				name, glob, ok := strings.Cut(a, "=")
				if !ok {
					return fmt.Errorf("--arm %q: want NAME=GLOB", a)
				}
				dirs, err := filepath.Glob(glob)
				if err != nil {
					return fmt.Errorf("--arm %s: %w", a, err)
				}
				for _, d := range dirs {
					steps, err := report.ReadMetrics(filepath.Join(d, "metrics.jsonl"), nil)
					if err != nil {
						return err
					}
					runs[name] = append(runs[name], &report.Run{Name: filepath.Base(d), Dir: d, Steps: steps})
				}
				if len(runs[name]) == 0 {
					return fmt.Errorf("--arm %s: no run folder matches", a)
				}
				names = append(names, name)
			}
			report.WriteKindMix(c.App.Writer, names, runs, c.Int("phases"))
			fmt.Fprintln(c.App.Writer)
			report.WriteThroughput(c.App.Writer, names, runs)
			return nil
		},
	}
}
