package learn

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"pz/export"
	rt "pz/export/ort"
	"pz/internal/atomicfile"
	"pz/models"
	"pz/models/safetensors"
)

// Checkpoint layout under an output folder:
//
//	OUT/checkpoint-<step>/   an HF model folder (config.json, model.safetensors,
//	                         tokenizer files) plus optimizer.safetensors and
//	                         trainer_state.json
//	OUT/latest               the name of the newest complete checkpoint
//
// Each checkpoint folder is written to a temporary name and renamed, and
// latest is rewritten (temp + rename) only after, so a crash at any point
// leaves the previous checkpoint and its pointer intact.
const (
	OptimizerFile    = "optimizer.safetensors"
	TrainerStateFile = "trainer_state.json"
	LatestFile       = "latest"
)

// TrainerState is saved with every checkpoint. Extra carries the caller's
// state (the train loop's RNG states, data cursor, metrics position).
type TrainerState struct {
	Step          int64           `json:"step"`
	PolicyVersion int64           `json:"policy_version"`
	Optimizer     string          `json:"optimizer"`
	Options       json.RawMessage `json:"options,omitempty"`
	Extra         json.RawMessage `json:"extra,omitempty"`
}

// SetCheckpointDType makes checkpoints store weights in dt (the dtype the
// model was loaded in, so a bfloat16 checkpoint is written back as
// bfloat16, as transformers' save_pretrained does) unless SaveOptions
// names one. The optimizer state and the in-memory weights stay float32.
func (l *Learner) SetCheckpointDType(dt safetensors.DType) { l.ckptDType = dt }

// CheckpointName is the folder name of the checkpoint after step steps.
func CheckpointName(step int64) string { return fmt.Sprintf("checkpoint-%d", step) }

// SaveOptions says how to write a checkpoint.
type SaveOptions struct {
	DType safetensors.DType // weights' on-disk dtype ("" = SetCheckpointDType's, else F32); BF16/F16 add residuals (savedtype.go)
	// NoOptimizer leaves the optimizer state out (a final model that will
	// not be resumed: ~2/3 of a float32 checkpoint's size).
	NoOptimizer   bool
	TokenizerFrom string
	KeepLast      int // keep the newest K checkpoints (0 = all)
	Extra         any // marshalled into TrainerState.Extra
	PolicyVersion int64
}

// Save writes OUT/checkpoint-<step> and points OUT/latest at it.
func (l *Learner) Save(out string, opts SaveOptions) (string, error) {
	var extra json.RawMessage
	if opts.Extra != nil {
		b, err := json.Marshal(opts.Extra)
		if err != nil {
			return "", fmt.Errorf("save checkpoint: trainer state: %w", err)
		}
		extra = b
	}
	ob, _ := json.Marshal(l.opts)
	st := TrainerState{Step: l.step, PolicyVersion: opts.PolicyVersion, Optimizer: l.optim.String(), Options: ob, Extra: extra}
	sb, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return "", fmt.Errorf("save checkpoint: %w", err)
	}
	if opts.DType == "" {
		opts.DType = l.ckptDType
	}
	var ot []safetensors.Tensor
	if !opts.NoOptimizer {
		if ot, err = l.optimizerTensors(); err != nil {
			return "", err
		}
		if narrow(opts.DType) {
			rs, err := l.residualTensors(opts.DType)
			if err != nil {
				return "", err
			}
			ot = append(ot, rs...)
		}
	}
	extraT := map[string][]safetensors.Tensor{OptimizerFile: ot}
	if opts.NoOptimizer {
		extraT = nil
	}
	name := CheckpointName(l.step)
	dir := filepath.Join(out, name)
	err = models.SaveCheckpoint(dir, l.cfg, l.weights, models.SaveOptions{
		DType: opts.DType, TokenizerFrom: opts.TokenizerFrom,
		Extra:        map[string][]byte{TrainerStateFile: sb},
		ExtraTensors: extraT,
	})
	if err != nil {
		return "", err
	}
	if err := atomicfile.WriteFile(filepath.Join(out, LatestFile), []byte(name+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("save checkpoint: %w", err)
	}
	if opts.KeepLast > 0 {
		if err := prune(out, opts.KeepLast); err != nil {
			return dir, err
		}
	}
	return dir, nil
}

