package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"

	"github.com/urfave/cli/v2"

	"pz/data"
	"pz/orchestrator"
	engine "pz/orchestrator/engine/ort"
	"pz/orchestrator/reward"
	"pz/orchestrator/sample"
	"pz/orchestrator/task"
)

// rolloutFlags configure the two-role rollout; shared by rollout and train.
func rolloutFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "mode", Value: string(orchestrator.ModePretrainZero), Usage: "pretrainzero, random-span, random-ntp or entropy-ntp"},
		&cli.IntFlag{Name: "paragraphs", Value: 32, Usage: "passages per step"},
		&cli.IntFlag{Name: "gen-samples", Value: 8, Usage: "mask proposals per passage"},
		&cli.IntFlag{Name: "pred-samples", Value: 8, Usage: "predictions per mask"},
		&cli.IntFlag{Name: "baseline-masks", Value: 0, Usage: "masks a baseline mode draws per paragraph (0: --gen-samples, as many as PretrainZero's proposals)"},
		&cli.Float64Flag{Name: "temperature", Value: 1},
		&cli.Float64Flag{Name: "top-p", Value: 1},
		&cli.IntFlag{Name: "top-k", Value: 0},
		&cli.Float64Flag{Name: "min-p", Value: 0},
		&cli.IntFlag{Name: "gen-max-tokens", Value: 512},
		&cli.IntFlag{Name: "pred-max-tokens", Value: 512},
		&cli.IntFlag{Name: "max-prompt-tokens", Value: 1536},
		&cli.StringFlag{Name: "templates", Usage: "JSON file with generation/prediction/next_token templates (default: the paper's)"},
		&cli.BoolFlag{Name: "short-templates", Usage: "compact prompts for small models (\"<paragraph>\\nMask:\" / \"\\nAnswer:\"); --templates wins"},
		&cli.IntFlag{Name: "max-occurrences", Value: 8, Usage: "a span occurring this often or more is invalid"},
		&cli.BoolFlag{Name: "word-aligned", Usage: "only word-aligned spans (the paper's Words ablation)"},
		&cli.BoolFlag{Name: "one-occurrence", Usage: "mask one occurrence instead of all"},
		&cli.BoolFlag{Name: "require-content-word", Usage: "guard: reject spans of stop words only"},
		&cli.IntFlag{Name: "max-span-words", Value: 0, Usage: "guard: reject longer spans (0: off)"},
		&cli.BoolFlag{Name: "dedup-proposals", Usage: "guard: identical proposals within a group count once"},
		&cli.IntFlag{Name: "span-batch-cap", Value: 0, Usage: "guard: at most N valid proposals of one span per step (0: off)"},
		&cli.Float64Flag{Name: "repeat-penalty", Value: 0, Usage: "guard: r_gen penalty per repeat of a span in the step"},
		&cli.BoolFlag{Name: "no-filter", Usage: "keep zero-variance groups (no DAPO filter)"},
		&cli.BoolFlag{Name: "reward-normalised", Usage: "reward the case/punctuation-folded match instead of the strict one"},
		&cli.StringFlag{Name: "ntp-reward", Value: orchestrator.NTPExact, Usage: "next-token baselines' verifier: exact (the paper's, with the span tasks' normalisation flags) or prefix (RPT's prefix match)"},
		&cli.Uint64Flag{Name: "seed", Value: 1},
	}
}

func rolloutOptions(c *cli.Context, runID string) (orchestrator.RolloutOptions, error) {
	o := orchestrator.DefaultRolloutOptions()
	m, err := orchestrator.ParseMode(c.String("mode"))
	if err != nil {
		return o, err
	}
	o.Mode = m
	o.GenSamples, o.PredSamples = c.Int("gen-samples"), c.Int("pred-samples")
	o.BaselineMasks = c.Int("baseline-masks")
	s := sample.Options{Temperature: c.Float64("temperature"), TopP: c.Float64("top-p"), TopK: c.Int("top-k"), MinP: c.Float64("min-p")}
	o.GenSampling, o.PredSampling = s, s
	o.GenMaxTokens, o.PredMaxTokens = c.Int("gen-max-tokens"), c.Int("pred-max-tokens")
	o.MaxPromptTokens = c.Int("max-prompt-tokens")
	if c.Bool("short-templates") {
		o.Templates = orchestrator.ShortTemplates()
	}
	if p := c.String("templates"); p != "" {
		t, err := loadTemplates(p)
		if err != nil {
			return o, err
		}
		o.Templates = t
	}
	o.Mask = task.MaskOptions{MaxOccurrences: c.Int("max-occurrences"), WordAligned: c.Bool("word-aligned"),
		RequireContentWord: c.Bool("require-content-word"), MaxWords: c.Int("max-span-words")}
	o.OneOccurrence = c.Bool("one-occurrence")
	o.Reward = reward.DefaultConfig()
	o.Reward.FilterPredictorGroups = !c.Bool("no-filter")
	o.Reward.FilterGeneratorGroups = !c.Bool("no-filter")
	o.Reward.RewardNormalised = c.Bool("reward-normalised")
	o.NTPReward = c.String("ntp-reward")
	o.Reward.DedupWithinGroup = c.Bool("dedup-proposals")
	o.Reward.BatchCap = c.Int("span-batch-cap")
	o.Reward.RepeatPenalty = c.Float64("repeat-penalty")
	o.Seed = c.Uint64("seed")
	o.RunID = runID
	// A corpus with known ground truth (pz data synth) labels its spans:
	// the metrics then count each valid mask's kind.
	if o.SpanLabels, err = data.ReadSpanLabels(c.String("data")); err != nil {
		return o, err
	}
	return o, nil
}

