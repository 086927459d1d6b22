package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"pz/data"
	"pz/models"
	"pz/models/tokenizer"
	"pz/orchestrator"
	engine "pz/orchestrator/engine/ort"
	"pz/orchestrator/learn"
	"pz/orchestrator/traj"
)

func trainCommand() *cli.Command {
	flags := append(ortFlags(), threadsFlag,
		&cli.StringFlag{Name: "config", Usage: "YAML file of flag values (keys are flag names; flags override)"},
		&cli.StringFlag{Name: "model", Usage: "model folder to start from"},
		&cli.StringFlag{Name: "data", Value: "data/sample", Usage: "pz data prepare output, or raw files"},
		&cli.StringFlag{Name: "out", Usage: "run folder: metrics.jsonl, checkpoints, trajectories, run.yaml (required)"},
		&cli.IntFlag{Name: "steps", Value: 2000},
		&cli.StringFlag{Name: "shard", Usage: "i/N: this worker's shard of the data"},
		&cli.IntFlag{Name: "checkpoint-every", Value: 50},
		&cli.IntFlag{Name: "keep-last", Value: 3},
		&cli.IntFlag{Name: "eval-every", Value: 0, Usage: "held-out evaluation every N steps (0: off)"},
		&cli.IntFlag{Name: "eval-n", Value: 100, Usage: "held-out questions per kind"},
		&cli.IntFlag{Name: "eval-max-tokens", Value: 0, Usage: "new tokens per held-out answer (0: --pred-max-tokens, the rollout's)"},
		&cli.BoolFlag{Name: "write-trajectories", Value: true, Usage: "keep each step's rollout as Parquet"},
		&cli.BoolFlag{Name: "resume", Usage: "continue from the newest checkpoint in --out"},
		overwriteFlag,
		&cli.IntFlag{Name: "max-batch", Value: 64},
		&cli.StringFlag{Name: "weights", Value: string(engine.WeightsAuto), Usage: "how weights reach the engine's graphs: initializers (prepacked, < 2 GB), inputs, or auto (initializers when they fit)"},
		&cli.StringFlag{Name: "backend", Value: "ort", Usage: "ort (in-process) or triton (KServe v2 servers: --endpoint, --triton-repo)"},
	)
	flags = append(flags, rolloutFlags()...)
	flags = append(flags, learnFlags()...)
	flags = append(flags, updateFlags()...)
	flags = append(flags, saveFlags()...)
	flags = append(flags, hostMemoryFlag)
	flags = append(flags, rlvrFlags()...)
	flags = append(flags, tritonFlags()...)
	return &cli.Command{
		Name:  "train",
		Usage: "the on-policy PretrainZero loop: rollout → learn → in-memory weight sync",
		Flags: flags,
		Action: func(c *cli.Context) error {
			if err := applyConfig(c, c.String("config")); err != nil {
				return err
			}
			if err := requireFlags(c, "out"); err != nil {
				return err
			}
			if done, err := resumeDone(c); done || err != nil {
				return err
			}
			if err := startRun(c, true); err != nil {
				return err
			}
			return runTrain(c)
		},
	}
}

