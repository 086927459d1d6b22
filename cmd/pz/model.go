package main

import (
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"pz/export/ort"
	"pz/models"
	"pz/models/qwen3"
	"pz/models/tokenizer"
	"pz/orchestrator"
	engine "pz/orchestrator/engine/ort"
	"pz/orchestrator/learn"
	"pz/orchestrator/sample"
)

// threadsFlag sets ORT's intra-op threads.
var threadsFlag = &cli.IntFlag{Name: "threads", Usage: "ONNX Runtime intra-op threads (0: one per core)"}

// initRuntime loads ONNX Runtime as the ORT flags say.
func initRuntime(c *cli.Context) (*ort.Runtime, error) {
	opts, err := ortOptions(c)
	if err != nil {
		return nil, err
	}
	return ort.Init(opts)
}

// resolveModel accepts a model folder, or an output folder of pz
// pretrain/learn/train whose "latest" file names its newest checkpoint.
func resolveModel(dir string) (string, error) {
	if models.IsModelDir(dir) {
		return dir, nil
	}
	ck, err := learn.Latest(dir)
	if err != nil {
		return "", err
	}
	if ck == "" {
		return "", fmt.Errorf("%s is not a model folder (no config.json) and has no checkpoint (no latest file)", dir)
	}
	return ck, nil
}

// loadEngine loads a model folder into an in-process engine; the
// tokenizer is nil when the folder has none.
func loadEngine(c *cli.Context, dir string, opts engine.Options) (*engine.Engine, *models.Checkpoint, *tokenizer.Tokenizer, error) {
	rt, err := initRuntime(c)
	if err != nil {
		return nil, nil, nil, err
	}
	if dir, err = resolveModel(dir); err != nil {
		return nil, nil, nil, err
	}
	ck, err := models.LoadCheckpoint(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	var tok *tokenizer.Tokenizer
	if _, err := os.Stat(dir + "/tokenizer.json"); err == nil {
		if tok, err = tokenizer.Load(dir); err != nil {
			return nil, nil, nil, err
		}
		opts.Detokenize = func(ids []int32) string { s, _ := tok.Decode(ids); return s }
		if opts.VocabLimit, opts.Banned, err = engine.VocabMask(ck.Config.VocabSize, tok); err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", dir, err)
		}
	}
	if opts.IntraOpThreads == 0 {
		opts.IntraOpThreads = c.Int("threads")
	}
	eng, err := engine.New(rt, ck.Config, ck.Weights, opts)
	if err != nil {
		return nil, nil, nil, err
	}
	return eng, ck, tok, nil
}

func initModelCommand() *cli.Command {
	return &cli.Command{
		Name:  "init-model",
		Usage: "write a randomly initialised model folder (HF layout) from a preset",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "preset", Value: "tiny", Usage: "tiny, small, tiny-moe (Qwen3-MoE) or tiny-smollm3 (SmolLM3)"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "model folder to write"},
			&cli.Uint64Flag{Name: "seed", Value: 1},
			&cli.StringFlag{Name: "tokenizer", Usage: "tokenizer.json (or folder) to use instead of the preset's; sizes the vocabulary"},
			&cli.IntFlag{Name: "layers", Usage: "override the preset's num_hidden_layers"},
			&cli.IntFlag{Name: "hidden", Usage: "override hidden_size"},
			&cli.IntFlag{Name: "ffn", Usage: "override intermediate_size"},
			&cli.IntFlag{Name: "heads", Usage: "override num_attention_heads"},
			&cli.IntFlag{Name: "kv-heads", Usage: "override num_key_value_heads"},
			&cli.IntFlag{Name: "head-dim", Usage: "override head_dim"},
		},
		Action: func(c *cli.Context) error {
			override := func(cfg *models.Config) {
				for _, o := range []struct {
					flag string
					dst  *int
				}{{"layers", &cfg.NumHiddenLayers}, {"hidden", &cfg.HiddenSize}, {"ffn", &cfg.IntermediateSize},
					{"heads", &cfg.NumAttentionHeads}, {"kv-heads", &cfg.NumKeyValueHeads}, {"head-dim", &cfg.HeadDim}} {
					if c.IsSet(o.flag) {
						*o.dst = c.Int(o.flag)
					}
				}
			}
			cfg, err := qwen3.InitModel(qwen3.InitOptions{Preset: c.String("preset"), Out: c.String("out"),
				Seed: c.Uint64("seed"), Tokenizer: c.String("tokenizer"), Override: override})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "wrote %s: %s preset, %d parameters, vocabulary %d\n",
				c.String("out"), c.String("preset"), cfg.ParamCount(), cfg.VocabSize)
			return nil
		},
	}
}

