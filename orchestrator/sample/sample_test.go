package sample

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

const tol = 1e-6

// near reports whether got is within tol of want, relative once |want| > 1 (a float32
// log-prob near -12 cannot be closer than its own rounding, 5e-7).
func near(got, want float64) bool {
	if math.IsInf(want, 0) {
		return got == want
	}
	return math.Abs(got-want) <= tol*max(1, math.Abs(want))
}

func mustNew(t testing.TB, o Options, seed uint64) *Sampler {
	t.Helper()
	s, err := New(o, seed)
	if err != nil {
		t.Fatalf("New(%+v): %v", o, err)
	}
	return s
}

var (
	inf = float32(math.Inf(1))
	nan = float32(math.NaN())
)

// Hand-computed: softmax([1,2,3]) = [0.0900305732, 0.2447284711, 0.6652409558],
// softmax([0.5,1,1.5]) = [0.1863237232, 0.3071958857, 0.5064803911],
// softmax([2,3]) = softmax([1,2]) = [0.2689414214, 0.7310585786].
func TestSampleHandComputed(t *testing.T) {
	pol123 := []float64{-2.4076059644, -1.4076059644, -0.4076059644}
	for _, tc := range []struct {
		name   string
		logits []float32
		opts   Options
		want   []float64 // sampling distribution
		policy []float64 // log-softmax of the raw (limited) logits
	}{
		{"T1", []float32{1, 2, 3}, Options{Temperature: 1}, []float64{0.0900305732, 0.2447284711, 0.6652409558}, pol123},
		{"T2", []float32{1, 2, 3}, Options{Temperature: 2}, []float64{0.1863237232, 0.3071958857, 0.5064803911}, pol123},
		{"greedy", []float32{1, 2, 3}, Options{}, []float64{0, 0, 1}, pol123},
		{"greedy ties to lowest id", []float32{3, 1, 3}, Options{}, []float64{1, 0, 0},
			[]float64{-0.6931471806 + math.Log(1/(1+0.5*math.Exp(-2))), 0, 0}},
		{"top-k 2", []float32{1, 2, 3}, Options{Temperature: 1, TopK: 2}, []float64{0, 0.2689414214, 0.7310585786}, pol123},
		{"top-k 1 of a tie", []float32{2, 2, 1}, Options{Temperature: 1, TopK: 1}, []float64{1, 0, 0}, nil},
		{"top-k 2 of a tie", []float32{1, 2, 2}, Options{Temperature: 1, TopK: 2}, []float64{0, 0.5, 0.5}, nil},
		{"top-k ≥ vocab is off", []float32{1, 2, 3}, Options{Temperature: 1, TopK: 3}, []float64{0.0900305732, 0.2447284711, 0.6652409558}, pol123},
		{"top-p 0.7 keeps two", []float32{1, 2, 3}, Options{Temperature: 1, TopP: 0.7}, []float64{0, 0.2689414214, 0.7310585786}, pol123},
		{"top-p 0.6 keeps one", []float32{1, 2, 3}, Options{Temperature: 1, TopP: 0.6}, []float64{0, 0, 1}, pol123},
		{"top-p 0.95 keeps all", []float32{1, 2, 3}, Options{Temperature: 1, TopP: 0.95}, []float64{0.0900305732, 0.2447284711, 0.6652409558}, pol123},
		{"top-p at T2", []float32{1, 2, 3}, Options{Temperature: 2, TopP: 0.6}, []float64{0, 0.3775406688, 0.6224593312}, pol123},
		{"top-k 2 then top-p 0.72", []float32{1, 2, 3}, Options{Temperature: 1, TopK: 2, TopP: 0.72}, []float64{0, 0, 1}, pol123},
		{"top-k 2 then top-p 0.74", []float32{1, 2, 3}, Options{Temperature: 1, TopK: 2, TopP: 0.74}, []float64{0, 0.2689414214, 0.7310585786}, pol123},
		{"min-p 0.2", []float32{1, 2, 3}, Options{Temperature: 1, MinP: 0.2}, []float64{0, 0.2689414214, 0.7310585786}, pol123},
		{"min-p 0.4", []float32{1, 2, 3}, Options{Temperature: 1, MinP: 0.4}, []float64{0, 0, 1}, pol123},
		{"min-p 0.4 at T2", []float32{1, 2, 3}, Options{Temperature: 2, MinP: 0.4}, []float64{0, 0.3775406688, 0.6224593312}, pol123},
		{"min-p 1 keeps the tied max", []float32{3, 1, 3}, Options{Temperature: 1, MinP: 1}, []float64{0.5, 0, 0.5}, nil},
		{"vocab limit", []float32{1, 2, 3}, Options{Temperature: 1, VocabLimit: 2}, []float64{0.2689414214, 0.7310585786},
			[]float64{-1.3132616875, -0.3132616875}},
		{"vocab limit past the end", []float32{1, 2, 3}, Options{Temperature: 1, VocabLimit: 10}, []float64{0.0900305732, 0.2447284711, 0.6652409558}, pol123},
		{"NaN and -Inf never drawn", []float32{nan, 0, -inf, 0}, Options{Temperature: 1}, []float64{0, 0.5, 0, 0.5},
			[]float64{math.Inf(-1), -0.6931471806, math.Inf(-1), -0.6931471806}},
		{"NaN and -Inf with top-k", []float32{nan, 0, -inf, 0}, Options{Temperature: 1, TopK: 3}, []float64{0, 0.5, 0, 0.5}, nil},
		{"NaN and -Inf with top-p", []float32{nan, 0, -inf, 0}, Options{Temperature: 1, TopP: 0.9}, []float64{0, 0.5, 0, 0.5}, nil},
		{"NaN and -Inf with min-p", []float32{nan, 0, -inf, 0}, Options{Temperature: 1, MinP: 0.9}, []float64{0, 0.5, 0, 0.5}, nil},
		{"single token", []float32{-4}, Options{Temperature: 1, TopP: 0.5}, []float64{1}, []float64{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustNew(t, tc.opts, 1)
			seen := make([]int, len(tc.want))
			for range 300 {
				c, err := s.Sample(tc.logits)
				if err != nil {
					t.Fatal(err)
				}
				p := tc.want[c.Token]
				if p == 0 {
					t.Fatalf("drew token %d, which has probability 0", c.Token)
				}
				seen[c.Token]++
				if !near(float64(c.LogProb), math.Log(p)) {
					t.Errorf("token %d: LogProb %v, want log %v = %v", c.Token, c.LogProb, p, math.Log(p))
				}
				if tc.policy != nil && !near(float64(c.PolicyLogProb), tc.policy[c.Token]) {
					t.Errorf("token %d: PolicyLogProb %v, want %v", c.Token, c.PolicyLogProb, tc.policy[c.Token])
				}
			}
			for tok, p := range tc.want {
				if p > 0.05 && seen[tok] == 0 {
					t.Errorf("token %d (p %v) never drawn in 300", tok, p)
				}
			}
		})
	}
}

