package sample

import (
	"cmp"
	"math"
	"slices"
)

// dist is a sampling distribution prepared over v. Untruncated, its weights live in
// s.blocks as block sums; truncated, the kept tokens and weights are s.ids and s.ws.
type dist struct {
	max   float64 // the largest logit
	logZ  float64 // log Σ exp(x − max) over v: the policy normaliser
	total float64 // Σ exp((x − max)/T) over the kept tokens: the sampling normaliser
	full  bool    // untruncated: draw with walkBlocks
}

// prepare computes the sampling distribution of v for s.opts (temperature > 0).
func (s *Sampler) prepare(v []float32) (dist, error) {
	o := s.opts
	switch {
	case o.TopK > 0 && o.TopK < len(v):
		return s.prepareTopK(v)
	case o.TopP > 0 && o.TopP < 1:
		return s.prepareTopP(v)
	case o.MinP > 0:
		return s.prepareMinP(v)
	}
	nb := (len(v) + blockSize - 1) / blockSize
	s.blocks, s.refs = grow(s.blocks, nb), grow(s.refs, nb)
	m, total, policy := blockSums(v, s.invT, s.blocks, s.refs)
	if err := checkMax(m); err != nil {
		return dist{}, err
	}
	return dist{max: float64(m), logZ: math.Log(policy), total: total, full: true}, nil
}

// pick draws from d with the uniform u in [0, 1): the first token, in the order the
// weights are held, whose cumulative weight exceeds u·total.
func (s *Sampler) pick(v []float32, d dist, u float64) int {
	target := u * d.total
	if d.full {
		return walkBlocks(v, d.max, s.invT, s.blocks, target)
	}
	var c float64
	last := 0
	for j, w := range s.ws {
		if w > 0 {
			last = j
			if c += w; c > target {
				break
			}
		}
	}
	return int(s.ids[last])
}

// prepareTopK keeps the TopK best tokens, then applies top-p and min-p over them in rank
// order. Only topK's pass touches the whole vocabulary.
func (s *Sampler) prepareTopK(v []float32) (dist, error) {
	c, z := topK(v, s.opts.TopK, s.cands[:0])
	s.cands = c
	if err := checkMax(c[0].x); err != nil {
		return dist{}, err
	}
	d := dist{max: float64(c[0].x), logZ: math.Log(z)}
	target := math.Inf(1)
	if p := s.opts.TopP; p > 0 && p < 1 {
		var all float64
		for _, e := range c {
			all += weight((float64(e.x) - d.max) * s.invT)
		}
		target = p * all
	}
	ids, ws := s.ids[:0], s.ws[:0]
	for _, e := range c {
		t := (float64(e.x) - d.max) * s.invT
		if t < s.lnMinP { // min-p keeps a prefix of the ranking too
			break
		}
		w := weight(t)
		ids, ws = append(ids, e.id), append(ws, w)
		if d.total += w; d.total >= target {
			break
		}
	}
	s.ids, s.ws = ids, ws
	return d, nil
}

// prepareTopP keeps the smallest set of most likely tokens whose mass reaches TopP, then
// applies min-p.
//
// A first pass sums all the mass W. The tokens with (x−max)/T < −δ hold less than
// n·e^−δ of it, so with δ = ln(n/((1−p)·W)) + 1 the tokens at or above −δ hold more than
// p·W and include the kept set; one compare per logit gathers them (a few thousand on
// real logits). A histogram of their mass by distance from the maximum then finds the
// boundary bucket, where the cumulative mass from the top reaches p·W: every candidate in
// an earlier bucket is kept, and only the boundary bucket's tokens are sorted to find
// where the kept set ends.
func (s *Sampler) prepareTopP(v []float32) (dist, error) {
	p := s.opts.TopP
	var m float32
	var all, policy float64
	if s.invT == 1 {
		_, m, all = softmaxStats(v, 1)
		policy = all
	} else {
		m, all, policy = softmaxStats2(v, s.invT)
	}
	if err := checkMax(m); err != nil {
		return dist{}, err
	}
	d := dist{max: float64(m), logZ: math.Log(policy)}
	target := p * all
	delta := math.Log(float64(len(v))/((1-p)*all)) + 1
	loose := lowerBound(d.max - delta/s.invT)
	c, cw := s.cands[:0], s.cw[:0]
	for i, x := range v {
		if x >= loose {
			c = append(c, cand{x, int32(i)})
		}
	}

	if s.hist == nil {
		s.hist = new([histBuckets + 1]float64)
	}
	h := s.hist
	clear(h[:])
	for _, e := range c {
		t := (float64(e.x) - d.max) * s.invT
		w := weight(t)
		cw = append(cw, w)
		h[bucket(t)] += w
	}
	b, last := 0, 0
	var cum float64
	for ; b <= histBuckets; b++ {
		if h[b] > 0 {
			last = b
		}
		if cum+h[b] >= target {
			break
		}
		cum += h[b]
	}
	b = min(b, last) // a rounding shortfall ends at the last bucket with mass

	ids, ws, edge := s.ids[:0], s.ws[:0], s.edge[:0]
	var kept float64 // top-p mass so far, min-p aside
	for j, e := range c {
		if w := cw[j]; w > 0 {
			t := (float64(e.x) - d.max) * s.invT
			switch k := bucket(t); {
			case k < b:
				kept += w
				if t >= s.lnMinP {
					ids, ws = append(ids, e.id), append(ws, w)
					d.total += w
				}
			case k == b:
				edge = append(edge, e)
			}
		}
	}
	sortCands(edge)
	for _, e := range edge {
		if kept >= target {
			break
		}
		t := (float64(e.x) - d.max) * s.invT
		w := weight(t)
		kept += w
		if t >= s.lnMinP {
			ids, ws = append(ids, e.id), append(ws, w)
			d.total += w
		}
	}
	s.ids, s.ws, s.cands, s.cw, s.edge = ids, ws, c, cw, edge
	return d, nil
}

