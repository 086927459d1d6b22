package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestPrepareRunDir: a non-empty --out is refused (usage error, status 2,
// nothing touched) unless --resume continues it or --overwrite moves its
// contents aside, intact.
func TestPrepareRunDir(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		files                 []string
		resume, overwrite     bool
		wantErr               string
		wantMoved, resumeHint bool
	}{
		{name: "missing"},
		{name: "empty", files: []string{}},
		{name: "finished run", files: []string{"metrics.jsonl", "latest"}, wantErr: "--out", resumeHint: true},
		{name: "resume", files: []string{"metrics.jsonl"}, resume: true},
		{name: "overwrite", files: []string{"metrics.jsonl", "latest"}, overwrite: true, wantMoved: true},
		{name: "both", files: []string{"metrics.jsonl"}, resume: true, overwrite: true, wantErr: "contradict"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			out := filepath.Join(root, "run")
			if tc.files != nil {
				os.MkdirAll(out, 0o755)
				for _, f := range tc.files {
					os.WriteFile(filepath.Join(out, f), []byte(f), 0o644)
				}
			}
			var w bytes.Buffer
			err := prepareRunDir(&w, out, tc.resume, true, tc.overwrite)
			if tc.wantErr != "" {
				var ec cli.ExitCoder
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &ec) || ec.ExitCode() != 2 {
					t.Fatalf("err = %v, want a usage error (status 2) naming %q", err, tc.wantErr)
				}
				if tc.resumeHint && (!strings.Contains(err.Error(), "--resume") || !strings.Contains(err.Error(), "--overwrite")) {
					t.Errorf("err = %v, want it to name --resume and --overwrite", err)
				}
				for _, f := range tc.files {
					if b, _ := os.ReadFile(filepath.Join(out, f)); string(b) != f {
						t.Errorf("%s changed by a refused run", f)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			asides, _ := filepath.Glob(out + ".old-*")
			if !tc.wantMoved {
				if len(asides) != 0 {
					t.Fatalf("moved aside without --overwrite: %v", asides)
				}
				return
			}
			if len(asides) != 1 || !strings.Contains(w.String(), asides[0]) {
				t.Fatalf("asides %v, message %q: want one, named in the message", asides, w.String())
			}
			for _, f := range tc.files {
				if b, _ := os.ReadFile(filepath.Join(asides[0], f)); string(b) != f {
					t.Errorf("%s lost in the move", f)
				}
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("--out still there after the move: %v", err)
			}
		})
	}
}

// TestRunConfigRoundTrip: run.yaml holds every flag of the command as
// resolved, and --config run.yaml gives back exactly those values, for
// each command that saves one.
func TestRunConfigRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		cmd  func() *cli.Command
		args []string
	}{
		{trainCommand, []string{"--out", "x", "--model", "m", "--steps", "7", "--lr", "2.5e-05", "--short-templates", "--mode", "random-span", "--shared-prefix=false"}},
		{pretrainCommand, []string{"--out", "x", "--model", "m", "--budget", "90s", "--lr", "0.001", "--plain", "0.25"}},
		{learnCommand, []string{"--out", "x", "--model", "m", "--in", "a.parquet", "--in", "b/", "--kl", "k3"}},
		{rolloutCommand, []string{"--out", "x", "--model", "m", "--top-p", "0.9", "--seed", "11"}},
	} {
		name := tc.cmd().Name
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			var first []byte
			values := func(args []string) map[string]any {
				cmd := tc.cmd()
				got := map[string]any{}
				cmd.Action = func(c *cli.Context) error {
					if err := applyConfig(c, c.String("config")); err != nil {
						return err
					}
					if err := requireFlags(c, "out", "model"); err != nil {
						return err // run.yaml must be able to stand in for required flags
					}
					b, err := marshalRunConfig(c, RunConfigFile)
					if err != nil {
						return err
					}
					if first == nil {
						first = b
						os.WriteFile(filepath.Join(dir, RunConfigFile), b, 0o644)
					}
					for _, f := range c.Command.Flags {
						n := f.Names()[0]
						if n != "config" {
							got[n] = c.Value(n)
							if _, ok := f.(*cli.StringSliceFlag); ok {
								got[n] = c.StringSlice(n)
							}
						}
					}
					return nil
				}
				app := &cli.App{Name: "pz", Commands: []*cli.Command{cmd}}
				if err := app.Run(append([]string{"pz", name}, args...)); err != nil {
					t.Fatal(err)
				}
				return got
			}
			want := values(tc.args)
			got := values([]string{"--config", filepath.Join(dir, RunConfigFile)})
			for k, w := range want {
				if !reflect.DeepEqual(got[k], w) {
					t.Errorf("%s: %v (%T) read back, %v (%T) resolved", k, got[k], got[k], w, w)
				}
			}
			if !bytes.Contains(first, []byte("\nout: x\n")) {
				t.Errorf("run.yaml lacks out:\n%s", first)
			}
		})
	}
}