// randomLogits draws n logits: distinct normals, or (ties) a few repeated values, with
// some NaN and -Inf mixed in when holes; at least one stays finite.
func randomLogits(r *rand.Rand, n int, ties, holes bool) []float32 {
	v := make([]float32, n)
	for i := range v {
		if ties {
			v[i] = float32(r.IntN(12))/2 - 3
		} else {
			v[i] = float32(r.NormFloat64() * 3)
		}
		if holes && r.IntN(10) == 0 {
			v[i] = [2]float32{nan, -inf}[r.IntN(2)]
		}
	}
	v[r.IntN(n)] = float32(r.NormFloat64())
	return v
}

// distribution returns the probability the Sampler assigns each token of v.
func distribution(t *testing.T, s *Sampler, v []float32) []float64 {
	t.Helper()
	d, err := s.prepare(v)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]float64, len(v))
	if d.full {
		for i, x := range v {
			p[i] = weight((float64(x)-d.max)*s.invT) / d.total
		}
		return p
	}
	for j, id := range s.ids {
		p[id] += s.ws[j] / d.total
	}
	return p
}

// TestKeptSetsMatchFullSort compares every truncation against the brute-force reference
// over random vocabularies, with and without ties, NaN and -Inf: the same tokens are kept
// and each gets the same probability.
func TestKeptSetsMatchFullSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var cases, truncated int
	for _, n := range []int{1, 2, 5, 300, 3000} {
		for trial := range 7 {
			v := randomLogits(r, n, trial%2 == 1, trial >= 2 && trial < 6)
			if trial == 6 { // ascending: every logit is a new maximum for the one-pass sums
				slices.Sort(v)
			}
			for _, temp := range []float64{0.5, 1, 1.7} {
				for _, k := range []int{0, 1, 3, 40} {
					for _, p := range []float64{0, 0.3, 0.9, 0.999} {
						for _, minP := range []float64{0, 0.02, 0.5} {
							o := Options{Temperature: temp, TopK: k, TopP: p, MinP: minP}
							want := reference(v, o)
							got := distribution(t, mustNew(t, o, 0), v)
							cases++
							var kept int
							for i := range want {
								if (want[i] > 0) != (got[i] > 0) || !near(got[i], want[i]) {
									t.Fatalf("n %d trial %d %+v: token %d (logit %v) has p %v, want %v",
										n, trial, o, i, v[i], got[i], want[i])
								}
								if want[i] > 0 {
									kept++
								}
							}
							if kept < n {
								truncated++
							}
						}
					}
				}
			}
		}
	}
	if truncated < cases/2 {
		t.Errorf("only %d of %d cases truncated anything; the test is too weak", truncated, cases)
	}
}

