package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"pz/export/tritonrepo"
	"pz/models"
	"pz/models/tokenizer"
	"pz/orchestrator"
	engine "pz/orchestrator/engine/ort"
	"pz/orchestrator/engine/triton"
)

// tritonFlags configure --backend triton (pz rollout, pz train).
func tritonFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "endpoint", Usage: "--backend triton: KServe v2 servers, comma-separated (http://, https://, grpc://, grpcs://host:port)"},
		&cli.StringFlag{Name: "triton-protocol", Value: triton.ProtocolInfer, Usage: "infer (pz serve's generation model) or generate (the generate extension of Triton's vLLM/TensorRT-LLM backends)"},
		&cli.StringFlag{Name: "triton-model", Value: "pz", Usage: "served model name (score model: NAME_score)"},
		&cli.StringFlag{Name: "token", EnvVars: []string{"PZ_TRITON_TOKEN"}, Usage: "bearer token for the servers"},
		&cli.StringFlag{Name: "triton-repo", Usage: "model repository the servers load from: pz train writes each new version there and calls the repository API"},
		&cli.DurationFlag{Name: "triton-timeout", Value: 10 * time.Minute, Usage: "cap on one remote call"},
	}
}

// openBackend returns the rollout engine --backend asks for, the model's
// checkpoint and tokenizer, and a closer.
func openBackend(c *cli.Context, dir string, opts engine.Options) (orchestrator.Engine, *models.Checkpoint, *tokenizer.Tokenizer, func(), error) {
	switch b := c.String("backend"); b {
	case "ort", "":
		eng, ck, tok, err := loadEngine(c, dir, opts)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		return eng, ck, tok, func() { eng.Close() }, nil
	case "triton":
	default:
		return nil, nil, nil, nil, fmt.Errorf("--backend %q: want ort or triton", b)
	}
	if c.String("endpoint") == "" {
		return nil, nil, nil, nil, fmt.Errorf("--backend triton needs --endpoint URL[,URL...]")
	}
	dir, err := resolveModel(dir)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	ck, err := models.LoadCheckpoint(dir)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	var tok *tokenizer.Tokenizer
	if _, err := os.Stat(dir + "/tokenizer.json"); err == nil {
		if tok, err = tokenizer.Load(dir); err != nil {
			return nil, nil, nil, nil, err
		}
	}
	o := triton.Options{Endpoints: strings.Split(c.String("endpoint"), ","), Model: c.String("triton-model"),
		Protocol: c.String("triton-protocol"), Token: c.String("token"), Timeout: c.Duration("triton-timeout")}
	if tok != nil {
		o.Encode = tok.EncodeSpecial
		o.Decode = func(ids []int32) string { s, _ := tok.Decode(ids); return s }
	}
	if repo := c.String("triton-repo"); repo != "" {
		ro := tritonrepo.Options{Repo: repo, Name: o.Model, TokenizerFrom: dir}
		cfg := ck.Config
		o.Publish = func(ctx context.Context, w map[string][]float32, v int64) error {
			return tritonrepo.WriteVersion(ctx, ro, cfg, w, v)
		}
	}
	eng, err := triton.New(o)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if err := eng.Ready(c.Context); err != nil {
		eng.Close()
		return nil, nil, nil, nil, err
	}
	return &versionShift{eng}, ck, tok, func() { eng.Close() }, nil
}

// versionShift maps policy versions to repository versions: Triton's
// start at 1, so policy version v is published and served as v+1.
type versionShift struct{ *triton.Engine }

func (e *versionShift) LoadWeights(ctx context.Context, w map[string][]float32, v int64) error {
	return e.Engine.LoadWeights(ctx, w, v+1)
}

// tritonRepoFlags are pz export's Triton repository flags.
func tritonRepoFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "triton-repo", Usage: "Triton model repository to write (REPO/NAME, REPO/NAME_score)"},
		&cli.StringFlag{Name: "name", Value: "pz", Usage: "--triton-repo: model name"},
		&cli.Int64Flag{Name: "version", Value: 1, Usage: "--triton-repo: version folder to write"},
		&cli.IntFlag{Name: "max-batch", Value: 64, Usage: "--triton-repo: max_batch_size"},
		&cli.BoolFlag{Name: "gpu", Usage: "--triton-repo: instance groups KIND_GPU (default KIND_CPU)"},
		&cli.IntFlag{Name: "instances", Value: 1, Usage: "--triton-repo: instances per device"},
	}
}

func exportTritonRepo(c *cli.Context) error {
	dir, err := resolveModel(c.String("model"))
	if err != nil {
		return err
	}
	ck, err := models.LoadCheckpoint(dir)
	if err != nil {
		return err
	}
	o := tritonrepo.Options{Repo: c.String("triton-repo"), Name: c.String("name"), MaxBatch: c.Int("max-batch"), GPU: c.Bool("gpu"),
		Instances: c.Int("instances"), TokenizerFrom: dir}
	if err := tritonrepo.WriteVersion(c.Context, o, ck.Config, ck.Weights, c.Int64("version")); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "wrote %s/%s and %s/%s version %d; serve with: tritonserver --model-repository=%s --model-control-mode=explicit --load-model=%s --load-model=%s, or pz serve --repo %s\n",
		o.Repo, o.Name, o.Repo, tritonrepo.ScoreName(o.Name), c.Int64("version"), o.Repo, o.Name, tritonrepo.ScoreName(o.Name), o.Repo)
	return nil
}
