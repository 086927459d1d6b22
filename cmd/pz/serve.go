package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"pz/export/tritonrepo"
	"pz/models"
	engine "pz/orchestrator/engine/ort"
	"pz/orchestrator/serve"
)

// serveCommand is `pz serve`: a KServe v2 server over the ORT engine.
func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "serve a model over the KServe v2 protocol (HTTP/JSON + binary tensors, gRPC, generate extension) with dynamic batching",
		Flags: append(ortFlags(), threadsFlag,
			&cli.StringFlag{Name: "model", Usage: "model folder (or a run folder's latest checkpoint)"},
			&cli.StringFlag{Name: "repo", Usage: "Triton model repository (pz export --triton-repo): serve its newest version, reload on repository load; with --model and no version yet, --model becomes version 1"},
			&cli.StringFlag{Name: "name", Value: "pz", Usage: "model name (the score model is NAME_score)"},
			&cli.StringFlag{Name: "http", Value: "127.0.0.1:8000", Usage: "HTTP address (\"\" or off: none)"},
			&cli.StringFlag{Name: "grpc", Value: "127.0.0.1:8001", Usage: "gRPC address (\"\" or off: none)"},
			&cli.StringFlag{Name: "token", EnvVars: []string{"PZ_SERVE_TOKEN"}, Usage: "require Authorization: Bearer TOKEN on every request"},
			&cli.StringFlag{Name: "tls-cert", Usage: "TLS certificate (PEM) for both listeners"},
			&cli.StringFlag{Name: "tls-key", Usage: "TLS key (PEM)"},
			&cli.IntFlag{Name: "max-batch", Value: 64, Usage: "completions per engine batch"},
			&cli.DurationFlag{Name: "batch-window", Value: 2 * time.Millisecond, Usage: "how long a batch's first request waits for others"},
			&cli.Int64Flag{Name: "max-request-bytes", Value: 64 << 20},
			&cli.IntFlag{Name: "max-new-tokens", Value: 4096, Usage: "cap on a request's max_tokens"},
			&cli.DurationFlag{Name: "request-timeout", Value: 10 * time.Minute, Usage: "cap on one request"},
			&cli.DurationFlag{Name: "drain-timeout", Value: 30 * time.Second, Usage: "on SIGTERM/SIGINT, how long in-flight requests may finish"},
			&cli.StringFlag{Name: "weights", Value: string(engine.WeightsInitializers), Usage: "engine weight mode: initializers or inputs"},
		),
		Action: runServe,
	}
}

func runServe(c *cli.Context) error {
	repo, name := c.String("repo"), c.String("name")
	dir, version := c.String("model"), int64(1)
	if repo != "" {
		vs, _ := tritonrepo.Versions(repo, name)
		switch {
		case len(vs) > 0:
			version = vs[len(vs)-1]
			dir = filepath.Join(repo, name, fmt.Sprint(version), "pz")
		case dir == "":
			return fmt.Errorf("serve: %s has no version of %s; give --model to start it", repo, name)
		default:
			src, err := resolveModel(dir)
			if err != nil {
				return err
			}
			ck, err := models.LoadCheckpoint(src)
			if err != nil {
				return err
			}
			if err := tritonrepo.WriteVersion(c.Context, tritonrepo.Options{Repo: repo, Name: name, TokenizerFrom: src}, ck.Config, ck.Weights, 1); err != nil {
				return err
			}
		}
	}
	if dir == "" {
		return errors.New("serve: give --model or --repo")
	}
	eng, ck, tok, err := loadEngine(c, dir, engine.Options{MaxBatch: c.Int("max-batch"), Weights: engine.WeightMode(c.String("weights"))})
	if err != nil {
		return err
	}
	defer eng.Close()
	o := serve.Options{Name: name, Engine: eng, VocabSize: ck.Config.VocabSize, MaxLength: ck.Config.MaxPositionEmbeddings, Version: version,
		Token: c.String("token"), MaxRequestBytes: c.Int64("max-request-bytes"), MaxNewTokens: c.Int("max-new-tokens"),
		RequestTimeout: c.Duration("request-timeout"), BatchWindow: c.Duration("batch-window"), MaxBatchRows: c.Int("max-batch")}
	if tok != nil {
		o.Encode = tok.EncodeSpecial
		o.Decode = func(ids []int32) string { s, _ := tok.Decode(ids); return s }
	}
	if repo != "" {
		o.Reload = func(ctx context.Context, model string) (map[string][]float32, int64, error) {
			ck, v, err := tritonrepo.LoadLatest(repo, name)
			if err != nil {
				return nil, 0, err
			}
			return ck.Weights, v, nil
		}
	}
	srv, err := serve.New(o)
	if err != nil {
		return err
	}
	defer srv.Close()

	cert, key := c.String("tls-cert"), c.String("tls-key")
	if (cert == "") != (key == "") {
		return errors.New("serve: --tls-cert and --tls-key go together")
	}
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	errc := make(chan error, 2)
	var hs *http.Server
	if addr := c.String("http"); addr != "" && addr != "off" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("serve: --http: %w", err)
		}
		hs = &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 30 * time.Second}
		go func() {
			var err error
			if cert != "" {
				err = hs.ServeTLS(l, cert, key)
			} else {
				err = hs.Serve(l)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serve: http: %w", err)
			}
		}()
		slog.Info("serve: HTTP listening", "addr", l.Addr().String(), "tls", cert != "")
	}
	var gs *grpc.Server
	if addr := c.String("grpc"); addr != "" && addr != "off" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("serve: --grpc: %w", err)
		}
		var extra []grpc.ServerOption
		if cert != "" {
			creds, err := credentials.NewServerTLSFromFile(cert, key)
			if err != nil {
				return fmt.Errorf("serve: TLS: %w", err)
			}
			extra = append(extra, grpc.Creds(creds))
		}
		gs = srv.NewGRPC(extra...)
		go func() {
			if err := gs.Serve(l); err != nil {
				errc <- fmt.Errorf("serve: grpc: %w", err)
			}
		}()
		slog.Info("serve: gRPC listening", "addr", l.Addr().String(), "tls", cert != "")
	}
	if hs == nil && gs == nil {
		return errors.New("serve: both --http and --grpc are off")
	}
	fmt.Fprintf(c.App.ErrWriter, "serving %s (and %s) version %d\n", name, srv.ScoreModel(), version)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Drain: unready at once, in-flight requests get drain-timeout.
	slog.Info("serve: draining", "timeout", c.Duration("drain-timeout"))
	srv.Drain()
	dctx, cancel := context.WithTimeout(context.Background(), c.Duration("drain-timeout"))
	defer cancel()
	done := make(chan struct{})
	go func() {
		if gs != nil {
			gs.GracefulStop()
		}
		close(done)
	}()
	if hs != nil {
		if err := hs.Shutdown(dctx); err != nil {
			slog.Warn("serve: HTTP drain cut short", "err", err)
		}
	}
	select {
	case <-done:
	case <-dctx.Done():
		gs.Stop()
	}
	fmt.Fprintln(c.App.ErrWriter, "serve: drained")
	return nil
}
