package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"pz/models"
	"pz/models/loss"
	"pz/orchestrator"
	"pz/orchestrator/learn"
)

// learnFlags are the learner's hyperparameters, shared by learn, train and
// pretrain.
func learnFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "optimizer", Value: "adamw", Usage: "adamw or sgd"},
		&cli.Float64Flag{Name: "lr", Value: 1e-6, Usage: "learning rate"},
		&cli.StringFlag{Name: "schedule", Value: "constant", Usage: "constant or cosine"},
		&cli.IntFlag{Name: "warmup-steps", Value: 0},
		&cli.Float64Flag{Name: "min-lr-ratio", Value: 0, Usage: "cosine floor as a fraction of --lr"},
		&cli.Float64Flag{Name: "weight-decay", Value: 0.01},
		&cli.Float64Flag{Name: "max-grad-norm", Value: 1, Usage: "global-norm clipping (0: off)"},
		&cli.Float64Flag{Name: "beta1", Value: 0.9},
		&cli.Float64Flag{Name: "beta2", Value: 0.999},
		&cli.Float64Flag{Name: "clip-low", Value: 0.2, Usage: "PPO ratio clip below 1"},
		&cli.Float64Flag{Name: "clip-high", Value: 0.28, Usage: "PPO ratio clip above 1 (clip-higher)"},
		&cli.Float64Flag{Name: "dual-clip", Value: 0, Usage: "dual-clip constant c > 1 (0: off)"},
		&cli.StringFlag{Name: "kl", Value: "", Usage: "KL to ref_logprobs: k1, k2 or k3 (default off)"},
		&cli.Float64Flag{Name: "kl-coef", Value: 0},
		&cli.Float64Flag{Name: "entropy-coef", Value: 0, Usage: "entropy bonus coefficient on every row (default off)"},
		&cli.Float64Flag{Name: "generator-entropy-coef", Value: 0, Usage: "guard: entropy bonus on generator-role rows only (added to --entropy-coef; default off)"},
		&cli.StringFlag{Name: "loss-agg", Value: string(learn.TokenMean), Usage: "token-mean, seq-mean-token-mean or seq-mean-token-sum-norm"},
		&cli.IntFlag{Name: "loss-horizon", Value: 4096, Usage: "normaliser of seq-mean-token-sum-norm"},
		&cli.IntFlag{Name: "micro-batch-tokens", Value: 4096, Usage: "padded tokens per micro-batch"},
		&cli.Float64Flag{Name: "tis-cap", Value: 0, Usage: "truncated importance sampling cap (0: off)"},
		&cli.BoolFlag{Name: "recompute-old", Usage: "recompute old log-probs with the learner even when the rollout gave them"},
		&cli.BoolFlag{Name: "low-memory", Usage: "turn off ONNX Runtime's memory arena in the learner (~40% less peak memory, ~1.3× slower steps)"},
		&cli.BoolFlag{Name: "shared-prefix", Value: true, Usage: "run each prompt once for the completions that share it (exact; ~G× cheaper updates)"},
		&cli.Float64Flag{Name: "router-aux-loss-coef", Value: 0, Usage: "MoE models: add the router load-balancing loss times this (default off; turns --shared-prefix off)"},
	}
}

func learnOptions(c *cli.Context, totalSteps int) learn.Options {
	return learn.Options{
		Optimizer: c.String("optimizer"), LR: c.Float64("lr"), Schedule: c.String("schedule"),
		WarmupSteps: c.Int("warmup-steps"), TotalSteps: totalSteps, MinLRRatio: c.Float64("min-lr-ratio"),
		WeightDecay: c.Float64("weight-decay"), MaxGradNorm: c.Float64("max-grad-norm"),
		Beta1: c.Float64("beta1"), Beta2: c.Float64("beta2"),
		Policy: loss.PolicyOptions{ClipLow: c.Float64("clip-low"), ClipHigh: c.Float64("clip-high"), DualClip: c.Float64("dual-clip"),
			KL: loss.KLKind(c.String("kl")), KLCoef: c.Float64("kl-coef"), EntropyCoef: c.Float64("entropy-coef"),
			EntropyPerToken: c.Float64("generator-entropy-coef") > 0},
		Aggregation: learn.Aggregation(c.String("loss-agg")), Horizon: c.Int("loss-horizon"),
		MicroBatchTokens: c.Int("micro-batch-tokens"), TISCap: c.Float64("tis-cap"), RecomputeOld: c.Bool("recompute-old"),
		// The aux loss needs the plain graph's routing statistics.
		SharedPrefix:      c.Bool("shared-prefix") && c.Float64("router-aux-loss-coef") == 0,
		RouterAuxLossCoef: c.Float64("router-aux-loss-coef"),
		LowMemory:         c.Bool("low-memory"),
		// Every caller here hands each new version on (engine sync,
		// checkpoint) before the next step, the condition for recycling.
		RecycleWeights: true,
		IntraOpThreads: c.Int("threads"),
	}
}

