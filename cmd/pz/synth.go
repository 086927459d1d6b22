package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"pz/data/synth"
)

// dataSynthCommand is `pz data synth`: a corpus with known ground truth.
func dataSynthCommand() *cli.Command {
	return &cli.Command{
		Name:  "synth",
		Usage: "generate a synthetic corpus with labelled learnable, unlearnable and trivial spans (--kind bios)",
		Description: "A world of --people people with attributes from fixed pools (world.json), rendered into\n" +
			"paragraphs (attributes in random order, random serials, stock fillers), written as a prepared data\n" +
			"path: train shard and heldout.parquet (split by template), spans.jsonl (byte ranges labelled\n" +
			"attribute/name/noise/filler), masks.jsonl (held-out questions for pz eval --masks) and train.jsonl\n" +
			"(text for pz tokenizer train).",
		ArgsUsage: " ",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "kind", Value: "bios", Usage: "corpus kind: bios"},
			&cli.IntFlag{Name: "people", Usage: "people in the world (distinct names)"},
			&cli.Uint64Flag{Name: "seed", Value: 1},
			&cli.StringFlag{Name: "out", Usage: "output directory (replaced atomically)"},
			&cli.IntFlag{Name: "paragraphs", Value: 4, Usage: "train paragraphs per person"},
			&cli.IntFlag{Name: "heldout-paragraphs", Value: 1, Usage: "held-out paragraphs (and masks) per person"},
			&cli.IntFlag{Name: "noise", Value: 1, Usage: "random-serial sentences per paragraph (0: none)"},
			&cli.IntFlag{Name: "filler", Value: 1, Usage: "stock filler sentences per paragraph (0: none)"},
			&cli.Float64Flag{Name: "name-repeat", Value: 0.25, Usage: "chance a later sentence names the person instead of the pronoun"},
			&cli.BoolFlag{Name: "question-last", Usage: "end each held-out paragraph with the sentence its question asks about (the blank just before the answer cue)"},
			&cli.IntFlag{Name: "max-chars", Value: 1200, Usage: "longest paragraph allowed (0: no cap)"},
			&cli.Int64Flag{Name: "budget-tokens", Usage: "training budget in tokens the train paragraphs must fit --min-exposures times (0: no check)"},
			&cli.Float64Flag{Name: "min-exposures", Value: 1, Usage: "times the budget must cover the train paragraphs"},
			&cli.Float64Flag{Name: "chars-per-token", Value: 4, Usage: "characters per token for the budget estimate"},
			&cli.StringFlag{Name: "pools", Usage: "JSON file of pools and templates replacing the built-in ones (see data/synth.Pools)"},
			&cli.BoolFlag{Name: "print-pools", Usage: "print the built-in pools as JSON and exit"},
		},
		Action: func(c *cli.Context) error {
			if k := c.String("kind"); k != "bios" {
				return fmt.Errorf("--kind %q: want bios", k)
			}
			pools := synth.DefaultPools()
			if c.Bool("print-pools") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(pools)
			}
			if !c.IsSet("people") || c.String("out") == "" {
				return cli.Exit("pz data synth: --people and --out are required", 2)
			}
			if p := c.String("pools"); p != "" {
				b, err := os.ReadFile(p)
				if err != nil {
					return fmt.Errorf("--pools: %w", err)
				}
				dec := json.NewDecoder(bytes.NewReader(b))
				dec.DisallowUnknownFields()
				pools = &synth.Pools{}
				if err := dec.Decode(pools); err != nil {
					return fmt.Errorf("--pools %s: %w", p, err)
				}
				if err := pools.Validate(); err != nil {
					return fmt.Errorf("--pools %s: %w", p, err)
				}
			}
			none := func(n int) int { // the flag's 0 means none; Options' 0 means the default
				if n == 0 {
					return -1
				}
				return n
			}
			corpus, err := synth.Generate(pools, synth.Options{
				People: c.Int("people"), Seed: c.Uint64("seed"), Paragraphs: c.Int("paragraphs"),
				HeldoutParagraphs: none(c.Int("heldout-paragraphs")), Noise: none(c.Int("noise")), Filler: none(c.Int("filler")),
				NameRepeat: c.Float64("name-repeat"), MaxChars: c.Int("max-chars"), QuestionLast: c.Bool("question-last"),
				BudgetTokens: c.Int64("budget-tokens"), MinExposures: c.Float64("min-exposures"), CharsPerToken: c.Float64("chars-per-token"),
			})
			if err != nil {
				return err
			}
			if err := synth.Write(c.String("out"), corpus); err != nil {
				return err
			}
			var chars int
			for _, p := range corpus.Train {
				chars += p.NChars
			}
			fmt.Fprintf(c.App.Writer, "synth bios: %d people, %d train passages (%d characters), %d held-out passages and masks in %s\n",
				len(corpus.World), len(corpus.Train), chars, len(corpus.Heldout), c.String("out"))
			return nil
		},
	}
}
