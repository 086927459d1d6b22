package sample

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

// FuzzSample feeds arbitrary logits (any float32 bit pattern: NaN, ±Inf, subnormals,
// ±3e38) and options: Sample must never panic, and a drawn token must have a finite logit
// and log-probs ≤ 0.
func FuzzSample(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64}, 1.0, 0, 0.0, 0.0, uint64(1))
	f.Add([]byte{0, 0, 192, 127, 0, 0, 128, 255, 0, 0, 0, 0}, 0.7, 2, 0.9, 0.05, uint64(2))
	f.Add([]byte{255, 255, 127, 127, 255, 255, 127, 255, 1, 0, 0, 0}, 1e-30, 0, 0.5, 0.0, uint64(3))
	f.Fuzz(func(t *testing.T, raw []byte, temp float64, k int, p, minP float64, seed uint64) {
		o := Options{Temperature: temp, TopK: k, TopP: p, MinP: minP}
		if o.Validate() != nil {
			return
		}
		v := make([]float32, len(raw)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		s := mustNew(t, o, seed)
		c, err := s.Sample(v)
		if err != nil {
			if !errors.Is(err, ErrNoCandidate) && !errors.Is(err, ErrInfLogit) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if c.Token < 0 || int(c.Token) >= len(v) {
			t.Fatalf("token %d out of range %d", c.Token, len(v))
		}
		x := float64(v[c.Token])
		if math.IsNaN(x) || math.IsInf(x, 0) {
			t.Fatalf("drew token %d with logit %v", c.Token, x)
		}
		if !(c.LogProb <= 1e-6) || !(c.PolicyLogProb <= 1e-6) {
			t.Fatalf("log-probs %v, %v; want ≤ 0", c.LogProb, c.PolicyLogProb)
		}
	})
}
