package main

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"pz/models"
	"pz/models/safetensors"
)

// flagContext parses args against cmd's flags.
func flagContext(t *testing.T, cmd *cli.Command, args ...string) *cli.Context {
	t.Helper()
	set := flag.NewFlagSet(cmd.Name, flag.ContinueOnError)
	for _, f := range cmd.Flags {
		if err := f.Apply(set); err != nil {
			t.Fatal(err)
		}
	}
	if err := set.Parse(args); err != nil {
		t.Fatal(err)
	}
	return cli.NewContext(cli.NewApp(), set, nil)
}

func TestEvalMaxTokensDefaultsToTheRollouts(t *testing.T) {
	for _, c := range []struct {
		args []string
		want int
	}{
		{nil, 512},
		{[]string{"--pred-max-tokens", "4096"}, 4096},
		{[]string{"--pred-max-tokens", "4096", "--eval-max-tokens", "64"}, 64},
	} {
		if got := evalMaxTokens(flagContext(t, trainCommand(), c.args...)); got != c.want {
			t.Errorf("%v: eval max tokens %d, want %d", c.args, got, c.want)
		}
	}
}

func TestTrainRefusesMoreMiniBatchesThanRows(t *testing.T) {
	c := flagContext(t, trainCommand(), "--paragraphs", "1", "--gen-samples", "2", "--pred-samples", "2", "--mini-batches", "7")
	if err := updateOptions(c, 1).Validate(maxStepRows(c)); err == nil {
		t.Error("7 mini-batches of at most 6 rows were accepted")
	}
}

func TestSaveDType(t *testing.T) {
	for _, c := range []struct {
		flag  string
		input safetensors.DType
		want  safetensors.DType
	}{
		{"auto", safetensors.BF16, safetensors.BF16},
		{"auto", safetensors.F32, safetensors.F32},
		{"auto", safetensors.F64, safetensors.F32},
		{"bf16", safetensors.F32, safetensors.BF16},
		{"f32", safetensors.BF16, safetensors.F32},
		{"int8", safetensors.F32, ""},
	} {
		got, err := saveDType(flagContext(t, trainCommand(), "--save-dtype", c.flag), c.input)
		if got != c.want || (err != nil) != (c.want == "") {
			t.Errorf("--save-dtype %s on %s: %q, %v; want %q", c.flag, c.input, got, err, c.want)
		}
	}
}

// TestTrainRefusesWhatCannotFit: pz train on a Qwen3-4B config with the
// recipe's flags and 64 GB is refused, naming the estimate, before any
// weight is read (the folder has none).
func TestTrainRefusesWhatCannotFit(t *testing.T) {
	dir := t.TempDir()
	cfg := models.Tiny()
	cfg.HiddenSize, cfg.IntermediateSize, cfg.NumHiddenLayers = 2560, 9728, 36
	cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDim, cfg.VocabSize = 32, 8, 128, 151936
	if err := models.WriteConfig(dir, &cfg); err != nil {
		t.Fatal(err)
	}
	out, err := pzCmd("train", "--config", filepath.Join(repoRoot(), "scripts", "recipes", "qwen3-4b-base.yaml"),
		"--model", dir, "--data", filepath.Join(repoRoot(), "data", "sample"), "--out", filepath.Join(dir, "run"),
		"--device", "cpu", "--host-memory", "64GB").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "estimated host memory") || !strings.Contains(string(out), "64.0 GB") {
		t.Fatalf("err %v, output:\n%s", err, out)
	}
}