func learnCommand() *cli.Command {
	flags := append(ortFlags(), threadsFlag,
		&cli.StringFlag{Name: "model", Usage: "model folder to start from (required)"},
		&cli.StringSliceFlag{Name: "in", Usage: "trajectory files, globs or folders, Parquet or JSONL (required)"},
		&cli.StringFlag{Name: "out", Usage: "output folder for checkpoint-<step>/ and run.yaml (required)"},
		&cli.IntFlag{Name: "mini-batches", Value: 1, Usage: "optimizer steps per rollout step and epoch, rows shuffled with --seed"},
		ppoEpochsFlag,
		&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the shuffle across mini-batches"},
		&cli.Int64Flag{Name: "max-staleness", Value: -1, Usage: "skip rows whose policy_version is more than K behind (-1: off)"},
		&cli.IntFlag{Name: "keep-last", Value: 3},
		&cli.IntFlag{Name: "save-every", Value: 0, Usage: "checkpoint every N optimizer steps (0: at the end)"},
		&cli.BoolFlag{Name: "resume", Usage: "continue from the newest checkpoint under --out"},
		overwriteFlag,
		&cli.StringFlag{Name: "config", Usage: "YAML file of flag values (keys are flag names; flags override), e.g. a run's run.yaml"},
	)
	flags = append(flags, learnFlags()...)
	flags = append(flags, saveFlags()...)
	return &cli.Command{
		Name:  "learn",
		Usage: "GRPO gradient steps on trajectory files; writes HF checkpoints",
		Flags: flags,
		Action: func(c *cli.Context) error {
			if err := applyConfig(c, c.String("config")); err != nil {
				return err
			}
			if err := requireFlags(c, "model", "in", "out"); err != nil {
				return err
			}
			if err := startRun(c, true); err != nil {
				return err
			}
			rt, err := initRuntime(c)
			if err != nil {
				return err
			}
			start := c.String("model")
			resumeFrom := ""
			if c.Bool("resume") {
				if resumeFrom, err = learn.Latest(c.String("out")); err != nil {
					return err
				}
				if resumeFrom != "" {
					start = resumeFrom
				}
			}
			if start, err = resolveModel(start); err != nil {
				return err
			}
			tokDir, cleanup, err := snapshotTokenizer(start)
			if err != nil {
				return err
			}
			defer cleanup()
			ck, err := models.LoadCheckpoint(start)
			if err != nil {
				return err
			}
			sdt, err := saveDType(c, ck.DType)
			if err != nil {
				return err
			}
			l, err := learn.New(rt, ck.Config, ck.Weights, learnOptions(c, 0))
			if err != nil {
				return err
			}
			l.SetCheckpointDType(ck.DType) // written back as loaded
			defer l.Close()
			var version int64
			if resumeFrom != "" {
				st, err := l.Restore(resumeFrom)
				if err != nil {
					return err
				}
				version = st.PolicyVersion
			}
			sum, err := orchestrator.LearnFiles(c.Context, l, orchestrator.LearnRunOptions{
				Inputs: c.StringSlice("in"), Out: c.String("out"), MiniBatches: c.Int("mini-batches"),
				PPOEpochs: c.Int("ppo-epochs"), Seed: c.Uint64("seed"),
				SaveDType: sdt, NoFinalOptimizer: !c.Bool("final-optimizer"),
				MaxStaleness: c.Int64("max-staleness"), KeepLast: c.Int("keep-last"), SaveEvery: c.Int("save-every"),
				TokenizerFrom: tokDir, Version: version, GeneratorEntropyCoef: c.Float64("generator-entropy-coef"),
				OnStep: func(m learn.Metrics) {
					fmt.Fprintf(c.App.ErrWriter, "step %d: loss %.6g grad_norm %.4g clip_frac %.3f mismatch %.4f tokens %d (%.0f tok/s)%s\n",
						m.Step, m.Loss, m.GradNorm, m.ClipFrac, m.Mismatch, m.Tokens, m.TokPerSec, skipped(m.Skipped))
				},
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "%d rows (%d filtered, %d stale), %d optimizer steps (%d skipped); checkpoint %s\n",
				sum.Rows, sum.Filtered, sum.Stale, sum.Steps, sum.Skipped, sum.Checkpoint)
			return nil
		},
	}
}

func skipped(s string) string {
	if s == "" {
		return ""
	}
	return " SKIPPED: " + s
}
