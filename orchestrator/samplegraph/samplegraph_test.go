package samplegraph

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"pz/export/exporttest"
	rt "pz/export/ort"
	"pz/orchestrator/sample"
)

// pcgStream is orchestrator/sample's second PCG seed word: a Sampler
// seeded with s draws the uniforms of rand.NewPCG(s, pcgStream).
const pcgStream = 0x9e3779b97f4a7c15

// TestMatchesGoSampler: for each option set, rows of random logits (with
// ties and a banned token) are sampled by orchestrator/sample with seed
// s_i and by the graph with the first uniform that seed draws; the tokens
// must agree (but for rounding at a boundary: at most 1 row in 200) and
// so must both log-probs. Top-p alone is the exception: the Go sampler
// walks its kept set partly in vocabulary order (buckets above the
// boundary) and partly in rank order, so the same uniform may pick
// another token of the same distribution; TestTopPDistribution checks it.
func TestMatchesGoSampler(t *testing.T) {
	const V, B = 97, 200
	rng := rand.New(rand.NewPCG(7, 8))
	logits := make([]float32, B*V)
	for i := range logits {
		logits[i] = float32(rng.NormFloat64() * 3)
	}
	for r := range B {
		logits[r*V+5] = logits[r*V+6] // a tie in every row
		logits[r*V+9] = float32(math.Inf(-1))
	}
	for _, o := range []Options{
		{Temperature: 1},
		{Temperature: 0.7},
		{Temperature: 1, TopK: 10},
		{Temperature: 0.8, TopK: 20, TopP: 0.5},
		{Temperature: 1, TopK: V},
	} {
		t.Run(fmt.Sprintf("%+v", o), func(t *testing.T) {
			u := make([]float64, B)
			for r := range u {
				u[r] = float64(rand.NewPCG(uint64(r), pcgStream).Uint64()>>11) * 0x1p-53
			}
			toks, lps, pls := runGraph(t, V, o, logits, u)
			differ := 0
			for r := range B {
				gs, err := sample.New(sample.Options{Temperature: o.Temperature, TopK: o.TopK, TopP: o.TopP}, uint64(r))
				if err != nil {
					t.Fatal(err)
				}
				c, err := gs.Sample(logits[r*V : (r+1)*V])
				if err != nil {
					t.Fatal(err)
				}
				if int64(c.Token) != toks[r] {
					differ++
					t.Logf("row %d: graph %d, Go %d", r, toks[r], c.Token)
					continue
				}
				if math.Abs(float64(lps[r]-c.LogProb)) > 1e-4 || math.Abs(float64(pls[r]-c.PolicyLogProb)) > 1e-4 {
					t.Errorf("row %d token %d: log-probs %g/%g, Go %g/%g", r, c.Token, lps[r], pls[r], c.LogProb, c.PolicyLogProb)
				}
				if toks[r] == 9 {
					t.Errorf("row %d: drew the banned token", r)
				}
			}
			if differ > B/200 {
				t.Errorf("%d of %d rows drew another token than the Go sampler", differ, B)
			}
		})
	}
}

// runGraph samples rows of logits [B, V] with uniforms u.
func runGraph(t *testing.T, V int, o Options, logits []float32, u []float64) (toks []int64, lps, pls []float32) {
	t.Helper()
	m, err := Build(V, o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s, err := exporttest.Runtime(t).NewSession(b, rt.SessionOptions{Name: "sample", IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	B := int64(len(u))
	out, err := s.Run(context.Background(), map[string]*rt.Tensor{
		Logits: rt.F32([]int64{B, int64(V)}, logits), Uniform: rt.F64([]int64{B}, u)})
	if err != nil {
		t.Fatal(err)
	}
	return out[Tokens].Data.([]int64), out[LogProb].Float32s(), out[PolicyLogProb].Float32s()
}

// TestTopPDistribution: one row of logits sampled N times at top-p 0.9 by
// the Go sampler (seeds 0..N-1) and by the graph (their uniforms): the
// same kept set, the same log-prob for every token both drew, and token
// frequencies within sampling noise (total variation below 0.03 at N =
// 20,000; the seeds are fixed, so the figure is too).
func TestTopPDistribution(t *testing.T) {
	const V, N = 97, 20000
	rng := rand.New(rand.NewPCG(3, 4))
	row := make([]float32, V)
	for i := range row {
		row[i] = float32(rng.NormFloat64() * 2)
	}
	o := Options{Temperature: 1.3, TopP: 0.9}
	logits := make([]float32, 0, N*V)
	u := make([]float64, N)
	for r := range N {
		logits = append(logits, row...)
		u[r] = float64(rand.NewPCG(uint64(r), pcgStream).Uint64()>>11) * 0x1p-53
	}
	toks, lps, _ := runGraph(t, V, o, logits, u)
	goCount, graphCount := map[int64]int{}, map[int64]int{}
	goLP := map[int64]float32{}
	for r := range N {
		gs, err := sample.New(sample.Options{Temperature: o.Temperature, TopP: o.TopP}, uint64(r))
		if err != nil {
			t.Fatal(err)
		}
		c, err := gs.Sample(row)
		if err != nil {
			t.Fatal(err)
		}
		goCount[int64(c.Token)]++
		goLP[int64(c.Token)] = c.LogProb
		graphCount[toks[r]]++
	}
	tv := 0.0
	for tok := range V {
		tv += math.Abs(float64(goCount[int64(tok)]-graphCount[int64(tok)])) / N / 2
	}
	for r, tok := range toks {
		if want, ok := goLP[tok]; !ok {
			t.Errorf("graph drew %d, which the Go sampler never did (not in its kept set?)", tok)
			break
		} else if math.Abs(float64(lps[r]-want)) > 1e-4 {
			t.Errorf("token %d: log-prob %g, Go %g", tok, lps[r], want)
			break
		}
	}
	if len(goCount) != len(graphCount) {
		t.Errorf("kept sets: Go drew %d tokens, the graph %d", len(goCount), len(graphCount))
	}
	t.Logf("%d kept tokens, total variation %.4f", len(graphCount), tv)
	if tv > 0.03 {
		t.Errorf("total variation %.4f between the graph's and the Go sampler's frequencies", tv)
	}
}

func TestBuildRejects(t *testing.T) {
	for _, o := range []Options{{}, {Temperature: 1, TopK: -1}, {Temperature: 1, TopP: 1.5}} {
		if _, err := Build(10, o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}
