package sample

import "math"

// The loops below run over the whole vocabulary on every token, so they are written for
// the compiler: expNeg inlines, each logit costs a compare with the running maximum, a
// float64 subtraction and multiply, a compare and the exponential, and nothing appends
// inside them (an append in the loop costs 3x). Sums accumulate in float64.

const (
	expMin     = -708.0 // e^d for d below this is treated as 0 (it is below 1e-307)
	expShifter = 0x1.8p52
	expInvStep = 256 / math.Ln2
	expStep    = math.Ln2 / 256
)

// expTable[i] holds the bits of 2^(i/256). It is written once, at package init.
var expTable = func() (t [256]uint64) {
	for i := range t {
		t[i] = math.Float64bits(math.Exp2(float64(i) / 256))
	}
	return t
}()

// expNeg returns e^d for expMin ≤ d ≤ 0 with a relative error below 5e-10 (math.Exp is
// about three times slower in these loops). d = j·ln2/256 + r with |r| ≤ ln2/512;
// e^d = 2^(j>>8) · 2^((j&255)/256) · e^r, and e^r ≈ 1 + r + r²/2. Adding 1.5·2^52 rounds
// d·256/ln2 to the integer j and leaves j in the low mantissa bits of t, so the table
// index is t's low 8 bits and the power of two is the next bits moved into the exponent.
func expNeg(d float64) float64 {
	t := d*expInvStep + expShifter
	r := d - (t-expShifter)*expStep
	u := math.Float64bits(t)
	return math.Float64frombits(expTable[u&255]+(u>>8)<<52) * (1 + r*(1+0.5*r))
}

// weight returns e^d, or 0 for d below expMin, -Inf or NaN.
func weight(d float64) float64 {
	if d >= expMin {
		return expNeg(d)
	}
	return 0
}

// softmaxStats returns, in one pass, the first index of the largest logit, its value m,
// and Σ exp((x−m)·invT) over v, skipping -Inf and NaN. A new maximum rescales the sum so
// far by exp((m_old−m_new)·invT); in a shuffled vocabulary that happens about ln n times.
// m is -Inf when v is empty or holds only -Inf and NaN.
func softmaxStats(v []float32, invT float64) (i int, m float32, z float64) {
	m = float32(math.Inf(-1))
	m64 := math.Inf(-1)
	for j, x := range v {
		if x > m {
			z *= math.Exp((m64 - float64(x)) * invT) // 0 while m is -Inf
			i, m, m64 = j, x, float64(x)
		}
		if d := (float64(x) - m64) * invT; d >= expMin {
			z += expNeg(d)
		}
	}
	return i, m, z
}

// softmaxStats2 is softmaxStats without the index for invT ≠ 1 that also returns, from
// the same pass, the policy normaliser Σ exp(x−m).
func softmaxStats2(v []float32, invT float64) (m float32, z, policy float64) {
	m = float32(math.Inf(-1))
	m64 := math.Inf(-1)
	for _, x := range v {
		if x > m {
			z *= math.Exp((m64 - float64(x)) * invT) // 0 while m is -Inf
			policy *= math.Exp(m64 - float64(x))
			m, m64 = x, float64(x)
		}
		d := float64(x) - m64
		if t := d * invT; t >= expMin {
			z += expNeg(t)
		}
		if d >= expMin {
			policy += expNeg(d)
		}
	}
	return m, z, policy
}

// sumExp returns Σ exp((x−m)·invT) over v for a known maximum m, skipping -Inf and NaN.
func sumExp(v []float32, m, invT float64) float64 {
	var z float64
	for _, x := range v {
		if d := (float64(x) - m) * invT; d >= expMin {
			z += expNeg(d)
		}
	}
	return z
}

// blockSize is the number of logits per entry of the untruncated path's block sums: the
// draw walks the block sums, then recomputes the weights of one block.
const blockSize = 256