// openData opens a data path (pz data prepare output, or raw files) as a
// stream over one shard of its train or held-out split.
func openData(c *cli.Context, path, split string, seed uint64) (*data.Stream, error) {
	sh, err := data.ParseShard(c.String("shard"))
	if err != nil {
		return nil, fmt.Errorf("--shard: %w", err)
	}
	if path, err = samplePath(path); err != nil {
		return nil, err
	}
	return data.Open(c.Context, path, data.OpenOptions{Shard: sh, Split: split, Seed: seed})
}

func rolloutCommand() *cli.Command {
	flags := append(ortFlags(), threadsFlag,
		&cli.StringFlag{Name: "model", Usage: "model folder with tokenizer.json (required)"},
		&cli.StringFlag{Name: "data", Value: "data/sample", Usage: "pz data prepare output, or JSONL/Parquet/text files"},
		&cli.StringFlag{Name: "out", Usage: "output folder for trajectory Parquet files and run.yaml (required)"},
		&cli.IntFlag{Name: "steps", Value: 1},
		&cli.StringFlag{Name: "shard", Usage: "i/N: this worker's shard of the data"},
		&cli.StringFlag{Name: "backend", Value: "ort", Usage: "ort (in-process) or triton (KServe v2 servers: --endpoint)"},
		&cli.IntFlag{Name: "max-batch", Value: 64, Usage: "rows decoded together"},
		&cli.StringFlag{Name: "weights", Value: string(engine.WeightsAuto), Usage: "how weights reach the engine's graphs: initializers (prepacked, < 2 GB), inputs, or auto (initializers when they fit)"},
		&cli.StringFlag{Name: "config", Usage: "YAML file of flag values (keys are flag names; flags override), e.g. a run's run.yaml"},
	)
	flags = append(flags, rolloutFlags()...)
	flags = append(flags, hostMemoryFlag)
	flags = append(flags, tritonFlags()...)
	return &cli.Command{
		Name:  "rollout",
		Usage: "run the two-role PretrainZero rollout (or a baseline) and write trajectories",
		Flags: flags,
		Action: func(c *cli.Context) error {
			if err := applyConfig(c, c.String("config")); err != nil {
				return err
			}
			if err := requireFlags(c, "model", "out"); err != nil {
				return err
			}
			// A rerun continues from the worker's rollout-state file, so the
			// folder is not guarded like train's; each worker records its flags.
			if err := writeRunConfig(c, c.String("out"), rolloutConfigFile(c.String("shard"))); err != nil {
				return err
			}
			if c.String("backend") == "ort" {
				if dir, err := resolveModel(c.String("model")); err == nil {
					if err := checkHostMemory(c, dir, false); err != nil {
						return fmt.Errorf("rollout: %w", err)
					}
				}
			}
			eng, _, tok, closeEng, err := openBackend(c, c.String("model"), engine.Options{MaxBatch: c.Int("max-batch"), Weights: engine.WeightMode(c.String("weights"))})
			if err != nil {
				return err
			}
			defer closeEng()
			if tok == nil {
				return fmt.Errorf("rollout: %s has no tokenizer.json", c.String("model"))
			}
			o, err := rolloutOptions(c, c.String("out"))
			if err != nil {
				return err
			}
			r, err := orchestrator.NewRollout(eng, tok, o)
			if err != nil {
				return err
			}
			src, err := openData(c, c.String("data"), data.SplitTrain, c.Uint64("seed"))
			if err != nil {
				return err
			}
			steps := c.Int("steps")
			bar := newProgress("rollout", "steps", 1)
			bar.SetTotal(int64(steps))
			var tokens, comps int
			var gen, pred float64
			err = orchestrator.RunRollouts(c.Context, r, src, orchestrator.RolloutRunOptions{
				Out: c.String("out"), Steps: steps, Paragraphs: c.Int("paragraphs"), Shard: c.String("shard"),
				OnStep: func(step int64, res *orchestrator.StepResult) {
					bar.Add(1)
					tokens += res.Tokens
					comps += res.Completions
					gen += res.GenSeconds
					pred += res.PredSeconds
					st := res.Stats
					bar.Printf("step %d: %d masks, %d completions, %d tokens (%.0f tok/s); valid masks %d/%d, accuracy %.3f, stop-word share %.2f, distinct spans %d",
						step, res.Masks, res.Completions, res.Tokens, float64(res.Tokens)/math.Max(res.GenSeconds+res.PredSeconds, 1e-9),
						st.ValidMasks, st.Proposals, st.StrictAccuracy, st.StopWordShare, st.DistinctSpans)
				},
			})
			bar.Stop()
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "rollout done: %d completions, %d tokens, %.0f tokens/s in generation; trajectories in %s\n",
				comps, tokens, float64(tokens)/math.Max(gen+pred, 1e-9), c.String("out"))
			return nil
		},
	}
}

// loadTemplates reads prompt templates (JSON with generation, prediction
// and next_token keys; missing keys keep the paper's).
func loadTemplates(path string) (task.Templates, error) {
	t := task.DefaultTemplates()
	b, err := os.ReadFile(path)
	if err != nil {
		return t, fmt.Errorf("--templates: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return t, fmt.Errorf("--templates %s: %w", path, err)
	}
	if err := t.Validate(); err != nil {
		return t, fmt.Errorf("--templates %s: %w", path, err)
	}
	return t, nil
}
