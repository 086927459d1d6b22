package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"pz/export/exporttest"
)

// TestExperimentBiosSmoke runs scripts/experiment-bios.sh in its SMOKE=1
// form (a 12-person world, a one-layer model, 2-step arms, one seed;
// ~15 s on 2 cores) with this test binary as pz, and checks that every
// stage wrote its output: the pooled table with a row per arm and the
// attribute columns, the kind mix with labelled shares, the wall times.
func TestExperimentBiosSmoke(t *testing.T) {
	exporttest.Runtime(t)
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	run := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command("bash", filepath.Join(repoRoot(), "scripts", "experiment-bios.sh"))
	cmd.Env = append(os.Environ(), "SMOKE=1", "RUN="+run, "THREADS=1",
		"PZ=env PZ_TEST_MAIN=1 PZ_LOG_LEVEL=warn "+os.Args[0])
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("experiment-bios.sh: %v\n%s", err, out)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(run, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	table := read("table.md")
	if !strings.HasPrefix(table, "| arm | birth_city | birth_date | employer | major | university | work_city | all |") {
		t.Errorf("table.md header:\n%s", table)
	}
	for _, arm := range []string{"base", "continued-pt", "random-span", "entropy-ntp", "pretrainzero"} {
		if !regexp.MustCompile(`(?m)^\| ` + arm + ` \|.* \(\d+/12\) \|$`).MatchString(table) {
			t.Errorf("table.md has no row for %s over the 12 questions:\n%s", arm, table)
		}
	}
	// Random spans always land somewhere labelled or not: their kind
	// shares are numbers.
	if kinds := read("kinds.md"); !regexp.MustCompile(`(?m)^\| random-span \| 0–0 \| \d+ \| \d+% \|`).MatchString(kinds) {
		t.Errorf("kinds.md has no kind mix for random-span:\n%s", kinds)
	}
	if times := read("times.tsv"); strings.Count(times, "\n") != 6 {
		t.Errorf("times.tsv: want a header and 5 arms:\n%s", times)
	}
	if _, err := os.Stat(filepath.Join(run, "report", "report.html")); err != nil {
		t.Error(err)
	}
}
