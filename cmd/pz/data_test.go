package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pz/data"
)

func TestDataPrepareCLI(t *testing.T) {
	out := t.TempDir()
	txt, err := runPz(t, "", "data", "prepare", "--in", "../../data/sample/train.jsonl", "--out", out, "--shards", "2", "--heldout", "0.1", "--heldout-by", "title", "--workers", "2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(txt, "passages kept:") || !strings.Contains(txt, "passages-00001-of-00002.parquet") {
		t.Errorf("prepare output:\n%s", txt)
	}
	for _, f := range []string{"passages-00000-of-00002.parquet", "passages-00001-of-00002.parquet", "heldout.parquet", "stats.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	stats, err := runPz(t, "", "data", "stats", out)
	if err != nil || stats != txt {
		t.Errorf("stats differ from prepare's report (err %v):\n%s\nvs\n%s", err, stats, txt)
	}
	raw, err := runPz(t, "", "data", "stats", "--json", out)
	var st data.Stats
	if err != nil || json.Unmarshal([]byte(raw), &st) != nil || st.PassagesHeldout == 0 || len(st.Shards) != 2 {
		t.Errorf("stats --json: %v %+v", err, st)
	}
	if _, err := runPz(t, "", "data", "prepare", "--in", filepath.Join(out, "*.none"), "--out", out); err == nil {
		t.Error("no input accepted")
	}
}
