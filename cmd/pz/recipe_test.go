package main

import (
	"flag"
	"testing"

	"github.com/urfave/cli/v2"

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
