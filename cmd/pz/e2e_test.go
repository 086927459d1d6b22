package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"pz/export/exporttest"
	"pz/models"
)

// TestMain lets tests run the real CLI in a child process (to kill it):
// the test binary re-executes itself with PZ_TEST_MAIN=1 and acts as pz.
func TestMain(m *testing.M) {
	if os.Getenv("PZ_TEST_MAIN") == "1" {
		os.Exit(run(append([]string{"pz"}, os.Args[1:]...)))
	}
	os.Exit(m.Run())
}

// pzCmd is the CLI as a child process.
func pzCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "PZ_TEST_MAIN=1", "PZ_LOG_LEVEL=warn")
	return cmd
}

func pz(t *testing.T, args ...string) string {
	t.Helper()
	out, err := pzCmd(args...).CombinedOutput()
	if err != nil {
		t.Fatalf("pz %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func repoRoot() string { return filepath.Join("..", "..") }

// trainArgs is a small, fast pz train run on the tiny preset.
func trainArgs(model, out string, steps int) []string {
	return []string{"train", "--model", model, "--data", filepath.Join(repoRoot(), "data", "sample"), "--out", out,
		"--steps", itoa(steps), "--paragraphs", "2", "--gen-samples", "4", "--pred-samples", "4",
		"--gen-max-tokens", "6", "--pred-max-tokens", "4", "--short-templates", "--no-filter",
		// With a random model every advantage is 0; the entropy bonus
		// makes each step move the weights all the same.
		"--entropy-coef", "0.01",
		"--lr", "1e-3", "--checkpoint-every", "1", "--keep-last", "10", "--threads", "1", "--seed", "3"}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// losses reads the learner loss of every step of a run's metrics.
func losses(t *testing.T, run string) map[int64]float64 {
	t.Helper()
	f, err := os.Open(filepath.Join(run, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[int64]float64{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var m struct {
			Step  int64
			Learn struct{ Loss, GradNorm float64 } `json:"learn"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			continue // a line cut by SIGKILL
		}
		out[m.Step] = m.Learn.Loss + 1000*m.Learn.GradNorm
	}
	return out
}

// TestTrainKilledAndResumedIsBitExact runs pz train uninterrupted, and
// again killed with SIGKILL after its first checkpoint and resumed with
// --resume: every step's loss and gradient norm, and the final weights,
// must be identical.
func TestTrainKilledAndResumedIsBitExact(t *testing.T) {
	exporttest.Runtime(t) // skips without the ORT library (outside CI)
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	pz(t, "init-model", "--preset", "tiny", "--out", model, "--seed", "5")
	const steps = 4
	full := filepath.Join(dir, "full")
	pz(t, trainArgs(model, full, steps)...)

	killed := filepath.Join(dir, "killed")
	cmd := pzCmd(trainArgs(model, killed, steps)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(killed, "checkpoint-1")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no checkpoint-1 within 2 minutes")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	// Make the kill land between a step's metrics line and its checkpoint,
	// whatever the timing was: the steps after checkpoint-1 are redone.
	os.RemoveAll(filepath.Join(killed, "checkpoint-2"))
	os.WriteFile(filepath.Join(killed, "latest"), []byte("checkpoint-1\n"), 0o644)
	f, _ := os.OpenFile(filepath.Join(killed, "metrics.jsonl"), os.O_APPEND|os.O_WRONLY, 0o644)
	f.WriteString(`{"step":1,"learn":{"loss":7}}` + "\n" + `{"step":2,"lea`)
	f.Close()
	pz(t, append(trainArgs(model, killed, steps), "--resume")...)

	if b, err := os.ReadFile(filepath.Join(killed, "metrics.jsonl")); err != nil {
		t.Fatal(err)
	} else if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != steps {
		t.Errorf("metrics.jsonl of the resumed run has %d lines, want %d (steps redone after the kill must not repeat)", len(lines), steps)
	}
	want, got := losses(t, full), losses(t, killed)
	if want[steps-1] == 0 {
		t.Fatalf("the run did not learn anything (loss and grad norm 0): the test would prove nothing")
	}
	for s := int64(0); s < steps; s++ {
		if got[s] != want[s] {
			t.Errorf("step %d: loss+grad %v after kill and resume, %v uninterrupted", s, got[s], want[s])
		}
	}
	a, err := os.ReadFile(filepath.Join(full, "checkpoint-4", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(killed, "checkpoint-4", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Error("final weights differ after kill and resume")
	}
}

// TestLearnIsOneSGDStep: `pz learn --optimizer sgd --lr 1 --max-grad-norm 0
// --weight-decay 0` on a small JSONL batch applies exactly one step and
// writes an HF checkpoint (the contract an independent implementation
// checks gradients against; the gradient itself is checked by
// orchestrator/learn's finite-difference test).
func TestLearnIsOneSGDStep(t *testing.T) {
	exporttest.Runtime(t)
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	pz(t, "init-model", "--preset", "tiny", "--out", model)
	rows := filepath.Join(dir, "rows.jsonl")
	os.WriteFile(rows, []byte(`{"prompt_ids":[5,6,7],"completion_ids":[8,9],"advantage":1.0}
{"prompt_ids":[5,6,7],"completion_ids":[10,11,12],"advantage":-0.5}
`), 0o644)
	out := pz(t, "learn", "--model", model, "--in", rows, "--out", filepath.Join(dir, "out"),
		"--optimizer", "sgd", "--lr", "1", "--max-grad-norm", "0", "--weight-decay", "0")
	if !strings.Contains(out, "1 optimizer steps") {
		t.Errorf("output: %s", out)
	}
	for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", "optimizer.safetensors", "trainer_state.json"} {
		if _, err := os.Stat(filepath.Join(dir, "out", "checkpoint-1", f)); err != nil {
			t.Error(err)
		}
	}
}

// TestLearnGeneratorEntropyCoef: --generator-entropy-coef reaches the
// generator-role rows and only them: on a file of generator rows it is
// the same step as --entropy-coef, on predictor rows the same as no bonus,
// and the bonus changes the step.
func TestLearnGeneratorEntropyCoef(t *testing.T) {
	exporttest.Runtime(t)
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	pz(t, "init-model", "--preset", "tiny", "--out", model)
	rows := func(role string) string {
		f := filepath.Join(dir, role+".jsonl")
		os.WriteFile(f, []byte(`{"prompt_ids":[5,6,7],"completion_ids":[8,9],"advantage":1.0,"role":"`+role+`"}
{"prompt_ids":[5,6,7],"completion_ids":[10,11,12],"advantage":-0.5,"role":"`+role+`"}
`), 0o644)
		return f
	}
	step := func(name, in string, extra ...string) map[string][]float32 {
		out := filepath.Join(dir, name)
		pz(t, append([]string{"learn", "--model", model, "--in", in, "--out", out,
			"--optimizer", "sgd", "--lr", "1", "--max-grad-norm", "0", "--weight-decay", "0"}, extra...)...)
		ck, err := models.LoadCheckpoint(filepath.Join(out, "checkpoint-1"))
		if err != nil {
			t.Fatal(err)
		}
		return ck.Weights
	}
	gen, pred := rows("generator"), rows("predictor")
	plain := step("plain", gen)
	global := step("global", gen, "--entropy-coef", "0.5")
	onGen := step("on-gen", gen, "--generator-entropy-coef", "0.5")
	onPred := step("on-pred", pred, "--generator-entropy-coef", "0.5")
	same := func(a, b map[string][]float32) bool {
		for k := range a {
			for i := range a[k] {
				if d := a[k][i] - b[k][i]; d > 1e-6 || d < -1e-6 {
					return false
				}
			}
		}
		return true
	}
	if same(plain, global) {
		t.Fatal("--entropy-coef 0.5 did not change the step")
	}
	if !same(onGen, global) {
		t.Error("generator rows with --generator-entropy-coef: not the --entropy-coef step")
	}
	if !same(onPred, plain) {
		t.Error("predictor rows with --generator-entropy-coef: not the plain step")
	}
}

// TestTrainRunFolderGuard: a second pz train into a finished run is
// refused (status 2, nothing changed); --resume past --steps says so and
// does nothing (status 0); --overwrite moves the old run aside first. The
// kill test above checks that a resumed run's metrics stay in order.
func TestTrainRunFolderGuard(t *testing.T) {
	dir, model := tinyModel(t)
	run := filepath.Join(dir, "run")
	pz(t, trainArgs(model, run, 2)...)
	before, err := os.ReadFile(filepath.Join(run, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	status := func(args ...string) (int, string) {
		out, err := pzCmd(args...).CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), string(out)
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	code, out := status(trainArgs(model, run, 2)...)
	if code != 2 || !strings.Contains(out, "--resume") || !strings.Contains(out, "--overwrite") {
		t.Errorf("train into a finished run: status %d, output %q; want 2 and advice", code, out)
	}
	code, out = status(append(trainArgs(model, run, 1), "--resume")...)
	if code != 0 || !strings.Contains(out, "already at step 2") || strings.Contains(out, "percent") {
		t.Errorf("resume past --steps: status %d, output %q", code, out)
	}
	if after, _ := os.ReadFile(filepath.Join(run, "metrics.jsonl")); string(after) != string(before) {
		t.Error("a refused or finished run changed metrics.jsonl")
	}
	if _, err := os.Stat(filepath.Join(run, RunConfigFile)); err != nil {
		t.Errorf("no run.yaml: %v", err)
	}
	pz(t, append(trainArgs(model, run, 1), "--overwrite")...)
	asides, _ := filepath.Glob(run + ".old-*")
	if len(asides) != 1 {
		t.Fatalf("asides %v", asides)
	}
	if old, _ := os.ReadFile(filepath.Join(asides[0], "metrics.jsonl")); string(old) != string(before) {
		t.Error("the old run was not kept intact")
	}
	if got := losses(t, run); len(got) != 1 {
		t.Errorf("the new run has %d steps, want 1", len(got))
	}
}

// TestDefaultsOutsideTheCheckout: from a folder that is not a checkout,
// pz train with the default --data uses the corpus embedded in the binary
// (copied once to the per-user cache).
func TestDefaultsOutsideTheCheckout(t *testing.T) {
	exporttest.Runtime(t)
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	lib, err := filepath.Abs(filepath.Join(repoRoot(), ".cache", "ort", "current", "libonnxruntime.so"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(lib); err != nil {
		t.Skip("no ORT library in the checkout's cache")
	}
	work, cache := t.TempDir(), t.TempDir()
	run := func(args ...string) string {
		cmd := pzCmd(args...)
		cmd.Dir = work
		cmd.Env = append(cmd.Env, "XDG_CACHE_HOME="+cache, "PZ_ORT_LIB="+lib)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("pz %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("init-model", "--preset", "tiny", "--out", "m")
	args := trainArgs("m", "r", 1)
	for i, a := range args {
		if a == "--data" {
			args = append(args[:i:i], args[i+2:]...) // the default
			break
		}
	}
	run(args...)
	if got := losses(t, filepath.Join(work, "r")); len(got) != 1 {
		t.Fatalf("%d steps, want 1", len(got))
	}
	if m, _ := filepath.Glob(filepath.Join(cache, "pz", "sample-*", "train.jsonl")); len(m) != 1 {
		t.Errorf("embedded corpus not in the user cache: %v", m)
	}
}

// TestResumedCheckpointsKeepTheTokenizer: a run resumed from its own
// checkpoint with --keep-last 1 still writes tokenizer.json into every new
// checkpoint after the one it resumed from is pruned (found by
// scripts/drill.sh: they had none, and the next resume failed).
func TestResumedCheckpointsKeepTheTokenizer(t *testing.T) {
	dir, model := tinyModel(t)
	run := filepath.Join(dir, "run")
	keep1 := func(steps int) []string { return append(trainArgs(model, run, steps), "--keep-last", "1") }
	pz(t, keep1(1)...)
	pz(t, append(keep1(3), "--resume")...)
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json", "generation_config.json"} {
		if _, err := os.Stat(filepath.Join(run, "checkpoint-3", f)); err != nil {
			t.Error(err)
		}
	}
}

// tinyModel skips without ORT or in -short, and writes a tiny-preset model
// into a new temporary folder.
func tinyModel(t *testing.T) (dir, model string) {
	t.Helper()
	exporttest.Runtime(t)
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	dir = t.TempDir()
	model = filepath.Join(dir, "model")
	pz(t, "init-model", "--preset", "tiny", "--out", model, "--seed", "5")
	return dir, model
}