func scoreCommand() *cli.Command {
	return &cli.Command{
		Name:  "score",
		Usage: "log-probs of token sequences: JSONL {\"ids\": [...]} in, {\"logprobs\": [...]} out",
		Flags: append(ortFlags(), threadsFlag,
			&cli.StringFlag{Name: "model", Required: true, Usage: "model folder (no tokenizer needed)"},
			&cli.StringFlag{Name: "in", Value: "-", Usage: "input JSONL (- for stdin)"},
			&cli.StringFlag{Name: "out", Value: "-", Usage: "output JSONL (- for stdout)"},
		),
		Action: func(c *cli.Context) error {
			eng, _, _, err := loadEngine(c, c.String("model"), engine.Options{})
			if err != nil {
				return err
			}
			defer eng.Close()
			var in io.Reader = os.Stdin
			name := "stdin"
			if p := c.String("in"); p != "-" {
				f, err := os.Open(p)
				if err != nil {
					return err
				}
				defer f.Close()
				in, name = f, p
			}
			var out io.Writer = c.App.Writer
			var of *os.File
			if p := c.String("out"); p != "-" {
				if of, err = os.Create(p); err != nil {
					return err
				}
				defer of.Close()
				out = of
			}
			sum, err := orchestrator.ScoreJSONL(c.Context, eng, name, in, out, 64)
			if err != nil {
				return err
			}
			if of != nil {
				if err := of.Close(); err != nil {
					return err
				}
			}
			fmt.Fprintf(c.App.ErrWriter, "nll=%.6f ppl=%.4f tokens=%d\n", sum.NLL, sum.PPL, sum.Tokens)
			return nil
		},
	}
}

func generateCommand() *cli.Command {
	return &cli.Command{
		Name:  "generate",
		Usage: "generate text from a prompt (greedy at temperature 0)",
		Flags: append(ortFlags(), threadsFlag,
			&cli.StringFlag{Name: "model", Required: true},
			&cli.StringFlag{Name: "prompt", Required: true},
			&cli.IntFlag{Name: "max-new-tokens", Value: 64},
			&cli.Float64Flag{Name: "temperature", Value: 0},
			&cli.Float64Flag{Name: "top-p", Value: 1},
			&cli.IntFlag{Name: "top-k", Value: 0},
			&cli.Uint64Flag{Name: "seed", Value: 0},
		),
		Action: func(c *cli.Context) error {
			eng, _, tok, err := loadEngine(c, c.String("model"), engine.Options{})
			if err != nil {
				return err
			}
			defer eng.Close()
			if tok == nil {
				return fmt.Errorf("generate: %s has no tokenizer.json", c.String("model"))
			}
			req := orchestrator.GenRequest{Prompt: tok.EncodeSpecial(c.String("prompt")), N: 1, Seed: c.Uint64("seed"),
				Sampling:     sample.Options{Temperature: c.Float64("temperature"), TopP: c.Float64("top-p"), TopK: c.Int("top-k")},
				MaxNewTokens: c.Int("max-new-tokens")}
			res, err := eng.Generate(c.Context, []orchestrator.GenRequest{req})
			if err != nil {
				return err
			}
			text, err := tok.Decode(res[0].Completions[0].IDs)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.App.Writer, text)
			return nil
		},
	}
}
