package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"pz/orchestrator/report"
)

func reportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "write a self-contained HTML report (and PNG charts) of one or more train runs; prints its path",
		ArgsUsage: "RUN_DIR [RUN_DIR...] [--out FILE]",
		Description: "Reads RUN_DIR/metrics.jsonl (and eval.json, comparison.json when present) and writes\n" +
			"RUN_DIR/report/report.html with a PNG per chart next to it. Several runs are overlaid,\n" +
			"labelled by folder name; the report then goes to their parent's report/ folder.\n" +
			"Flags may also follow the run folders.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "HTML file to write (PNGs go next to it)"},
			&cli.StringSliceFlag{Name: "comparison", Usage: "comparison.json (or eval.json) to show as a held-out accuracy table; repeatable"},
			&cli.StringSliceFlag{Name: "bench", Usage: "pz eval --bench --json result to show as a downstream-benchmark table; repeatable (RUN_DIR/bench.json is read anyway)"},
			&cli.StringFlag{Name: "title", Usage: "page title"},
			&cli.BoolFlag{Name: "no-png", Usage: "write only the HTML"},
			&cli.DurationFlag{Name: "watch", Usage: "regenerate this often until interrupted; the page reloads itself (e.g. 30s)"},
		},
		Action: func(c *cli.Context) error {
			opts, watch, err := reportOptions(c)
			if err != nil {
				return cli.Exit("pz report: "+err.Error(), 2)
			}
			w := c.App.Writer
			if watch > 0 {
				opts.Refresh = watch
				printed := false
				err := report.Watch(c.Context, opts, watch, func(r report.Result) {
					if !printed {
						fmt.Fprintln(w, r.HTML)
						printed = true
					}
				})
				if !errors.Is(err, context.Canceled) {
					return err
				}
				// Interrupted: the normal end. Leave a page that no longer reloads.
				opts.Refresh = 0
				_, err = report.Generate(context.WithoutCancel(c.Context), opts)
				return err
			}
			res, err := report.Generate(c.Context, opts)
			if err != nil {
				return err
			}
			fmt.Fprintln(w, res.HTML)
			return nil
		},
	}
}

// reportOptions copies the flags into report.Options. urfave/cli stops at
// the first argument, so flags after the run folders are parsed here.
func reportOptions(c *cli.Context) (report.Options, time.Duration, error) {
	opts := report.Options{
		Out: c.String("out"), Comparisons: c.StringSlice("comparison"), Benchmarks: c.StringSlice("bench"),
		Title: c.String("title"), NoPNG: c.Bool("no-png"),
	}
	watch := c.Duration("watch")
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&opts.Out, "out", opts.Out, "")
	fs.StringVar(&opts.Out, "o", opts.Out, "")
	fs.Func("comparison", "", func(s string) error { opts.Comparisons = append(opts.Comparisons, s); return nil })
	fs.Func("bench", "", func(s string) error { opts.Benchmarks = append(opts.Benchmarks, s); return nil })
	fs.StringVar(&opts.Title, "title", opts.Title, "")
	fs.BoolVar(&opts.NoPNG, "no-png", opts.NoPNG, "")
	fs.DurationVar(&watch, "watch", watch, "")
	args := c.Args().Slice()
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return opts, 0, err
		}
		args = fs.Args()
		if len(args) > 0 {
			opts.RunDirs = append(opts.RunDirs, args[0])
			args = args[1:]
		}
	}
	if len(opts.RunDirs) == 0 {
		return opts, 0, fmt.Errorf("give at least one RUN_DIR")
	}
	return opts, watch, nil
}