// blockSums finds the largest logit m and stores the sum of exp((x−m)·invT) over each
// blockSize run of v in blocks (len(blocks) = ⌈len(v)/blockSize⌉), all in one pass; refs
// (as long as blocks) is scratch. It returns m, the total of the blocks and Σ exp(x−m)
// over v, the policy normaliser (the total itself when invT is 1). As in softmaxStats, a
// new maximum rescales the running sums; each finished block keeps the maximum it was
// summed against until one rescale at the end. Rescaled block sums differ from a fresh
// sum of their weights by rounding and expNeg's error (below 1e-9 relative), which
// walkBlock absorbs.
func blockSums(v []float32, invT float64, blocks, refs []float64) (m float32, total, policy float64) {
	m = float32(math.Inf(-1))
	m64 := math.Inf(-1)
	fused := invT != 1
	for b := range blocks {
		lo := b * blockSize
		var z float64
		for _, x := range v[lo:min(lo+blockSize, len(v))] {
			if x > m {
				z *= math.Exp((m64 - float64(x)) * invT) // 0 while m is -Inf
				policy *= math.Exp(m64 - float64(x))
				m, m64 = x, float64(x)
			}
			d := float64(x) - m64
			if t := d * invT; t >= expMin {
				z += expNeg(t)
			}
			if fused && d >= expMin {
				policy += expNeg(d)
			}
		}
		blocks[b], refs[b] = z, m64
	}
	for b, r := range refs {
		if r != m64 && blocks[b] != 0 {
			blocks[b] *= math.Exp((r - m64) * invT)
		}
		total += blocks[b]
	}
	if !fused {
		policy = total
	}
	return m, total, policy
}

// walkBlocks returns the first token whose cumulative weight exceeds target, using the
// block sums to skip whole blocks. If rounding leaves target at or beyond the total, it
// returns the last token with a positive weight.
func walkBlocks(v []float32, m, invT float64, blocks []float64, target float64) int {
	var c float64
	last := -1
	for b, z := range blocks {
		if !(z > 0) {
			continue
		}
		last = b
		if c+z > target {
			return walkBlock(v, b, m, invT, c, target)
		}
		c += z
	}
	return walkBlock(v, last, m, invT, c, math.Inf(1))
}

// walkBlock is walkBlocks inside block b, starting from cumulative weight c.
func walkBlock(v []float32, b int, m, invT, c, target float64) int {
	lo := b * blockSize
	last := lo
	for j, x := range v[lo:min(lo+blockSize, len(v))] {
		if d := (float64(x) - m) * invT; d >= expMin {
			last = lo + j
			if c += expNeg(d); c > target {
				return last
			}
		}
	}
	return last
}

// Top-p's histogram of sampling mass by distance from the maximum, in buckets of
// 1/histScale of (max−x)/T; the last bucket gathers everything at or beyond
// histBuckets/histScale = 32.
const (
	histScale   = 64
	histBuckets = 2048
)

// lowerBound returns a float32 at or below every float32 x for which a float64 test
// "x ≥ t" could hold once rounding in the test's arithmetic is allowed for. It lets a
// pass reject most logits with one float32 compare before the exact float64 test.
func lowerBound(t float64) float32 {
	t -= (math.Abs(t) + 1) * 1e-9
	return math.Nextafter32(float32(t), float32(math.Inf(-1)))
}

// LogSoftmaxAt returns log softmax(logits)[tok], accumulating in float64. NaN logits count
// as -Inf. It returns NaN if no logit is finite or one is +Inf, and panics if tok is out
// of range.
func LogSoftmaxAt(logits []float32, tok int32) float32 {
	x := logits[tok]
	_, m, z := softmaxStats(logits, 1)
	if math.IsInf(float64(m), 0) {
		return float32(math.NaN())
	}
	if x != x {
		return float32(math.Inf(-1))
	}
	return float32(float64(x) - float64(m) - math.Log(z))
}

// Entropy returns the entropy in nats of softmax(logits), accumulating in float64. NaN
// logits count as -Inf. It returns NaN if no logit is finite or one is +Inf.
func Entropy(logits []float32) float64 {
	m := float32(math.Inf(-1))
	m64 := math.Inf(-1)
	var z, zd float64 // Σ w and Σ w·(x−m), w = exp(x−m)
	for _, x := range logits {
		if x > m {
			if z > 0 { // rebase: w' = w·f and x−m' = (x−m) + s, with s = m−m' and f = e^s
				s := m64 - float64(x)
				f := math.Exp(s)
				z, zd = z*f, (zd+s*z)*f
			}
			m, m64 = x, float64(x)
		}
		if d := float64(x) - m64; d >= expMin {
			w := expNeg(d)
			z += w
			zd += w * d
		}
	}
	if math.IsInf(float64(m), 0) {
		return math.NaN()
	}
	return math.Log(z) - zd/z
}
