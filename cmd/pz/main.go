// Command pz runs reinforcement active pretraining (PretrainZero) on raw text
// corpora: data preparation, rollouts, verification, learning and training.
//
// main only wires things: each subcommand lives in its own file in this
// package as a constructor returning *cli.Command, copies its flags into an
// options struct and calls a run function in a library package.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
)

// version is pz's own version; overridden at link time with
// -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args))
}

// commands lists every subcommand. Each constructor lives in its own file.
func commands() []*cli.Command {
	return []*cli.Command{
		versionCommand(),
		initModelCommand(),
		scoreCommand(),
		generateCommand(),
		learnCommand(),
		rolloutCommand(),
		trainCommand(),
		pretrainCommand(),
		evalCommand(),
		evalTableCommand(),
		kindMixCommand(),
		tokenizeCommand(),
		detokenizeCommand(),
		tokenizerCommand(),
		dataCommand(),
		demoCommand(),
		exportCommand(),
		serveCommand(),
		verifyCommand(),
		reportCommand(),
	}
}

func newApp() *cli.App {
	return &cli.App{
		Name:    "pz",
		Usage:   "reinforcement active pretraining (PretrainZero) with ONNX Runtime",
		Version: version,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug|info|warn|error", EnvVars: []string{"PZ_LOG_LEVEL"}},
		},
		Before: func(c *cli.Context) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(c.String("log-level"))); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl})))
			return nil
		},
		Commands:        commands(),
		HideHelpCommand: true,
		// Errors come back to run, which prints them and picks the exit
		// status; urfave's default handler would os.Exit past the deferred
		// cleanups.
		ExitErrHandler: func(*cli.Context, error) {},
	}
}

// run executes the CLI and maps errors to exit codes in one place:
// 0 ok, 1 failure, 2 usage error, 130 interrupted.
func run(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := newApp().RunContext(ctx, args)
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, "pz:", err)
	var exitErr cli.ExitCoder
	switch {
	case errors.Is(err, context.Canceled):
		return 130
	case errors.As(err, &exitErr):
		return exitErr.ExitCode()
	}
	return 1
}
