package learn

import (
	"fmt"

	"pz/models/safetensors"
)

// Checkpoints in a narrower dtype than the learner's float32 weights.
//
// A Qwen3-4B checkpoint in float32 with AdamW's two moments is ~48 GB;
// its weights in bf16 (the dtype it was read in) are 8 GB. But a resume
// from bf16 weights would round every weight to 8 significant bits
// (relative error up to 2^-9, ~80 updates' worth at lr 5e-7), so a
// resumable checkpoint (one with optimizer state) also keeps, in its
// optimizer file, each weight's rounding residual w − bf16(w) in bf16:
// weight and residual together carry 16 significant bits (relative error
// below 2^-17), for the size of a second bf16 copy.

// ResidualPrefix names a weight's rounding residual in optimizer.safetensors.
const ResidualPrefix = "weight_residual/"

// narrow reports whether d loses float32 precision.
func narrow(d safetensors.DType) bool { return d == safetensors.BF16 || d == safetensors.F16 }

// roundTrip is v written in d and read back.
func roundTrip(d safetensors.DType, v float32) float32 {
	if d == safetensors.F16 {
		return safetensors.Float32FromF16(safetensors.F16FromFloat32(v))
	}
	return safetensors.Float32FromBF16(safetensors.BF16FromFloat32(v))
}

// residualTensors are the bf16 residuals of the weights written in d.
func (l *Learner) residualTensors(d safetensors.DType) ([]safetensors.Tensor, error) {
	var ts []safetensors.Tensor
	r := []float32(nil)
	for _, s := range l.specs {
		w := l.weights[s.Name]
		r = append(r[:0], w...)
		for i, v := range w {
			r[i] = v - roundTrip(d, v)
		}
		t, err := safetensors.FromFloat32(ResidualPrefix+s.Name, safetensors.BF16, s.Shape, r)
		if err != nil {
			return nil, fmt.Errorf("save checkpoint: %w", err)
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// addResiduals adds the residuals stored in f to the learner's weights
// (which must be the checkpoint's, as loaded).
func (l *Learner) addResiduals(f *safetensors.File, dir string) error {
	for _, s := range l.specs {
		name := ResidualPrefix + s.Name
		if !f.Has(name) {
			continue
		}
		r, err := f.Float32(name)
		if err != nil {
			return fmt.Errorf("restore %s: %w", dir, err)
		}
		w := l.weights[s.Name]
		if len(r) != len(w) {
			return fmt.Errorf("restore %s: %s has %d values, want %d", dir, name, len(r), len(w))
		}
		for i := range w {
			w[i] += r[i]
		}
	}
	return nil
}
