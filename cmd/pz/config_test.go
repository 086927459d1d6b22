package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// runConfig parses args for the train command's flags with applyConfig,
// without running anything, and returns the context's view of a flag.
func runConfig(t *testing.T, args []string, get func(c *cli.Context) any) (any, error) {
	t.Helper()
	cmd := trainCommand()
	var got any
	cmd.Action = func(c *cli.Context) error {
		if err := applyConfig(c, c.String("config")); err != nil {
			return err
		}
		got = get(c)
		return nil
	}
	app := &cli.App{Name: "pz", Commands: []*cli.Command{cmd}}
	err := app.Run(append([]string{"pz", "train"}, args...))
	return got, err
}

func TestConfigFileSetsFlagsAndFlagsWin(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "run.yaml")
	os.WriteFile(p, []byte("steps: 7\nlr: 0.5\nmode: random-span\nshort-templates: true\n"), 0o644)
	got, err := runConfig(t, []string{"--config", p, "--out", dir, "--lr", "0.25"}, func(c *cli.Context) any {
		return []any{c.Int("steps"), c.Float64("lr"), c.String("mode"), c.Bool("short-templates")}
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []any{7, 0.25, "random-span", true}
	for i, w := range want {
		if got.([]any)[i] != w {
			t.Errorf("value %d = %v, want %v", i, got.([]any)[i], w)
		}
	}
}

func TestConfigUnknownKey(t *testing.T) {
	p := filepath.Join(t.TempDir(), "run.yaml")
	os.WriteFile(p, []byte("steps: 7\nlearning_rate: 0.5\n"), 0o644)
	_, err := runConfig(t, []string{"--config", p, "--out", t.TempDir()}, func(*cli.Context) any { return nil })
	if err == nil || !strings.Contains(err.Error(), `unknown key "learning_rate"`) {
		t.Fatalf("error %v, want one naming learning_rate", err)
	}
}

// TestRecipeKeysAreFlags: the documented GPU recipe only uses real flags.
func TestRecipeKeysAreFlags(t *testing.T) {
	p := filepath.Join("..", "..", "scripts", "recipes", "qwen3-4b-base.yaml")
	got, err := runConfig(t, []string{"--config", p, "--out", t.TempDir()}, func(c *cli.Context) any {
		return []any{c.Int("paragraphs"), c.Float64("lr"), c.Int("steps")}
	})
	if err != nil {
		t.Fatal(err)
	}
	if g := got.([]any); g[0] != 32 || g[1] != 5e-7 || g[2] != 2000 {
		t.Errorf("recipe read as %v", g)
	}
}
