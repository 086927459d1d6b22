package main

import (
	"github.com/urfave/cli/v2"

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
