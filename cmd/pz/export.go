package main

import (
	"errors"
	"log/slog"

	"github.com/urfave/cli/v2"

	"pz/models/qwen3"
)

// exportCommand is `pz export`: a model folder written in another format.
func exportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "write a Hugging Face model folder as an F32 GGUF file (llama.cpp / ollama: qwen3, qwen3moe, smollm3) or a Triton model repository",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "model", Required: true, Usage: "model folder (config.json, safetensors, tokenizer.json), or a run folder (its latest checkpoint)"},
			&cli.StringFlag{Name: "gguf", Usage: "GGUF file to write"},
		}, tritonRepoFlags()...),
		Action: func(c *cli.Context) error {
			dir, err := resolveModel(c.String("model"))
			if err != nil {
				return err
			}
			if err := c.Set("model", dir); err != nil {
				return err
			}
			if c.String("triton-repo") != "" {
				return exportTritonRepo(c)
			}
			if c.String("gguf") == "" {
				return errors.New("export: give --gguf FILE or --triton-repo REPO")
			}
			return qwen3.ExportGGUF(c.Context, qwen3.GGUFOptions{
				Model: dir, Out: c.String("gguf"), Logger: slog.Default(),
			})
		},
	}
}