// TestKeptSetsFullVocab repeats the comparison at Qwen's vocabulary size on logits shaped
// like a model's: a broad bulk and a few peaks.
func TestKeptSetsFullVocab(t *testing.T) {
	v := benchLogits(151_936, 2.5, 16)
	for _, o := range []Options{
		{Temperature: 1, TopP: 0.95},
		{Temperature: 0.6, TopK: 20, TopP: 0.95},
		{Temperature: 0.8, TopK: 50},
		{Temperature: 1, MinP: 0.05},
		{Temperature: 1.5, TopP: 0.9, MinP: 0.001},
	} {
		want := reference(v, o)
		got := distribution(t, mustNew(t, o, 0), v)
		var kept int
		for i := range want {
			if (want[i] > 0) != (got[i] > 0) || !near(got[i], want[i]) {
				t.Fatalf("%+v: token %d (logit %v) has p %v, want %v", o, i, v[i], got[i], want[i])
			}
			if want[i] > 0 {
				kept++
			}
		}
		t.Logf("%+v: kept %d tokens", o, kept)
	}
}

// TestTopPOverflowBucket puts the top-p boundary past the histogram's last bucket: one
// token at 0 and a thousand at -33 (past 32 nats), so only p within 1e-11 of 1 reaches
// them. The kept -33 tokens must be the lowest ids, as many as the mass needs (±1 for
// rounding in a cumulative sum that adds 5e-15 to 1 each step).
func TestTopPOverflowBucket(t *testing.T) {
	v := make([]float32, 1001)
	for i := 1; i < len(v); i++ {
		v[i] = -33
	}
	w := math.Exp(-33)
	all := 1 + 1000*w
	p := 1 - 300*w/all // leaves 300 tokens' mass out: keep ≈ 700
	got := distribution(t, mustNew(t, Options{Temperature: 1, TopP: p}, 0), v)
	var kept int
	for i := 1; i < len(got); i++ {
		if got[i] > 0 {
			kept++
			if i != kept {
				t.Fatalf("kept token %d before token %d", i, kept)
			}
		}
	}
	if got[0] == 0 || kept < 699 || kept > 701 {
		t.Errorf("kept max %v and %d of the -33 tokens, want the max and 700±1", got[0] > 0, kept)
	}
}

// TestFrequencies draws 100,000 tokens and checks each token's count against its
// reference probability (within 5σ) and the chi-square statistic.
func TestFrequencies(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	v := randomLogits(r, 600, false, false) // three blocks of the untruncated path
	for i := range v {
		v[i] /= 2 // flatter: about 50 tokens above 1%
	}
	for _, o := range []Options{
		{Temperature: 1},
		{Temperature: 0.7},
		{Temperature: 0.8, TopP: 0.9},
		{Temperature: 1.3, TopK: 20},
		{Temperature: 1, MinP: 0.1},
		{Temperature: 1, TopK: 50, TopP: 0.8, MinP: 0.05},
	} {
		t.Run(fmt.Sprintf("%+v", o), func(t *testing.T) {
			t.Parallel()
			const draws = 100_000
			want := reference(v, o)
			s := mustNew(t, o, 42)
			count := make([]int, len(v))
			for range draws {
				c, err := s.Sample(v)
				if err != nil {
					t.Fatal(err)
				}
				count[c.Token]++
			}
			var chi2 float64
			var df int
			for i, p := range want {
				e := draws * p
				if sd := math.Sqrt(e * (1 - p)); math.Abs(float64(count[i])-e) > 5*sd+1 {
					t.Errorf("token %d: %d draws, want %.1f ± %.1f", i, count[i], e, sd)
				}
				if e >= 5 {
					chi2 += (float64(count[i]) - e) * (float64(count[i]) - e) / e
					df++
				}
			}
			df--
			if limit := float64(df) + 5*math.Sqrt(2*float64(df)); chi2 > limit {
				t.Errorf("chi-square %.1f over %d degrees of freedom, want below %.1f", chi2, df, limit)
			}
		})
	}
}