func runTrain(c *cli.Context) error {
	out := c.String("out")
	start := c.String("model")
	if c.Bool("resume") {
		dir, err := learn.Latest(out)
		if err != nil {
			return err
		}
		if dir != "" {
			start = dir
		}
	}
	if start == "" {
		return errors.New("train: --model is required")
	}
	if start, err := resolveModel(start); err == nil {
		c.Set("model", start)
	}
	start = c.String("model")
	if err := checkHostMemory(c, start, true); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	tokDir, cleanup, err := snapshotTokenizer(start)
	if err != nil {
		return err
	}
	defer cleanup()
	eng, ck, tok, closeEng, err := openBackend(c, start, engine.Options{MaxBatch: c.Int("max-batch"), Weights: engine.WeightMode(c.String("weights"))})
	if err != nil {
		return err
	}
	defer closeEng()
	if tok == nil {
		return fmt.Errorf("train: %s has no tokenizer.json", start)
	}
	rt, err := initRuntime(c)
	if err != nil {
		return err
	}
	steps := c.Int("steps")
	uo := updateOptions(c, c.Uint64("seed"))
	sdt, err := saveDType(c, ck.DType)
	if err != nil {
		return err
	}
	if err := uo.Validate(maxStepRows(c)); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	l, err := learn.New(rt, ck.Config, cloneWeights(ck.Weights), learnOptions(c, steps*uo.Updates()))
	if err != nil {
		return err
	}
	l.SetCheckpointDType(ck.DType) // written back as loaded
	defer l.Close()
	ro, err := rolloutOptions(c, filepath.Base(out))
	if err != nil {
		return err
	}
	ro.Reward.GeneratorEntropyBonus = c.Float64("generator-entropy-coef")
	r, err := orchestrator.NewRollout(eng, tok, ro)
	if err != nil {
		return err
	}
	src, task, err := trainData(c, eng, tok, ro)
	if err != nil {
		return err
	}
	t := &orchestrator.Trainer{Rollout: r, Task: task, Learner: l, Engine: eng, Data: src,
		Opts: orchestrator.TrainOptions{Out: out, Steps: steps, Paragraphs: c.Int("paragraphs"),
			CheckpointEvery: c.Int("checkpoint-every"), KeepLast: c.Int("keep-last"), EvalEvery: c.Int("eval-every"),
			WriteTrajectories: c.Bool("write-trajectories"), TokenizerFrom: tokDir, Update: uo,
			SaveDType: sdt, NoFinalOptimizer: !c.Bool("final-optimizer")}}
	if c.Int("eval-every") > 0 {
		held, err := openData(c, c.String("data"), data.SplitHeldout, 0)
		if err != nil {
			return fmt.Errorf("train: held-out split: %w", err)
		}
		items := orchestrator.MakeEvalSet(held.Passages(), c.Int("eval-n"), 1)
		if len(items) == 0 {
			return fmt.Errorf("train: the held-out split of %s has no usable paragraphs", c.String("data"))
		}
		t.Eval = evalFunc(func(ctx context.Context) (*orchestrator.EvalReport, error) {
			return orchestrator.Evaluate(ctx, eng, tok, items, orchestrator.EvalOptions{Templates: ro.Templates, MaxTokens: evalMaxTokens(c)})
		})
	}
	if c.Bool("resume") {
		from, err := t.Resume(c.Context)
		if err != nil {
			return err
		}
		if from > 0 {
			fmt.Fprintf(c.App.ErrWriter, "resuming %s at step %d\n", out, from)
		}
	}
	bar := newProgress("train", "steps", 1)
	bar.SetTotal(int64(steps))
	bar.Add(l.StepCount() / int64(uo.Updates()))
	t.OnStep = func(m orchestrator.StepMetrics) {
		bar.Add(1)
		if task != nil {
			fmt.Fprintln(c.App.ErrWriter, rlvrStepLine(m))
			return
		}
		st := m.Rollout
		upd := fmt.Sprintf("loss %.4g grad %.3g", m.Learn.Loss, m.Learn.GradNorm)
		if m.Learn.Skipped != "" {
			upd = "update skipped (" + m.Learn.Skipped + ")"
		}
		bar.Printf("step %d: r_gen %.3f r_pred %.3f acc %.3f valid %d/%d stop-words %.2f distinct %d | %s | %.1fs (gen %.1f pred %.1f learn %.1f sync %.2f)",
			m.Step, st.Generator.RewardMean, st.Predictor.RewardMean, st.StrictAccuracy, st.ValidMasks, st.Proposals,
			st.StopWordShare, st.DistinctSpans, upd, m.StepSeconds, m.GenSeconds, m.PredSeconds, m.LearnSeconds, m.SyncSeconds)
		if m.Eval != nil {
			bar.Printf("step %d held-out eval: %s", m.Step, evalLine(m.Eval))
		}
	}
	err = t.Run(c.Context)
	bar.Stop()
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "trained %d steps (%d optimizer steps); metrics in %s; report: pz report %s\n", l.StepCount()/int64(uo.Updates()), l.StepCount(), filepath.Join(out, "metrics.jsonl"), out)
	return nil
}

