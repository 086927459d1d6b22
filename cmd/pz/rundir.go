package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"

	"pz/internal/atomicfile"
	"pz/models"
	"pz/orchestrator/learn"
)

// RunConfigFile is the resolved configuration saved in every run folder;
// `--config RUN/run.yaml` reads it back (flags still override).
const RunConfigFile = "run.yaml"

// overwriteFlag lets a command start afresh in a folder that already holds
// a run.
var overwriteFlag = &cli.BoolFlag{Name: "overwrite", Usage: "start afresh in a non-empty --out: its old contents are first moved aside to <out>.old-<time>"}

// prepareRunDir makes sure a run never silently mixes with what is already
// in out: an empty or missing folder is used as is; a non-empty one needs
// resume (continue it) or overwrite (its contents are moved aside to
// out.old-<UTC time>, never deleted, so nothing written before is lost).
// resumable says whether the command can continue a run at all (it shapes
// the error's advice). Notes go to w.
func prepareRunDir(w io.Writer, out string, resume, resumable, overwrite bool) error {
	ents, err := os.ReadDir(out)
	if errors.Is(err, os.ErrNotExist) || (err == nil && len(ents) == 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("--out %s: %w", out, err)
	}
	if resume && overwrite {
		return usageError("--resume and --overwrite contradict each other: continue the run in %s, or start afresh", out)
	}
	if resume {
		return nil
	}
	if !overwrite {
		names := make([]string, 0, 3)
		for _, e := range ents[:min(3, len(ents))] {
			names = append(names, e.Name())
		}
		more := ""
		if len(ents) > 3 {
			more = fmt.Sprintf(" and %d more", len(ents)-3)
		}
		advice := "pass --overwrite to start afresh (the old contents are moved to " + filepath.Base(out) + ".old-<time>) or choose another --out"
		if resumable {
			advice = "pass --resume to continue it, " + advice
		}
		return usageError("--out %s is not empty (%s%s): %s", out, strings.Join(names, ", "), more, advice)
	}
	aside := fmt.Sprintf("%s.old-%s", filepath.Clean(out), time.Now().UTC().Format("20060102-150405"))
	for i := 2; ; i++ {
		if _, err := os.Lstat(aside); errors.Is(err, os.ErrNotExist) {
			break
		}
		aside = fmt.Sprintf("%s.old-%s-%d", filepath.Clean(out), time.Now().UTC().Format("20060102-150405"), i)
	}
	// A rename keeps everything (moving, not deleting, is the safe default:
	// an --overwrite typed by mistake costs nothing) and is atomic, so a
	// crash never leaves a half-emptied folder.
	if err := os.Rename(out, aside); err != nil {
		return fmt.Errorf("--overwrite: move %s aside: %w", out, err)
	}
	fmt.Fprintf(w, "--overwrite: moved the old contents of %s to %s (delete it when no longer needed)\n", out, aside)
	return nil
}

// usageError is an error that exits with status 2.
func usageError(format string, args ...any) error {
	return cli.Exit(fmt.Sprintf(format, args...), 2)
}

// writeRunConfig saves every flag of the command, as resolved (command
// line, --config file, defaults), to out/run.yaml, keyed by flag name so
// that --config reads it back. Flags that say what to do with the folder
// rather than how to train (config, resume, overwrite) are left out.
func writeRunConfig(c *cli.Context, out, name string) error {
	b, err := marshalRunConfig(c, name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return atomicfile.WriteFile(filepath.Join(out, name), b, 0o644)
}

func marshalRunConfig(c *cli.Context, name string) ([]byte, error) {
	skip := map[string]bool{"config": true, "resume": true, "overwrite": true, "help": true}
	var names []string
	for _, f := range c.Command.Flags {
		if n := f.Names()[0]; !skip[n] {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var doc yaml.Node
	doc.Kind = yaml.MappingNode
	for _, n := range names {
		var v any
		switch flagByName(c.Command.Flags, n).(type) {
		case *cli.StringSliceFlag:
			v = c.StringSlice(n)
		case *cli.DurationFlag:
			v = c.Duration(n).String() // "5m0s" parses back; nanoseconds would not
		default:
			v = c.Value(n)
		}
		var kn, vn yaml.Node
		kn.SetString(n)
		if err := vn.Encode(v); err != nil {
			return nil, fmt.Errorf("%s: flag %s: %w", name, n, err)
		}
		doc.Content = append(doc.Content, &kn, &vn)
	}
	b, err := yaml.Marshal(&doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	head := fmt.Sprintf("# pz %s: the resolved flags of this run (pz %s --config %s reads it back; flags override)\n",
		c.Command.Name, c.Command.Name, name)
	return append([]byte(head), b...), nil
}

func flagByName(fs []cli.Flag, name string) cli.Flag {
	for _, f := range fs {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

// startRun guards --out (see prepareRunDir) and saves run.yaml in it.
func startRun(c *cli.Context, resumable bool) error {
	out := c.String("out")
	if err := prepareRunDir(c.App.ErrWriter, out, c.Bool("resume"), resumable, c.Bool("overwrite")); err != nil {
		return err
	}
	return writeRunConfig(c, out, RunConfigFile)
}

// rolloutConfigFile is run.yaml for an unsharded rollout, and
// run-shard-I-of-N.yaml per worker, since shards share one folder.
func rolloutConfigFile(shard string) string {
	if shard == "" {
		return RunConfigFile
	}
	return "run-shard-" + strings.Replace(shard, "/", "-of-", 1) + ".yaml"
}

// resumeDone reports whether --resume finds the run in --out already at
// or past --steps, and says so: that is nothing to do, not an error (exit
// status 0), and the folder is left untouched.
func resumeDone(c *cli.Context) (bool, error) {
	if !c.Bool("resume") {
		return false, nil
	}
	dir, err := learn.Latest(c.String("out"))
	if err != nil || dir == "" {
		return false, err
	}
	st, err := learn.ReadTrainerState(dir)
	if err != nil {
		return false, err
	}
	steps := c.Int("steps")
	if st.Step < int64(steps) {
		return false, nil
	}
	fmt.Fprintf(c.App.ErrWriter, "%s is already at step %d, --steps is %d: nothing to do (raise --steps to train further)\n",
		c.String("out"), st.Step, steps)
	return true, nil
}

// requireFlags checks required flags after --config has been applied (a
// flag urfave marks Required must be on the command line, so run.yaml
// could not stand in for it), with a one-line error pointing at --help.
func requireFlags(c *cli.Context, names ...string) error {
	var missing []string
	for _, n := range names {
		if !c.IsSet(n) {
			missing = append(missing, "--"+n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return usageError("%s: missing %s (see pz %s --help)", c.Command.Name, strings.Join(missing, ", "), c.Command.Name)
}

// snapshotTokenizer copies the tokenizer files of a model folder into a
// new temporary folder, returned with its cleanup. Checkpoints copy their
// tokenizer from it: a run resumed from its own checkpoint-N would otherwise
// copy from a folder that --keep-last prunes while the run goes on, and
// every checkpoint after the pruning would have no tokenizer.json.
func snapshotTokenizer(dir string) (string, func(), error) {
	tmp, err := os.MkdirTemp("", "pz-tokenizer")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	for _, n := range models.TokenizerFiles() {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(tmp, n), b, 0o644)
		}
		if err != nil {
			cleanup()
			return "", nil, fmt.Errorf("tokenizer of %s: %w", dir, err)
		}
	}
	return tmp, cleanup, nil
}
