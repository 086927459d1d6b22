package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/urfave/cli/v2"

	"pz/data"
	"pz/models/tokenizer"
)

func dataCommand() *cli.Command {
	return &cli.Command{
		Name:  "data",
		Usage: "prepare corpora into passage shards and inspect them",
		Subcommands: []*cli.Command{
			dataPrepareCommand(),
			dataStatsCommand(),
			dataSynthCommand(),
		},
	}
}

func dataPrepareCommand() *cli.Command {
	return &cli.Command{
		Name:      "prepare",
		Usage:     "split, filter, dedup and shard a corpus into passage Parquet files",
		ArgsUsage: " ",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "in", Required: true, Usage: "input files, directories or globs (JSONL, Parquet, text; .gz/.zst); repeatable"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "output directory"},
			&cli.IntFlag{Name: "shards", Value: 1, Usage: "number of train shards (passage goes to FNV-1a64(id) mod N)"},
			&cli.Float64Flag{Name: "heldout", Value: 0, Usage: "fraction of documents held out into heldout.parquet"},
			&cli.StringFlag{Name: "heldout-by", Value: "doc", Usage: "document key for the held-out split: doc or title"},
			&cli.StringFlag{Name: "tokenizer", Usage: "tokenizer.json: budgets in tokens instead of characters"},
			&cli.IntFlag{Name: "min-tokens", Usage: "min passage length in tokens (default 64)"},
			&cli.IntFlag{Name: "max-tokens", Usage: "max passage length in tokens (default 1024)"},
			&cli.IntFlag{Name: "min-chars", Usage: "min passage length in characters without --tokenizer (default 200)"},
			&cli.IntFlag{Name: "max-chars", Usage: "max passage length in characters without --tokenizer (default 4000)"},
			&cli.BoolFlag{Name: "pack", Usage: "pack consecutive short paragraphs of a document up to the budget"},
			&cli.IntFlag{Name: "min-words", Usage: "drop passages with fewer words (default 20; -1 off)"},
			&cli.Float64Flag{Name: "min-letter-ratio", Usage: "drop passages with fewer letters per non-space character (default 0.6; -1 off)"},
			&cli.StringFlag{Name: "lang", Value: "en", Usage: "target language check: en or none"},
			&cli.BoolFlag{Name: "keep-markup", Usage: "do not drop list/table/markup/reference/boilerplate residue"},
			&cli.BoolFlag{Name: "no-dedup", Usage: "keep exact duplicates"},
			&cli.BoolFlag{Name: "near-dedup", Usage: "drop MinHash/LSH near duplicates too"},
			&cli.StringFlag{Name: "text-field", Value: "text", Usage: "JSONL field / Parquet column with the text"},
			&cli.StringFlag{Name: "title-field", Value: "title", Usage: "field / column with the title"},
			&cli.StringFlag{Name: "id-field", Value: "id", Usage: "field / column with the document id"},
			&cli.BoolFlag{Name: "skip-bad-files", Usage: "count unreadable files in the stats instead of failing"},
			&cli.IntFlag{Name: "workers", Value: runtime.GOMAXPROCS(0), Usage: "parallel workers"},
		},
		Action: func(c *cli.Context) error {
			opts := data.PrepareOptions{
				Out:    c.String("out"),
				Shards: c.Int("shards"),
				ProcessOptions: data.ProcessOptions{
					Inputs:    c.StringSlice("in"),
					Heldout:   c.Float64("heldout"),
					HeldoutBy: c.String("heldout-by"),
					NoDedup:   c.Bool("no-dedup"),
					NearDedup: c.Bool("near-dedup"),
					Workers:   c.Int("workers"),
					Read: data.ReadOptions{
						Fields:       data.Fields{Text: c.String("text-field"), Title: c.String("title-field"), ID: c.String("id-field")},
						SkipBadFiles: c.Bool("skip-bad-files"),
					},
					Budget: data.BudgetOptions{Pack: c.Bool("pack")},
					Filter: data.FilterOptions{
						MinWords:       c.Int("min-words"),
						MinLetterRatio: c.Float64("min-letter-ratio"),
						Lang:           c.String("lang"),
						KeepMarkup:     c.Bool("keep-markup"),
					},
				},
			}
			if path := c.String("tokenizer"); path != "" {
				tok, err := tokenizer.Load(path)
				if err != nil {
					return fmt.Errorf("--tokenizer: %w", err)
				}
				opts.Budget.Tokenizer = tok
				opts.Budget.Min, opts.Budget.Max = c.Int("min-tokens"), c.Int("max-tokens")
			} else {
				if c.IsSet("min-tokens") || c.IsSet("max-tokens") {
					return cli.Exit("--min-tokens/--max-tokens need --tokenizer (use --min-chars/--max-chars)", 2)
				}
				opts.Budget.Min, opts.Budget.Max = c.Int("min-chars"), c.Int("max-chars")
			}
			bar := newProgress("prepare", "MB", 1e6)
			opts.Read.Progress = bar
			st, err := data.Prepare(c.Context, opts)
			bar.Stop()
			if err != nil {
				return err
			}
			return st.WriteText(c.App.Writer)
		},
	}
}

func dataStatsCommand() *cli.Command {
	return &cli.Command{
		Name:      "stats",
		Usage:     "print the stats of a prepared directory",
		ArgsUsage: "DIR",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the raw stats.json"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return cli.Exit("usage: pz data stats DIR", 2)
			}
			if c.Bool("json") {
				b, err := os.ReadFile(filepath.Join(c.Args().First(), data.StatsFile))
				if err != nil {
					return err
				}
				_, err = c.App.Writer.Write(b)
				return err
			}
			st, err := data.ReadStats(c.Args().First())
			if err != nil {
				return err
			}
			return st.WriteText(c.App.Writer)
		},
	}
}