func TestDeterminism(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	steps := make([][]float32, 200)
	for i := range steps {
		steps[i] = randomLogits(r, 5000, false, false)
	}
	run := func(s *Sampler) []int32 {
		var out []int32
		for _, v := range steps {
			c, err := s.Sample(v)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, c.Token)
		}
		return out
	}
	equal := func(a, b []int32) bool {
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	for _, o := range []Options{{Temperature: 1}, {Temperature: 0.9, TopP: 0.95}, {Temperature: 1, TopK: 40}, {Temperature: 1, MinP: 0.01}} {
		a, b := run(mustNew(t, o, 7)), run(mustNew(t, o, 7))
		if !equal(a, b) {
			t.Errorf("%+v: same seed, different tokens", o)
		}
		other := mustNew(t, o, 8)
		if c := run(other); equal(a, c) {
			t.Errorf("%+v: seeds 7 and 8 gave the same %d tokens", o, len(c))
		}
		other.Reseed(7)
		if c := run(other); !equal(a, c) {
			t.Errorf("%+v: Reseed(7) did not replay seed 7", o)
		}
	}
}

func TestGreedyIgnoresRNG(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	a, b := mustNew(t, Options{}, 1), mustNew(t, Options{TopK: 5, TopP: 0.5}, 99)
	for range 50 {
		v := randomLogits(r, 2000, true, true)
		want := 0 // first index of the largest non-NaN logit
		for i, x := range v {
			if x > v[want] || v[want] != v[want] {
				want = i
			}
		}
		for _, s := range []*Sampler{a, b} {
			c, err := s.Sample(v)
			if err != nil {
				t.Fatal(err)
			}
			if int(c.Token) != want || c.LogProb != 0 {
				t.Fatalf("greedy drew %d with LogProb %v, want argmax %d with 0", c.Token, c.LogProb, want)
			}
		}
	}
}

// TestPolicyLogProb checks PolicyLogProb, LogSoftmaxAt and Entropy against math.Exp at
// Qwen's vocabulary size.
func TestPolicyLogProb(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	shuffled := randomLogits(r, 151_936, false, true)
	shuffled[77] = 25 // a peak, as real logits have
	ascending := slices.Clone(shuffled)
	slices.Sort(ascending) // NaN first; then every logit is a new maximum
	for name, v := range map[string][]float32{"shuffled": shuffled, "ascending": ascending} {
		ref := refLogSoftmax(v)
		for _, o := range []Options{{}, {Temperature: 1}, {Temperature: 0.6}, {Temperature: 1, TopK: 50}, {Temperature: 1.2, TopP: 0.95}, {Temperature: 1, MinP: 0.05}} {
			s := mustNew(t, o, 3)
			for range 5 {
				c, err := s.Sample(v)
				if err != nil {
					t.Fatal(err)
				}
				if !near(float64(c.PolicyLogProb), ref[c.Token]) {
					t.Errorf("%s %+v: token %d PolicyLogProb %v, want %v", name, o, c.Token, c.PolicyLogProb, ref[c.Token])
				}
			}
		}
		for _, tok := range []int32{0, 1, 77, 151_935} {
			if got := LogSoftmaxAt(v, tok); !near(float64(got), ref[tok]) {
				t.Errorf("%s: LogSoftmaxAt(%d) = %v, want %v", name, tok, got, ref[tok])
			}
		}
		var h float64
		for _, l := range ref {
			if !math.IsInf(l, -1) {
				h -= math.Exp(l) * l
			}
		}
		if got := Entropy(v); !near(got, h) {
			t.Errorf("%s: Entropy = %v, want %v", name, got, h)
		}
	}
}

