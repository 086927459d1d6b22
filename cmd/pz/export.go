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
		Usage: "write a Hugging Face model folder as an F32 GGUF file (llama.cpp / ollama, architecture qwen3) or a Triton model repository",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "model", Required: true, Usage: "model folder (config.json, safetensors, tokenizer.json)"},
			&cli.StringFlag{Name: "gguf", Usage: "GGUF file to write"},
		}, tritonRepoFlags()...),
		Action: func(c *cli.Context) error {
			if c.String("triton-repo") != "" {
				return exportTritonRepo(c)
			}
			if c.String("gguf") == "" {
				return errors.New("export: give --gguf FILE or --triton-repo REPO")
			}
			return qwen3.ExportGGUF(c.Context, qwen3.GGUFOptions{
				Model: c.String("model"), Out: c.String("gguf"), Logger: slog.Default(),
			})
		},
	}
}
