package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"pz/export"
	"pz/export/mlp"
	"pz/export/ort"
)

// demoCommand runs the furthest stage of the pipeline that exists: until
// the train loop lands, that is the engine stage (build a graph, derive its
// gradients, train it with an optimizer graph through ONNX Runtime).
func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "engine-stage demo: train a tiny MLP through ONNX Runtime with pz's graphs and print the loss falling",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ort-lib", Usage: "libonnxruntime.so (default: $" + ort.LibraryEnv + ", then the cache of scripts/setup-ort.sh)"},
			&cli.IntFlag{Name: "steps", Value: 200, Usage: "AdamW steps"},
			&cli.IntFlag{Name: "every", Value: 20, Usage: "print a line every this many steps"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the weights and the data"},
			&cli.Float64Flag{Name: "lr", Value: 0.05, Usage: "learning rate"},
			&cli.BoolFlag{Name: "fused", Usage: "run forward, backward and AdamW as one graph"},
			&cli.IntFlag{Name: "threads", Value: 1, Usage: "ONNX Runtime intra-op threads (0: one per core)"},
		},
		Action: func(c *cli.Context) error {
			if c.Int("steps") < 1 || c.Int("every") < 1 {
				return cli.Exit("pz demo: --steps and --every must be >= 1", 2)
			}
			lib, err := ort.FindLibrary(c.String("ort-lib"))
			if err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			rt, err := ort.Init(ort.Options{LibraryPath: lib})
			if err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			opts := mlp.Options{
				Seed:      c.Uint64("seed"),
				LR:        c.Float64("lr"),
				Fused:     c.Bool("fused"),
				Threads:   c.Int("threads"),
				Optimizer: export.DefaultAdamW(),
			}
			w, every := c.App.Writer, int64(c.Int("every"))
			cfg := mlp.DefaultConfig()
			fmt.Fprintf(w, "pz demo: engine stage (the train loop has not landed yet, so this is the furthest stage that runs).\n")
			fmt.Fprintf(w, "A %d-%d-%d tanh MLP learns XOR of signs; graph, gradients (autodiff) and AdamW (optimizer graph)\n", cfg.In, cfg.Hidden, cfg.Classes)
			fmt.Fprintf(w, "are built by pz and run by ONNX Runtime %s (%s).\n\n", rt.Version(), rt.LibraryPath())
			fmt.Fprintf(w, "%6s %8s %8s %10s\n", "step", "loss", "accuracy", "grad_norm")
			res, err := mlp.Train(c.Context, rt, opts, c.Int("steps"), func(s mlp.Stats) {
				if s.Step == 1 || s.Step%every == 0 {
					fmt.Fprintf(w, "%6d %8.4f %8.3f %10.3g\n", s.Step, s.Loss, s.Accuracy, s.GradNorm)
				}
			})
			if err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			fmt.Fprintf(w, "\nloss %.4f → %.4f (ln 2 = 0.6931 is chance) in %d steps, %v (%.0f µs/step)\n",
				res.First.Loss, res.Last.Loss, res.Last.Step, res.Elapsed.Round(1e6),
				float64(res.Elapsed.Microseconds())/float64(res.Last.Step))
			return nil
		},
	}
}
