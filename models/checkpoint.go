package models

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"pz/internal/atomicfile"
	"pz/models/safetensors"
)

// Checkpoint is a Hugging Face model folder loaded for CPU use: its config
// and every weight converted to float32, keyed by HF tensor name. DType
// records the on-disk dtype so a checkpoint is written back in it.
type Checkpoint struct {
	Dir     string
	Config  *Config
	Weights map[string][]float32
	DType   safetensors.DType
}

// TokenizerFiles are copied from a model folder into every checkpoint
// written from it, so the checkpoint loads in transformers unchanged.
var tokenizerFiles = []string{"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
	"vocab.json", "merges.txt", "generation_config.json"}

// LoadCheckpoint reads config.json and the safetensors weights (single
// file or sharded with an index) of the model folder dir, and checks the
// tensors against the architecture: every missing, unexpected and
// wrong-shape tensor is reported by full name in one error. A tied model's
// stray lm_head.weight (some exporters write it) is ignored.
func LoadCheckpoint(dir string) (*Checkpoint, error) {
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	f, err := safetensors.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("load checkpoint %s: %w", dir, err)
	}
	defer f.Close()
	if err := cfg.CheckExperts(f.Names()); err != nil {
		return nil, fmt.Errorf("load checkpoint %s: %w", dir, err)
	}
	specs := cfg.TensorSpecs()
	ss := make([]safetensors.Spec, 0, len(specs)+1)
	for _, s := range specs {
		ss = append(ss, safetensors.Spec(s))
	}
	if cfg.TieWordEmbeddings && f.Has("lm_head.weight") {
		ss = append(ss, safetensors.Spec{Name: "lm_head.weight", Shape: []int64{int64(cfg.VocabSize), int64(cfg.HiddenSize)}})
	}
	if err := f.Check(ss); err != nil {
		return nil, fmt.Errorf("load checkpoint %s: %w", dir, err)
	}
	ck := &Checkpoint{Dir: dir, Config: cfg, Weights: make(map[string][]float32, len(specs))}
	for i, s := range specs {
		dt, _, err := f.Info(s.Name)
		if err != nil {
			return nil, fmt.Errorf("load checkpoint %s: %w", dir, err)
		}
		if i == 0 {
			ck.DType = dt
		}
		w, err := f.Float32(s.Name)
		if err != nil {
			return nil, fmt.Errorf("load checkpoint %s: %w", dir, err)
		}
		ck.Weights[s.Name] = w
	}
	return ck, nil
}

// SaveOptions configures SaveCheckpoint.
type SaveOptions struct {
	// DType is the on-disk dtype (F32, BF16, F16); "" means F32.
	DType safetensors.DType
	// TokenizerFrom is a folder whose tokenizer files are copied in.
	TokenizerFrom string
	// Extra files to write into the folder (name → contents), e.g.
	// optimizer state or trainer_state.json written by the learner.
	Extra map[string][]byte
	// ExtraTensors are additional safetensors files (name → tensors).
	ExtraTensors map[string][]safetensors.Tensor
	// MaxShardBytes shards the weights above this size (0: one file).
	MaxShardBytes int64
}

// SaveCheckpoint writes a model folder atomically: everything goes into a
// temporary sibling directory that is renamed to dir at the end, so dir is
// either the old complete checkpoint or the new complete one, never half.
func SaveCheckpoint(dir string, cfg *Config, weights map[string][]float32, opts SaveOptions) error {
	if opts.DType == "" {
		opts.DType = safetensors.F32
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("save checkpoint %s: %w", dir, err)
	}
	// 0755: a checkpoint is meant to be shared.
	err := atomicfile.WriteDir(dir, 0o755, func(tmp string) error {
		if err := WriteConfig(tmp, cfg); err != nil {
			return err
		}
		var ts []safetensors.Tensor
		for _, s := range cfg.TensorSpecs() {
			w, ok := weights[s.Name]
			if !ok {
				return fmt.Errorf("weight %s is missing", s.Name)
			}
			t, err := safetensors.FromFloat32(s.Name, opts.DType, s.Shape, w)
			if err != nil {
				return err
			}
			ts = append(ts, t)
		}
		if err := safetensors.WriteModel(tmp, ts, safetensors.DefaultMetadata(), opts.MaxShardBytes); err != nil {
			return err
		}
		for name, tensors := range opts.ExtraTensors {
			if err := safetensors.Write(filepath.Join(tmp, name), tensors, nil); err != nil {
				return err
			}
		}
		if opts.TokenizerFrom != "" {
			if err := copyTokenizer(opts.TokenizerFrom, tmp); err != nil {
				return err
			}
		}
		if err := writeGenerationConfig(tmp, cfg); err != nil {
			return err
		}
		names := make([]string, 0, len(opts.Extra))
		for n := range opts.Extra {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(tmp, n), opts.Extra[n], 0o644); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save checkpoint %w", err)
	}
	return nil
}

// copyTokenizer copies the tokenizer files that exist in src (a folder, or
// a tokenizer.json file) into dst.
func copyTokenizer(src, dst string) error {
	if st, err := os.Stat(src); err == nil && !st.IsDir() {
		return copyFile(src, filepath.Join(dst, "tokenizer.json"))
	}
	for _, n := range tokenizerFiles {
		p := filepath.Join(src, n)
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err := copyFile(p, filepath.Join(dst, n)); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

// IsModelDir reports whether dir looks like a model folder.
func IsModelDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, ConfigFile))
	return err == nil && !strings.HasSuffix(dir, ".json")
}