func TestHelpersHandComputed(t *testing.T) {
	for _, tc := range []struct {
		logits  []float32
		entropy float64
		logp0   float64
	}{
		{[]float32{1, 2, 3}, 0.8323955818, -2.4076059644},
		{[]float32{0, 0, 0, 0}, math.Log(4), -math.Log(4)},
		{[]float32{5, -inf, nan, 5}, math.Log(2), -math.Log(2)},
		{[]float32{7}, 0, 0},
		{[]float32{-inf, -inf}, math.NaN(), math.NaN()},
		{[]float32{1, inf}, math.NaN(), math.NaN()},
	} {
		h, l := Entropy(tc.logits), float64(LogSoftmaxAt(tc.logits, 0))
		if math.IsNaN(tc.entropy) {
			if !math.IsNaN(h) || !math.IsNaN(l) {
				t.Errorf("%v: Entropy %v, LogSoftmaxAt %v, want NaN", tc.logits, h, l)
			}
			continue
		}
		if !near(h, tc.entropy) || !near(l, tc.logp0) {
			t.Errorf("%v: Entropy %v, LogSoftmaxAt(0) %v, want %v, %v", tc.logits, h, l, tc.entropy, tc.logp0)
		}
	}
	if got := LogSoftmaxAt([]float32{nan, 1}, 0); !math.IsInf(float64(got), -1) {
		t.Errorf("LogSoftmaxAt of a NaN logit = %v, want -Inf", got)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		ok   bool
	}{
		{Options{}, true},
		{Options{Temperature: 0.7, TopK: 50, TopP: 0.95, MinP: 0.05, VocabLimit: 151_669}, true},
		{Options{Temperature: 1, TopP: 1, MinP: 1}, true},
		{Options{Temperature: -1}, false},
		{Options{Temperature: math.NaN()}, false},
		{Options{Temperature: math.Inf(1)}, false},
		{Options{Temperature: 1e-320}, false},
		{Options{Temperature: 1, TopK: -1}, false},
		{Options{Temperature: 1, TopP: -0.1}, false},
		{Options{Temperature: 1, TopP: 1.01}, false},
		{Options{Temperature: 1, TopP: math.NaN()}, false},
		{Options{Temperature: 1, MinP: -0.1}, false},
		{Options{Temperature: 1, MinP: 1.5}, false},
		{Options{Temperature: 1, MinP: math.NaN()}, false},
		{Options{Temperature: 1, VocabLimit: -1}, false},
	} {
		err := tc.opts.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("Validate(%+v) = %v, want ok %v", tc.opts, err, tc.ok)
		}
		if _, nerr := New(tc.opts, 0); (nerr == nil) != tc.ok {
			t.Errorf("New(%+v) error %v, want ok %v", tc.opts, nerr, tc.ok)
		}
	}
}

// TestBadLogits: rows without a finite logit, or with +Inf, are errors under every
// option set, never a panic.
func TestBadLogits(t *testing.T) {
	big := make([]float32, 1000)
	for i := range big {
		big[i] = nan
	}
	bigInf := append([]float32(nil), big...)
	bigInf[500] = inf
	for _, tc := range []struct {
		name   string
		logits []float32
		want   error
	}{
		{"empty", nil, ErrNoCandidate},
		{"all NaN", big, ErrNoCandidate},
		{"all -Inf", []float32{-inf, -inf, -inf}, ErrNoCandidate},
		{"+Inf", []float32{1, inf, 2}, ErrInfLogit},
		{"+Inf among NaN", bigInf, ErrInfLogit},
	} {
		for _, o := range []Options{{}, {Temperature: 1}, {Temperature: 0.5}, {Temperature: 1, TopK: 2}, {Temperature: 1, TopP: 0.9}, {Temperature: 1, MinP: 0.1}, {Temperature: 1, TopK: 2, TopP: 0.5, MinP: 0.1}} {
			if _, err := mustNew(t, o, 0).Sample(tc.logits); !errors.Is(err, tc.want) {
				t.Errorf("%s %+v: error %v, want %v", tc.name, o, err, tc.want)
			}
		}
	}
	// A vocabulary limit that cuts off the only finite logit.
	if _, err := mustNew(t, Options{Temperature: 1, VocabLimit: 2}, 0).Sample([]float32{nan, -inf, 3}); !errors.Is(err, ErrNoCandidate) {
		t.Errorf("limited to non-finite logits: error %v, want ErrNoCandidate", err)
	}
}

func TestExpNeg(t *testing.T) {
	var worst float64
	for i := range 2_000_001 {
		d := -float64(i) * -expMin / 2_000_000
		if e := math.Abs(expNeg(d)/math.Exp(d) - 1); e > worst {
			worst = e
		}
	}
	if worst > 5e-10 {
		t.Errorf("expNeg relative error %g, want below 5e-10", worst)
	}
	for _, d := range []float64{math.Inf(-1), math.NaN(), -709, -1e30} {
		if w := weight(d); w != 0 {
			t.Errorf("weight(%v) = %v, want 0", d, w)
		}
	}
}