// evalFunc adapts a function to orchestrator.Evaluator.
type evalFunc func(ctx context.Context) (*orchestrator.EvalReport, error)

func (f evalFunc) Evaluate(ctx context.Context) (*orchestrator.EvalReport, error) { return f(ctx) }

func cloneWeights(w map[string][]float32) map[string][]float32 {
	out := make(map[string][]float32, len(w))
	for k, v := range w {
		out[k] = append([]float32(nil), v...)
	}
	return out
}

func evalCommand() *cli.Command {
	return &cli.Command{
		Name:  "eval",
		Usage: "held-out masked-span accuracy (greedy) with a fixed, seeded question set, or a downstream benchmark (--bench); several --model flags compare checkpoints on identical questions",
		Flags: append(append(ortFlags(), threadsFlag,
			&cli.StringSliceFlag{Name: "model", Usage: "model folder (repeat to compare)"},
			&cli.StringSliceFlag{Name: "name", Usage: "a name per --model for the table (default: folder names)"},
			&cli.StringFlag{Name: "data", Value: "data/sample", Usage: "data path; its held-out split is used"},
			&cli.StringFlag{Name: "masks", Value: "random", Usage: "random, or a JSONL file of {\"id\",\"text\",\"span\"}"},
			&cli.IntFlag{Name: "n", Value: 200, Usage: "questions per kind (random masks)"},
			&cli.Uint64Flag{Name: "seed", Value: 1},
			&cli.IntFlag{Name: "max-tokens", Value: 16},
			&cli.BoolFlag{Name: "short-templates"},
			&cli.StringFlag{Name: "templates"},
			&cli.StringFlag{Name: "shard"},
			&cli.StringFlag{Name: "json", Usage: "also write the results as JSON here ({\"arms\": [{\"name\", \"model\", \"kinds\"}]})"},
		), benchEvalFlags()...),
		Action: func(c *cli.Context) error {
			if c.IsSet("bench") {
				return runBenchEval(c)
			}
			if err := checkBenchFlags(c); err != nil {
				return err
			}
			modelsIn, names := c.StringSlice("model"), c.StringSlice("name")
			if len(modelsIn) == 0 {
				return cli.Exit("pz eval: --model is required", 2)
			}
			if len(names) != 0 && len(names) != len(modelsIn) {
				return fmt.Errorf("eval: %d --name for %d --model", len(names), len(modelsIn))
			}
			var items []orchestrator.EvalItem
			var err error
			if m := c.String("masks"); m != "random" {
				if items, err = orchestrator.ReadEvalItems(m); err != nil {
					return err
				}
			} else {
				held, err := openData(c, c.String("data"), data.SplitHeldout, 0)
				if err != nil {
					return err
				}
				items = orchestrator.MakeEvalSet(held.Passages(), c.Int("n"), c.Uint64("seed"))
			}
			if len(items) == 0 {
				return fmt.Errorf("eval: no usable questions in the held-out split of %s", c.String("data"))
			}
			tmpl := orchestrator.DefaultRolloutOptions().Templates
			if c.Bool("short-templates") {
				tmpl = orchestrator.ShortTemplates()
			}
			if p := c.String("templates"); p != "" {
				if tmpl, err = loadTemplates(p); err != nil {
					return err
				}
			}
			var cmp orchestrator.Comparison
			for i, m := range modelsIn {
				name := filepath.Base(filepath.Clean(m))
				if len(names) > 0 {
					name = names[i]
				}
				eng, _, tok, err := loadEngine(c, m, engine.Options{})
				if err != nil {
					return err
				}
				if tok == nil {
					eng.Close()
					return fmt.Errorf("eval: %s has no tokenizer.json", m)
				}
				t0 := time.Now()
				rep, err := orchestrator.Evaluate(c.Context, eng, tok, items, orchestrator.EvalOptions{Templates: tmpl, MaxTokens: c.Int("max-tokens")})
				eng.Close()
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.ErrWriter, "%s: %d questions in %.1fs\n", name, len(items), time.Since(t0).Seconds())
				cmp.Arms = append(cmp.Arms, orchestrator.Arm{Name: name, Model: m, Kinds: rep.Kinds})
			}
			cmp.WriteTable(c.App.Writer)
			if p := c.String("json"); p != "" {
				return writeJSON(p, cmp)
			}
			return nil
		},
	}
}

