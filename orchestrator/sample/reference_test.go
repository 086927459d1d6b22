package sample

import (
	"math"
	"sort"
)

// reference is the brute-force sampling distribution of logits under o: a full sort of
// the vocabulary (logit descending, id ascending), math.Exp, and the textbook order
// temperature → top-k → top-p → min-p. It returns one probability per token of
// logits[:VocabLimit].
func reference(logits []float32, o Options) []float64 {
	v := logits
	if o.VocabLimit > 0 && o.VocabLimit < len(v) {
		v = v[:o.VocabLimit]
	}
	x := make([]float64, len(v))
	for i, l := range v {
		x[i] = float64(l)
		if math.IsNaN(x[i]) {
			x[i] = math.Inf(-1)
		}
	}
	order := make([]int, len(v))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return x[order[a]] > x[order[b]] })
	p := make([]float64, len(v))
	if o.Temperature == 0 {
		p[order[0]] = 1
		return p
	}
	m := x[order[0]]
	w := make([]float64, len(v))
	for i := range w {
		w[i] = math.Exp((x[i] - m) / o.Temperature)
	}
	keep := order
	if o.TopK > 0 && o.TopK < len(keep) {
		keep = keep[:o.TopK]
	}
	if o.TopP > 0 && o.TopP < 1 {
		var all float64
		for _, i := range keep {
			all += w[i]
		}
		var c float64
		for j, i := range keep {
			if c += w[i]; c/all >= o.TopP {
				keep = keep[:j+1]
				break
			}
		}
	}
	if o.MinP > 0 {
		var all float64
		for _, i := range keep {
			all += w[i]
		}
		pmax := w[keep[0]] / all
		var kept []int
		for _, i := range keep {
			if w[i]/all >= o.MinP*pmax {
				kept = append(kept, i)
			}
		}
		keep = kept
	}
	var z float64
	for _, i := range keep {
		z += w[i]
	}
	for _, i := range keep {
		p[i] = w[i] / z
	}
	return p
}

// refLogSoftmax is log softmax(v) by math.Exp and a plain float64 sum, NaN as -Inf.
func refLogSoftmax(v []float32) []float64 {
	m := math.Inf(-1)
	for _, x := range v {
		if !math.IsNaN(float64(x)) && float64(x) > m {
			m = float64(x)
		}
	}
	var z float64
	for _, x := range v {
		if !math.IsNaN(float64(x)) {
			z += math.Exp(float64(x) - m)
		}
	}
	out := make([]float64, len(v))
	for i, x := range v {
		if math.IsNaN(float64(x)) {
			out[i] = math.Inf(-1)
			continue
		}
		out[i] = float64(x) - m - math.Log(z)
	}
	return out
}
