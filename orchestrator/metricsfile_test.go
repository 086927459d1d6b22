package orchestrator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrimMetrics: resuming at step `from` drops the lines of the steps to
// be redone and a line cut by a kill, keeps the rest byte for byte, leaves
// an orderly file untouched, and refuses to delete a broken line that is
// not the last.
func TestTrimMetrics(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		from     int64
		want     string // "" with wantErr
		wantErr  string
	}{
		{"missing file", "", 0, "", ""},
		{"nothing to drop", "{\"step\":0}\n{\"step\":1}\n", 2, "{\"step\":0}\n{\"step\":1}\n", ""},
		{"steps after the checkpoint", "{\"step\":0}\n{\"step\":1,\"x\":1}\n{\"step\":2}\n{\"step\":3}\n", 2, "{\"step\":0}\n{\"step\":1,\"x\":1}\n", ""},
		{"cut last line", "{\"step\":0}\n{\"step\":1}\n{\"st", 2, "{\"step\":0}\n{\"step\":1}\n", ""},
		{"restart from zero", "{\"step\":0}\n{\"step\":1}\n", 0, "", ""},
		{"broken middle line", "{\"step\":0}\n{oops}\n{\"step\":1}\n", 1, "", "metrics.jsonl:2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "metrics.jsonl")
			if tc.in != "" {
				if err := os.WriteFile(p, []byte(tc.in), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := trimMetrics(p, tc.from)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %q", err, tc.wantErr)
				}
				if b, _ := os.ReadFile(p); string(b) != tc.in {
					t.Fatal("a refused trim changed the file")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(p)
			if tc.in == "" {
				if err == nil {
					t.Fatal("a missing file was created")
				}
				return
			}
			if string(b) != tc.want {
				t.Fatalf("got %q, want %q", b, tc.want)
			}
		})
	}
}

// TestRemoveStaleTemps: a killed writer's temporary files go, complete
// files and other hidden files stay.
func TestRemoveStaleTemps(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "trajectories")
	os.MkdirAll(filepath.Join(dir, ".checkpoint-3.tmp123"), 0o755)
	for _, f := range []string{".metrics.jsonl.tmp1", "metrics.jsonl", ".keep", "trajectories/.step-000001.parquet.tmp9", "trajectories/step-000000.parquet"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644)
	}
	if err := removeStaleTemps(dir, sub, filepath.Join(dir, "absent")); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]bool{".checkpoint-3.tmp123": false, ".metrics.jsonl.tmp1": false, "metrics.jsonl": true, ".keep": true,
		"trajectories/.step-000001.parquet.tmp9": false, "trajectories/step-000000.parquet": true} {
		if _, err := os.Stat(filepath.Join(dir, f)); (err == nil) != want {
			t.Errorf("%s: present %v, want %v", f, err == nil, want)
		}
	}
}