func evalTableCommand() *cli.Command {
	return &cli.Command{
		Name:  "eval-table",
		Usage: "pool the arms of a comparison.json (e.g. seeds) and print a Markdown table with 95% intervals",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "in", Required: true, Usage: "comparison.json written by pz eval --json"},
			&cli.StringSliceFlag{Name: "pool", Usage: "NAME=PATTERN: arms whose names match PATTERN (glob) pooled as NAME; default: every arm as is"},
			&cli.BoolFlag{Name: "total", Usage: "add an \"all\" column: every question of an arm pooled"},
		},
		Action: func(c *cli.Context) error {
			b, err := os.ReadFile(c.String("in"))
			if err != nil {
				return err
			}
			var cmp orchestrator.Comparison
			if err := json.Unmarshal(b, &cmp); err != nil {
				return fmt.Errorf("%s: %w", c.String("in"), err)
			}
			out := cmp
			if pools := c.StringSlice("pool"); len(pools) > 0 {
				out = orchestrator.Comparison{}
				for _, p := range pools {
					name, pat, ok := strings.Cut(p, "=")
					if !ok {
						return fmt.Errorf("--pool %q: want NAME=PATTERN", p)
					}
					a, err := cmp.Pool(name, pat)
					if err != nil {
						return err
					}
					out.Arms = append(out.Arms, a)
				}
			}
			if c.Bool("total") {
				out = out.WithTotal()
			}
			out.WriteMarkdown(c.App.Writer)
			return nil
		},
	}
}