// bucket returns the histogram bucket of a token at t = (x−max)/T ≤ 0: 1/histScale wide,
// the last gathering everything at or beyond histBuckets/histScale.
func bucket(t float64) int {
	if key := -t * histScale; key < histBuckets {
		return int(key)
	}
	return histBuckets
}

// prepareMinP keeps the tokens with (x − max)/T ≥ ln MinP, that is p ≥ MinP·p_max.
func (s *Sampler) prepareMinP(v []float32) (dist, error) {
	_, m, z := softmaxStats(v, 1)
	if err := checkMax(m); err != nil {
		return dist{}, err
	}
	d := dist{max: float64(m), logZ: math.Log(z)}
	loose := lowerBound(d.max + s.lnMinP/s.invT)
	ids, ws := s.ids[:0], s.ws[:0]
	for i, x := range v {
		if !(x >= loose) {
			continue
		}
		if t := (float64(x) - d.max) * s.invT; t >= s.lnMinP {
			w := weight(t)
			ids, ws = append(ids, int32(i)), append(ws, w)
			d.total += w
		}
	}
	s.ids, s.ws = ids, ws
	return d, nil
}

// cand is a token and its logit, NaN already mapped to -Inf.
type cand struct {
	x  float32
	id int32
}

// worse orders candidates by logit, then by id with the higher id worse.
func worse(a, b cand) bool { return a.x < b.x || (a.x == b.x && a.id > b.id) }

// sortCands sorts best first: logit descending, then id ascending.
func sortCands(c []cand) {
	slices.SortFunc(c, func(a, b cand) int {
		if r := cmp.Compare(b.x, a.x); r != 0 {
			return r
		}
		return cmp.Compare(a.id, b.id)
	})
}

// topK returns the k (1 ≤ k ≤ len(v)) best tokens of v, best first, and Σ exp(x−max)
// over v, in one pass. The heap (in h's storage) holds the best so far with the one to
// evict at the root. A later token enters only with a strictly larger logit than the
// root, since on equal logits it has the higher id, and only such a token can be a new
// maximum, at which the sum is rescaled as in softmaxStats.
func topK(v []float32, k int, h []cand) ([]cand, float64) {
	_, m, z := softmaxStats(v[:k], 1)
	for i, x := range v[:k] {
		if x != x {
			x = float32(math.Inf(-1))
		}
		h = append(h, cand{x, int32(i)})
	}
	for i := k/2 - 1; i >= 0; i-- {
		siftDown(h, i)
	}
	m64, floor := float64(m), h[0].x
	for i := k; i < len(v); i++ {
		x := v[i]
		if x > floor {
			h[0] = cand{x, int32(i)}
			siftDown(h, 0)
			floor = h[0].x
			if x > m {
				z *= math.Exp(m64 - float64(x))
				m, m64 = x, float64(x)
			}
		}
		if d := float64(x) - m64; d >= expMin {
			z += expNeg(d)
		}
	}
	sortCands(h)
	return h, z
}

func siftDown(h []cand, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		j := l
		if r := l + 1; r < len(h) && worse(h[r], h[l]) {
			j = r
		}
		if !worse(h[j], h[i]) {
			return
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
}

// grow returns s resized to n, reallocating only when its capacity is short.
func grow(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}
