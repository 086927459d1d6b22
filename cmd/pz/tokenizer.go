package main

import (
	"log/slog"

	"github.com/urfave/cli/v2"

	"pz/models/tokenizer"
)

func tokenizerFlag() cli.Flag {
	return &cli.StringFlag{Name: "tokenizer", Required: true, Usage: "tokenizer.json (or .json.gz), or a model folder holding it"}
}

// tokenizeCommand is `pz tokenize`: JSONL {"text"} on stdin → {"ids"} on stdout.
func tokenizeCommand() *cli.Command {
	return &cli.Command{
		Name:  "tokenize",
		Usage: `read {"text": ...} JSONL lines on stdin, write {"ids": [...]} lines in the same order (never adds BOS/EOS)`,
		Description: "Like transformers' tokenizer(text), added tokens in the text (<|endoftext|>, \\mask{, ...) are\n" +
			"matched as one id each; --plain tokenizes the text as plain text instead.",
		Flags: []cli.Flag{
			tokenizerFlag(),
			&cli.BoolFlag{Name: "plain", Usage: "plain text: added tokens in the text are not matched (Hugging Face's split_special_tokens)"},
			// The default since added tokens are matched by default; kept so
			// that older scripts still run.
			&cli.BoolFlag{Name: "special", Hidden: true},
		},
		Action: func(c *cli.Context) error {
			if c.Bool("plain") && c.Bool("special") {
				return usageError("tokenize: --plain and --special contradict each other (added tokens are matched by default)")
			}
			return tokenizer.RunTokenize(c.Context, tokenizer.TokenizeOptions{
				Tokenizer: c.String("tokenizer"), Special: !c.Bool("plain"), In: c.App.Reader, Out: c.App.Writer,
			})
		},
	}
}

// detokenizeCommand is `pz detokenize`: JSONL {"ids"} on stdin → {"text"} on stdout.
func detokenizeCommand() *cli.Command {
	return &cli.Command{
		Name:  "detokenize",
		Usage: `read {"ids": [...]} JSONL lines on stdin, write {"text": ...} lines in the same order`,
		Flags: []cli.Flag{
			tokenizerFlag(),
			&cli.BoolFlag{Name: "skip-special", Usage: "drop added tokens marked special (skip_special_tokens)"},
			&cli.BoolFlag{Name: "drop-unknown", Usage: "drop ids that have no token, as Hugging Face does (default: an error naming the id)"},
		},
		Action: func(c *cli.Context) error {
			return tokenizer.RunDetokenize(c.Context, tokenizer.DetokenizeOptions{
				Tokenizer: c.String("tokenizer"), SkipSpecial: c.Bool("skip-special"), DropUnknown: c.Bool("drop-unknown"),
				In: c.App.Reader, Out: c.App.Writer,
			})
		},
	}
}

// tokenizerCommand is `pz tokenizer train`.
func tokenizerCommand() *cli.Command {
	return &cli.Command{
		Name:  "tokenizer",
		Usage: "tokenizer tools",
		Subcommands: []*cli.Command{{
			Name:  "train",
			Usage: "train a byte-level BPE on a corpus and write a Hugging Face tokenizer.json",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "in", Required: true, Usage: `corpus files (glob): .jsonl with a "text" field per line, or plain text; .gz allowed`},
				&cli.IntFlag{Name: "vocab", Required: true, Usage: "vocabulary size, added and byte tokens included"},
				&cli.StringFlag{Name: "out", Required: true, Usage: "tokenizer.json to write (.gz to compress)"},
				&cli.StringSliceFlag{Name: "special", Value: cli.NewStringSlice("<|endoftext|>", "<|pad|>"), Usage: "added tokens marked special (ids from 0; the first is end-of-text)"},
				&cli.StringSliceFlag{Name: "added", Value: cli.NewStringSlice("[mask]", `\mask{`, `\boxed{`), Usage: "added tokens not marked special (kept by skip_special_tokens decoding)"},
				&cli.IntFlag{Name: "min-frequency", Value: 2, Usage: "least count of a pair to merge"},
				&cli.StringFlag{Name: "pattern", Value: "qwen2", Usage: "pre-tokenizer split regex: qwen2 (digits one by one), llama3 (digit runs up to 3) or gpt2"},
			},
			Action: func(c *cli.Context) error {
				return tokenizer.RunTrain(c.Context, tokenizer.TrainRunOptions{
					In: c.String("in"), Out: c.String("out"), VocabSize: c.Int("vocab"),
					Special: c.StringSlice("special"), Added: c.StringSlice("added"),
					MinFrequency: c.Int("min-frequency"), Pattern: c.String("pattern"), Logger: slog.Default(),
				})
			},
		}},
	}
}