func pretrainCommand() *cli.Command {
	flags := append(ortFlags(), threadsFlag,
		&cli.StringFlag{Name: "config", Usage: "YAML file of flag values (keys are flag names; flags override), e.g. a run's run.yaml"},
		&cli.StringFlag{Name: "model", Usage: "model folder to start from, e.g. pz init-model output (required)"},
		&cli.StringFlag{Name: "data", Value: "data/sample"},
		&cli.StringFlag{Name: "out", Usage: "run folder: the final checkpoint and run.yaml (required)"},
		overwriteFlag,
		&cli.IntFlag{Name: "steps", Value: 1000},
		&cli.DurationFlag{Name: "budget", Value: 0, Usage: "stop after this long (e.g. 5m)"},
		&cli.IntFlag{Name: "batch", Value: 16, Usage: "sequences per step"},
		&cli.IntFlag{Name: "seq-len", Value: 256},
		&cli.Float64Flag{Name: "plain", Value: 0.5, Usage: "share of plain paragraphs"},
		&cli.Float64Flag{Name: "cloze", Value: 0.4, Usage: "share of cloze examples (\\boxed{})"},
		&cli.Float64Flag{Name: "proposal", Value: 0.1, Usage: "share of mask-proposal examples (\\mask{})"},
		&cli.IntFlag{Name: "span-words", Value: 3},
		&cli.BoolFlag{Name: "answer-space", Usage: "write the span after a space inside the braces (\\boxed{ span}), so its tokens are the paragraph's own (helps a model trained from scratch copy)"},
		&cli.BoolFlag{Name: "short-templates", Value: true},
		&cli.Uint64Flag{Name: "seed", Value: 1},
		&cli.StringFlag{Name: "shard"},
	)
	flags = append(flags, learnFlags()...)
	return &cli.Command{
		Name:  "pretrain",
		Usage: "next-token pretraining on plain, cloze and mask-proposal texts (the same learner, cross-entropy loss)",
		Flags: flags,
		Action: func(c *cli.Context) error {
			if err := applyConfig(c, c.String("config")); err != nil {
				return err
			}
			if err := requireFlags(c, "model", "out"); err != nil {
				return err
			}
			if err := startRun(c, false); err != nil {
				return err
			}
			rt, err := initRuntime(c)
			if err != nil {
				return err
			}
			dir, err := resolveModel(c.String("model"))
			if err != nil {
				return err
			}
			ck, err := models.LoadCheckpoint(dir)
			if err != nil {
				return err
			}
			tok, err := loadTokenizer(dir)
			if err != nil {
				return err
			}
			eos, ok := tok.EOS()
			if !ok {
				return fmt.Errorf("pretrain: the tokenizer of %s has no end-of-text token", c.String("model"))
			}
			lo := learnOptions(c, c.Int("steps"))
			lo.Objective = learn.NextToken
			l, err := learn.New(rt, ck.Config, ck.Weights, lo)
			if err != nil {
				return err
			}
			l.SetCheckpointDType(ck.DType) // written back as loaded
			defer l.Close()
			src, err := openData(c, c.String("data"), data.SplitTrain, c.Uint64("seed"))
			if err != nil {
				return err
			}
			tmpl := orchestrator.DefaultRolloutOptions().Templates
			if c.Bool("short-templates") {
				tmpl = orchestrator.ShortTemplates()
			}
			bar := newProgress("pretrain", "steps", 1)
			bar.SetTotal(int64(c.Int("steps")))
			bar.SetBudget(c.Duration("budget"))
			tokens, t0 := 0, time.Now()
			last := time.Now()
			steps, err := orchestrator.Pretrain(c.Context, l, tok, src, orchestrator.PretrainOptions{
				Steps: c.Int("steps"), Budget: c.Duration("budget"), BatchSeqs: c.Int("batch"), SeqLen: c.Int("seq-len"),
				Mix:       orchestrator.PretrainMix{Plain: c.Float64("plain"), Cloze: c.Float64("cloze"), Proposal: c.Float64("proposal")},
				Templates: tmpl, EOS: eos, Seed: c.Uint64("seed"), SpanWords: c.Int("span-words"),
				AnswerSpace: c.Bool("answer-space"),
				OnStep: func(m learn.Metrics) {
					bar.Add(1)
					tokens += m.Tokens
					if time.Since(last) > 10*time.Second || m.Step == 0 {
						last = time.Now()
						bar.Printf("pretrain step %d: loss %.4f (ppl %.1f) lr %.3g, %.0f tokens/s",
							m.Step, m.Loss, math.Exp(m.Loss), m.LR, float64(tokens)/time.Since(t0).Seconds())
					}
				},
			})
			bar.Stop()
			if err != nil && !errors.Is(err, c.Context.Err()) {
				return err
			}
			saved, serr := l.Save(c.String("out"), learn.SaveOptions{TokenizerFrom: dir, KeepLast: 1})
			if serr != nil {
				return serr
			}
			fmt.Fprintf(c.App.Writer, "pretrained %d steps (%d tokens, %.0f tokens/s); model at %s\n", steps, tokens, float64(tokens)/time.Since(t0).Seconds(), saved)
			return err
		},
	}
}

func writeJSON(path string, v any) error { return traj.WriteJSONAtomic(path, v) }

func loadTokenizer(dir string) (*tokenizer.Tokenizer, error) { return tokenizer.Load(dir) }
