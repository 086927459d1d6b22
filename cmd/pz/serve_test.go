package main

import (
	"bufio"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"pz/export/exporttest"
	"pz/export/tritonrepo"
	"pz/orchestrator/traj"
)

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func readTraj(t *testing.T, dir string) []traj.Row {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if len(files) == 0 {
		t.Fatalf("no trajectory files in %s", dir)
	}
	var rows []traj.Row
	for _, f := range files {
		r, err := traj.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r...)
	}
	return rows
}

// pz serve as a child process; pz rollout --backend triton against it
// gives the trajectories of --backend ort (greedy: same ids, log-probs
// within 1e-5); pz train --backend triton publishes each version to the
// repository and the rows record the served version; SIGTERM drains.
func TestServeRolloutTrainCLI(t *testing.T) {
	exporttest.Runtime(t)
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	pz(t, "init-model", "--preset", "tiny", "--out", model, "--seed", "5")
	repo := filepath.Join(dir, "repo")
	pz(t, "export", "--model", model, "--triton-repo", repo, "--name", "pz", "--max-batch", "16")
	if _, err := tritonrepo.ReadConfig(filepath.Join(repo, "pz", "config.pbtxt")); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	srv := pzCmd("serve", "--repo", repo, "--http", addr, "--grpc", "off", "--threads", "1", "--token", "tok")
	stderr, _ := srv.StderrPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.Now().Add(time.Minute)
	for {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v2/health/ready", nil)
		req.Header.Set("Authorization", "Bearer tok")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("pz serve not ready within a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
	common := []string{"--model", model, "--data", filepath.Join(repoRoot(), "data", "sample"), "--steps", "1", "--paragraphs", "2",
		"--gen-samples", "2", "--pred-samples", "2", "--gen-max-tokens", "6", "--pred-max-tokens", "4", "--short-templates",
		"--temperature", "0", "--threads", "1", "--seed", "3"}
	local, remote := filepath.Join(dir, "ort"), filepath.Join(dir, "triton")
	pz(t, append([]string{"rollout", "--out", local}, common...)...)
	cmd := pzCmd(append([]string{"rollout", "--out", remote, "--backend", "triton", "--endpoint", "http://" + addr}, common...)...)
	cmd.Env = append(cmd.Env, "PZ_TRITON_TOKEN=tok")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rollout --backend triton: %v\n%s", err, out)
	}
	a, b := readTraj(t, local), readTraj(t, remote)
	if len(a) != len(b) || len(a) == 0 {
		t.Fatalf("%d rows in-process, %d remote", len(a), len(b))
	}
	key := func(r traj.Row) string { return r.GroupID + "/" + r.Role + "/" + itoa(int(r.SampleIndex)) }
	byKey := map[string]traj.Row{}
	for _, r := range a {
		byKey[key(r)] = r
	}
	for _, r := range b {
		w, ok := byKey[key(r)]
		if !ok || !slices.Equal(r.CompletionIDs, w.CompletionIDs) || !slices.Equal(r.PromptIDs, w.PromptIDs) {
			t.Fatalf("row %s differs: %v, want %v", key(r), r.CompletionIDs, w.CompletionIDs)
		}
		for i := range r.OldLogprobs {
			if d := r.OldLogprobs[i] - w.OldLogprobs[i]; d > 1e-5 || d < -1e-5 {
				t.Fatalf("row %s log-prob %d: %g vs %g", key(r), i, r.OldLogprobs[i], w.OldLogprobs[i])
			}
		}
		if r.ServedVersion != 1 || w.ServedVersion != 0 {
			t.Fatalf("served versions %d (remote), %d (in-process)", r.ServedVersion, w.ServedVersion)
		}
	}
	// Training through the server: version 1 (policy 0) serves step 0,
	// the update is written as version 2, loaded, and serves step 1.
	run := filepath.Join(dir, "run")
	targs := append(trainArgs(model, run, 2), "--backend", "triton", "--endpoint", "http://"+addr, "--triton-repo", repo, "--token", "tok")
	pz(t, targs...)
	vs, err := tritonrepo.Versions(repo, "pz")
	if err != nil || vs[len(vs)-1] != 3 {
		t.Fatalf("repository versions %v (%v), want the newest 3", vs, err)
	}
	rows := readTraj(t, filepath.Join(run, "trajectories"))
	seen := map[int64]int64{}
	for _, r := range rows {
		seen[r.Step] = r.ServedVersion
		if r.ServedVersion != r.PolicyVersion+1 {
			t.Fatalf("step %d: served version %d, policy version %d", r.Step, r.ServedVersion, r.PolicyVersion)
		}
	}
	if len(seen) < 2 {
		t.Fatalf("steps seen: %v", seen)
	}
	srv.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("pz serve after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("pz serve did not drain within 30 s")
	}
	var all []string
	for l := range lines {
		all = append(all, l)
	}
	if !strings.Contains(strings.Join(all, "\n"), "drained") {
		t.Fatalf("no drain message:\n%s", strings.Join(all, "\n"))
	}
}
