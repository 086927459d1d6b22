package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"pz/export/exporttest"
	"pz/models"
	"pz/models/gguf"
	"pz/models/safetensors"
)

// TestFamiliesEndToEnd runs every model command on the tiny-moe and
// tiny-smollm3 presets: init-model, score, generate, rollout, learn (from
// a bfloat16 checkpoint, written back in bfloat16 with the HF tensor
// names; for MoE also with the router aux loss), a one-step train, eval
// and export --gguf.
func TestFamiliesEndToEnd(t *testing.T) {
	exporttest.Runtime(t)
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	for _, preset := range []string{"tiny-moe", "tiny-smollm3"} {
		t.Run(preset, func(t *testing.T) {
			dir := t.TempDir()
			model := filepath.Join(dir, "model")
			pz(t, "init-model", "--preset", preset, "--out", model, "--seed", "2")
			ck, err := models.LoadCheckpoint(model)
			if err != nil {
				t.Fatal(err)
			}
			// The learner starts from a bfloat16 copy (as hub checkpoints are).
			bf := filepath.Join(dir, "bf16")
			if err := models.SaveCheckpoint(bf, ck.Config, ck.Weights, models.SaveOptions{DType: safetensors.BF16, TokenizerFrom: model}); err != nil {
				t.Fatal(err)
			}

			in := filepath.Join(dir, "score.jsonl")
			os.WriteFile(in, []byte(`{"ids":[5,6,7,8,9]}`+"\n"+`{"ids":[10,11,12]}`+"\n"), 0o644)
			var lines []struct{ LogProbs []float64 }
			for _, l := range strings.Split(strings.TrimSpace(pz(t, "score", "--model", model, "--in", in, "--threads", "1")), "\n") {
				var r struct{ LogProbs []float64 }
				if json.Unmarshal([]byte(l), &r) == nil && r.LogProbs != nil {
					lines = append(lines, r)
				}
			}
			if len(lines) != 2 || len(lines[0].LogProbs) != 4 || len(lines[1].LogProbs) != 2 {
				t.Errorf("score: %+v", lines)
			}

			if out := pz(t, "generate", "--model", model, "--prompt", "The", "--max-new-tokens", "6", "--threads", "1"); strings.TrimSpace(out) == "" {
				t.Error("generate printed nothing")
			}

			args := trainArgs(model, "", 1)
			rolloutFlags := args[slices.Index(args, "--paragraphs"):slices.Index(args, "--entropy-coef")]
			pz(t, append([]string{"rollout", "--model", model, "--data", filepath.Join(repoRoot(), "data", "sample"),
				"--out", filepath.Join(dir, "rollout"), "--steps", "1", "--threads", "1"}, rolloutFlags...)...)
			if m, _ := filepath.Glob(filepath.Join(dir, "rollout", "*.parquet")); len(m) == 0 {
				t.Error("rollout wrote no trajectories")
			}

			rows := filepath.Join(dir, "rows.jsonl")
			os.WriteFile(rows, []byte(`{"prompt_ids":[5,6,7],"completion_ids":[8,9],"advantage":1.0}
{"prompt_ids":[5,6,7],"completion_ids":[10,11,12],"advantage":-0.5}
`), 0o644)
			pz(t, "learn", "--model", bf, "--in", rows, "--out", filepath.Join(dir, "learn"), "--optimizer", "sgd", "--lr", "1")
			out, err := models.LoadCheckpoint(filepath.Join(dir, "learn", "checkpoint-1"))
			if err != nil {
				t.Fatal(err)
			}
			if out.DType != safetensors.BF16 {
				t.Errorf("learn wrote %s, want the input's bf16", out.DType)
			}
			name := "model.layers.1.self_attn.q_proj.weight"
			if ck.Config.IsMoE() {
				name = models.ExpertName(1, 3, "down_proj")
			}
			if slices.Equal(out.Weights[name], ck.Weights[name]) {
				t.Errorf("learn did not change %s", name)
			}
			if ck.Config.IsMoE() { // the optional router load-balancing term
				pz(t, "learn", "--model", model, "--in", rows, "--out", filepath.Join(dir, "learn-aux"), "--router-aux-loss-coef", "0.01")
			}

			run := filepath.Join(dir, "train")
			pz(t, trainArgs(model, run, 1)...)
			if _, err := models.LoadCheckpoint(filepath.Join(run, "checkpoint-1")); err != nil {
				t.Errorf("train checkpoint: %v", err)
			}

			pz(t, "eval", "--model", model, "--data", filepath.Join(repoRoot(), "data", "sample"), "--n", "2", "--max-tokens", "4",
				"--short-templates", "--threads", "1")

			g := filepath.Join(dir, "m.gguf")
			pz(t, "export", "--model", model, "--gguf", g)
			f, err := gguf.Read(g)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"tiny-moe": "qwen3moe", "tiny-smollm3": "smollm3"}[preset]
			if a, _ := f.Get("general.architecture"); a != want {
				t.Errorf("gguf architecture %v, want %s", a, want)
			}
		})
	}
}
