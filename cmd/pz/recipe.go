package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"pz/models"
	"pz/models/qwen3"
	"pz/models/safetensors"
	"pz/orchestrator"
	engine "pz/orchestrator/engine/ort"

	"pz/orchestrator/learn"
)

// ppoEpochsFlag: passes over each rollout batch (verl's ppo_epochs).
var ppoEpochsFlag = &cli.IntFlag{Name: "ppo-epochs", Value: 1, Usage: "optimizer passes over each rollout batch, old log-probs frozen before the first (verl's ppo_epochs)"}

// updateFlags are pz train's PPO update flags (pz learn has its own
// --mini-batches).
func updateFlags() []cli.Flag {
	return []cli.Flag{ppoEpochsFlag,
		&cli.IntFlag{Name: "mini-batches", Value: 1, Usage: "optimizer steps per pass over a rollout batch, rows shuffled with --seed (batch / verl's ppo_mini_batch_size)"},
	}
}

// updateOptions reads --ppo-epochs and --mini-batches.
func updateOptions(c *cli.Context, seed uint64) learn.UpdateOptions {
	return learn.UpdateOptions{Epochs: c.Int("ppo-epochs"), MiniBatches: c.Int("mini-batches"), Seed: seed}
}

// maxStepRows is the most rows one step can give the learner: every
// proposal and every prediction.
func maxStepRows(c *cli.Context) int {
	p, g, q := c.Int("paragraphs"), max(c.Int("gen-samples"), c.Int("baseline-masks")), c.Int("pred-samples")
	return p*g + p*g*q
}

// evalMaxTokens is the in-training evaluation's answer budget: the
// rollout's --pred-max-tokens unless --eval-max-tokens is set (a model
// that reasons before it answers needs the rollout's budget).
func evalMaxTokens(c *cli.Context) int {
	if n := c.Int("eval-max-tokens"); n > 0 {
		return n
	}
	return c.Int("pred-max-tokens")
}

// saveFlags say how pz train and pz learn write checkpoints.
func saveFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "save-dtype", Value: "auto", Usage: "checkpoint weight dtype: auto (the input model's, bf16 for released checkpoints), f32, bf16 or f16; narrower than f32 adds bf16 rounding residuals to resumable checkpoints"},
		&cli.BoolFlag{Name: "final-optimizer", Value: true, Usage: "keep the optimizer state in the last checkpoint (resumable; 2/3 of a float32 checkpoint)"},
	}
}

// saveDType resolves --save-dtype against the input checkpoint's dtype.
func saveDType(c *cli.Context, input safetensors.DType) (safetensors.DType, error) {
	switch v := strings.ToLower(c.String("save-dtype")); v {
	case "auto", "":
		if input == safetensors.BF16 || input == safetensors.F16 {
			return input, nil
		}
		return safetensors.F32, nil
	case "f32", "float32":
		return safetensors.F32, nil
	case "bf16", "bfloat16":
		return safetensors.BF16, nil
	case "f16", "float16":
		return safetensors.F16, nil
	default:
		return "", fmt.Errorf("--save-dtype %q: want auto, f32, bf16 or f16", v)
	}
}

// hostMemoryFlag bounds the estimated host memory of pz train and rollout.
var hostMemoryFlag = &cli.StringFlag{Name: "host-memory", Value: "auto", Usage: "refuse a run whose estimated host memory exceeds this: auto (the machine's), off, or a size such as 64GB"}

// checkHostMemory estimates the host memory of a run of the model in dir
// with this command's flags (learner: pz train; else the engine alone) and
// refuses one over --host-memory, before anything is loaded.
func checkHostMemory(c *cli.Context, dir string, learner bool) error {
	limit, err := orchestrator.ParseHostMemory(c.String("host-memory"))
	if err != nil || limit == 0 {
		return err
	}
	cfg, err := models.LoadConfig(dir)
	if err != nil {
		return err
	}
	s := orchestrator.MemorySettings{MaxBatch: c.Int("max-batch"), MaxPromptTokens: c.Int("max-prompt-tokens"),
		MaxNewTokens: max(c.Int("gen-max-tokens"), c.Int("pred-max-tokens")),
		StandardOps:  qwen3.FusedDecodeSupported(cfg) != nil || os.Getenv("PZ_FUSED_OPS") == "0"}
	mode, err := engine.ResolveWeightMode(cfg, engine.WeightMode(c.String("weights")))
	if err != nil {
		return err
	}
	s.Initializers = mode == engine.WeightsInitializers
	if learner {
		s.MicroBatchTokens = c.Int("micro-batch-tokens")
		s.OptimizerSlots = map[string]int{"adamw": 2, "sgd": 1}[c.String("optimizer")]
		s.SaveBytesPerWeight = 4
		if d := c.String("save-dtype"); d != "f32" && d != "float32" {
			s.SaveBytesPerWeight = 2
		}
	}
	if err := orchestrator.EstimateMemory(cfg, s).Check(limit); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	return nil
}
