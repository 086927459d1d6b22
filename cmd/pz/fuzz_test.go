package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/urfave/cli/v2"
)

// FuzzTrainConfig: a train --config YAML file of any content is applied
// or refused with an error, never a panic. Seeded with the shipped recipe
// and a run.yaml as pz writes it.
func FuzzTrainConfig(f *testing.F) {
	if b, err := os.ReadFile("../../scripts/recipes/qwen3-4b-base.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("out: x\nsteps: 7\nlr: 2.5e-05\nmode: random-span\nshared-prefix: false\nbudget: 1m30s\n"))
	f.Add([]byte("model: [a, b]\n"))
	f.Add([]byte("- 1\n- 2\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "run.yaml")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := trainCommand()
		cmd.Action = func(c *cli.Context) error { return applyConfig(c, p) }
		app := &cli.App{Name: "pz", Commands: []*cli.Command{cmd}, Writer: discard{}, ErrWriter: discard{},
			ExitErrHandler: func(*cli.Context, error) {}}
		app.Run([]string{"pz", "train", "--out", "x"})
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