func (l *Learner) optimizerTensors() ([]safetensors.Tensor, error) {
	keys := make([]string, 0, len(l.state))
	for k := range l.state {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var ts []safetensors.Tensor
	for _, k := range keys {
		v := l.state[k]
		var t safetensors.Tensor
		var err error
		switch d := v.Data.(type) {
		case []float32:
			t, err = safetensors.FromFloat32(k, safetensors.F32, v.Shape, d)
		case []float64:
			t, err = safetensors.FromFloat64(k, v.Shape, d)
		case []int64:
			b := make([]byte, 8*len(d))
			for i, x := range d {
				for j := range 8 {
					b[8*i+j] = byte(uint64(x) >> (8 * j))
				}
			}
			t = safetensors.Tensor{Name: k, DType: safetensors.I64, Shape: slices.Clone(v.Shape), Data: b}
		default:
			err = fmt.Errorf("optimizer state %s: unsupported type %T", k, v.Data)
		}
		if err != nil {
			return nil, fmt.Errorf("save checkpoint: %w", err)
		}
		if t.Shape == nil {
			t.Shape = []int64{}
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// Latest returns the newest complete checkpoint folder under out, or ""
// when there is none.
func Latest(out string) (string, error) {
	b, err := os.ReadFile(filepath.Join(out, LatestFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", filepath.Join(out, LatestFile), err)
	}
	name := strings.TrimSpace(string(b))
	if !strings.HasPrefix(name, "checkpoint-") || strings.ContainsAny(name, "/\\") {
		return "", fmt.Errorf("%s: %q is not a checkpoint name", filepath.Join(out, LatestFile), name)
	}
	return filepath.Join(out, name), nil
}

// ReadTrainerState reads a checkpoint's trainer_state.json.
func ReadTrainerState(dir string) (*TrainerState, error) {
	b, err := os.ReadFile(filepath.Join(dir, TrainerStateFile))
	if err != nil {
		return nil, fmt.Errorf("read trainer state: %w", err)
	}
	var st TrainerState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("read trainer state %s: %w", filepath.Join(dir, TrainerStateFile), err)
	}
	return &st, nil
}

// Restore loads the optimizer state and step of a checkpoint folder into
// the learner (whose weights must already be the checkpoint's).
func (l *Learner) Restore(dir string) (*TrainerState, error) {
	st, err := ReadTrainerState(dir)
	if err != nil {
		return nil, err
	}
	if st.Optimizer != l.optim.String() {
		return nil, fmt.Errorf("restore %s: optimizer %s, but this run uses %s", dir, st.Optimizer, l.optim.String())
	}
	f, err := safetensors.Open(filepath.Join(dir, OptimizerFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("restore %s: no %s: it was saved without optimizer state and cannot be resumed (start a new run from it with --model)", dir, OptimizerFile)
	}
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w", dir, err)
	}
	defer f.Close()
	if err := l.addResiduals(f, dir); err != nil {
		return nil, err
	}
	for k, cur := range l.state {
		if k == export.StepName {
			raw, dt, _, err := f.Raw(k)
			if err != nil || dt != safetensors.I64 || len(raw) != 8 {
				return nil, fmt.Errorf("restore %s: optimizer step: want one int64 (%v)", dir, err)
			}
			var v int64
			for j := range 8 {
				v |= int64(raw[j]) << (8 * j)
			}
			l.state[k] = rt.I64(nil, []int64{v})
			continue
		}
		switch cur.Data.(type) {
		case []float32:
			d, err := f.Float32(k)
			if err != nil {
				return nil, fmt.Errorf("restore %s: %w", dir, err)
			}
			if len(d) != len(cur.Data.([]float32)) {
				return nil, fmt.Errorf("restore %s: optimizer state %s has %d values, want %d", dir, k, len(d), len(cur.Data.([]float32)))
			}
			l.state[k] = rt.F32(cur.Shape, d)
		case []float64:
			d, err := f.Float64(k)
			if err != nil {
				return nil, fmt.Errorf("restore %s: %w", dir, err)
			}
			l.state[k] = rt.F64(cur.Shape, d)
		}
	}
	l.step = st.Step
	return st, nil
}

// prune removes all but the newest keep checkpoint folders.
func prune(out string, keep int) error {
	ents, err := os.ReadDir(out)
	if err != nil {
		return fmt.Errorf("prune checkpoints: %w", err)
	}
	var steps []int64
	for _, e := range ents {
		if n, ok := strings.CutPrefix(e.Name(), "checkpoint-"); ok && e.IsDir() {
			if s, err := strconv.ParseInt(n, 10, 64); err == nil {
				steps = append(steps, s)
			}
		}
	}
	slices.Sort(steps)
	for len(steps) > keep {
		if err := os.RemoveAll(filepath.Join(out, CheckpointName(steps[0]))); err != nil {
			return fmt.Errorf("prune checkpoints: %w", err)
		}
		steps = steps[1:]
	}
	return nil
}
