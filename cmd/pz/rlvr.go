package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"pz/data"
	"pz/orchestrator"
	"pz/orchestrator/bench"
)

// rlvrFlags select the train task (`pz train --task rlvr`).
func rlvrFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "task", Value: "pretrainzero", Usage: "pretrainzero (the --mode rollout on passages) or rlvr (questions with a verifier reward: --data is a benchmark-style file, --pred-samples the samples per question, --paragraphs the questions per step)"},
		&cli.StringFlag{Name: "bench", Value: string(bench.Math), Usage: "with --task rlvr: the layout of --data and its verifier (math, gsm8k, aime, mmlu-pro, supergpqa)"},
	}
}

// trainData opens the loop's data: the passages of --data for the
// PretrainZero task, or for --task rlvr its questions and the RLVR rollout
// that answers them (nil task: the loop uses the PretrainZero rollout).
func trainData(c *cli.Context, eng orchestrator.Engine, tok orchestrator.Tokenizer, ro orchestrator.RolloutOptions) (orchestrator.Passages, orchestrator.RolloutTask, error) {
	switch c.String("task") {
	case "pretrainzero":
		src, err := openData(c, c.String("data"), data.SplitTrain, c.Uint64("seed"))
		return src, nil, err
	case "rlvr":
	default:
		return nil, nil, cli.Exit(fmt.Sprintf("pz train: --task %q: want pretrainzero or rlvr", c.String("task")), 2)
	}
	if c.Int("eval-every") > 0 {
		return nil, nil, cli.Exit("pz train --task rlvr: --eval-every is the masked-span eval; score checkpoints with pz eval --bench instead", 2)
	}
	kind, err := bench.ParseKind(c.String("bench"))
	if err != nil {
		return nil, nil, cli.Exit("pz train: "+err.Error(), 2)
	}
	items, err := bench.ReadItems(c.String("data"), kind, bench.ReadOptions{})
	if err != nil {
		return nil, nil, err
	}
	task, err := orchestrator.NewRLVR(eng, tok, items, orchestrator.RLVROptions{Kind: kind, Samples: ro.PredSamples,
		Sampling: ro.PredSampling, MaxNewTokens: ro.PredMaxTokens, MaxPromptTokens: ro.MaxPromptTokens,
		Reward: ro.Reward, Seed: ro.Seed, RunID: ro.RunID})
	if err != nil {
		return nil, nil, err
	}
	src, err := orchestrator.NewRLVRQuestions(items, c.Uint64("seed"))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", c.String("data"), err)
	}
	return src, task, nil
}

// rlvrStepLine is the progress line of an RLVR step.
func rlvrStepLine(m orchestrator.StepMetrics) string {
	st := m.Rollout
	return fmt.Sprintf("step %d: reward %.3f accuracy %.3f groups %d (filtered %d) unparsed %d | loss %.4g grad %.3g | %.1fs (gen %.1f learn %.1f sync %.2f)",
		m.Step, st.Predictor.RewardMean, st.StrictAccuracy, st.Predictor.Groups, st.Predictor.FilteredGroups, st.UnparsedAnswers,
		m.Learn.Loss, m.Learn.GradNorm, m.StepSeconds, m.PredSeconds, m.LearnSeconds, m.SyncSeconds)
}
