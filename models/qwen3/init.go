package qwen3

import (
	"math/rand/v2"

	"pz/models"
)

// RandomWeights initialises a model as transformers does for a fresh
// Qwen3: normal(0, std) for linear and embedding weights (std = 0.02, the
// configs' initializer_range), ones for norms, zeros for biases.
// Deterministic for a seed.
func RandomWeights(cfg *models.Config, seed uint64, std float64) map[string][]float32 {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	w := map[string][]float32{}
	for _, s := range cfg.TensorSpecs() {
		n := int64(1)
		for _, d := range s.Shape {
			n *= d
		}
		data := make([]float32, n)
		switch {
		case len(s.Shape) == 1 && hasSuffix(s.Name, "norm.weight"):
			for i := range data {
				data[i] = 1
			}
		case hasSuffix(s.Name, ".bias"):
		default:
			for i := range data {
				data[i] = float32(rng.NormFloat64() * std)
			}
		}
		w[s.Name] = data
	}
	return w
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }
