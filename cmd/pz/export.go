package main

import (
	"log/slog"

	"github.com/urfave/cli/v2"

	"pz/models/qwen3"
)

// exportCommand is `pz export`: a model folder written in another format.
func exportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "write a Hugging Face model folder as an F32 GGUF file (llama.cpp / ollama, architecture qwen3)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Required: true, Usage: "model folder (config.json, safetensors, tokenizer.json), or a run folder (its latest checkpoint)"},
			&cli.StringFlag{Name: "gguf", Required: true, Usage: "GGUF file to write"},
		},
		Action: func(c *cli.Context) error {
			dir, err := resolveModel(c.String("model"))
			if err != nil {
				return err
			}
			return qwen3.ExportGGUF(c.Context, qwen3.GGUFOptions{
				Model: dir, Out: c.String("gguf"), Logger: slog.Default(),
			})
		},
	}
}
