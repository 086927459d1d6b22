package qwen3

import (
	"context"
	"math"
	"testing"

	"pz/export"
	"pz/export/exporttest"
	"pz/export/ort"
	"pz/models"
)

// micro is a config small enough to finite-difference every weight.
func micro(family string) *models.Config {
	c := models.Tiny()
	c.ModelType = family
	c.HiddenSize, c.IntermediateSize = 8, 12
	c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim = 2, 2, 1, 4
	c.VocabSize = 13
	c.TieWordEmbeddings = family != models.FamilyQwen3
	c.RopeTheta = 10000
	return &c
}

// TestGradientFiniteDifferences checks the whole train graph (log-probs and
// entropy of a padded batch) against finite differences of every weight,
// in float64 through ORT, for each supported family.
func TestGradientFiniteDifferences(t *testing.T) {
	for _, fam := range []string{models.FamilyQwen3, models.FamilyQwen2, models.FamilyLlama} {
		t.Run(fam, func(t *testing.T) {
			cfg := micro(fam)
			if fam == models.FamilyLlama {
				cfg.AttentionBias = true
			}
			worst := gradCheckModel(t, "qwen3_grad_"+fam, cfg, 7, nil)
			t.Logf("%s: max relative error %.2g over every weight", fam, worst)
		})
	}
}

// gradCheckModel checks the train graph of cfg (log-probs plus entropy of
// a padded batch) against finite differences of every weight, in float64
// through ORT. Weights are RandomWeights(seed, 0.5) with norms and biases
// moved off their init; setup, when set, changes the model after Bind
// (e.g. to pick an MoE form).
func gradCheckModel(t *testing.T, name string, cfg *models.Config, seed uint64, setup func(m *Model)) float64 {
	t.Helper()
	w := RandomWeights(cfg, seed, 0.5)
	var inputs []exporttest.Input
	for _, s := range cfg.TensorSpecs() {
		d := make([]float64, len(w[s.Name]))
		for i, v := range w[s.Name] {
			d[i] = float64(v)
			if hasSuffix(s.Name, "norm.weight") || hasSuffix(s.Name, ".bias") {
				d[i] += 0.1 * math.Sin(float64(i+1)) // away from the all-ones/zeros init
			}
		}
		inputs = append(inputs, exporttest.Input{Name: s.Name, Shape: s.Shape, Data: d})
	}
	return exporttest.GradCheck(t, name, 3, inputs, func(g *export.Graph, xs []*export.Value) *export.Value {
		byName := map[string]*export.Value{}
		for _, x := range xs {
			byName[x.Name()] = x
		}
		m := Bind(g, cfg, export.Float64, func(g *export.Graph, name string, shape []int64) *export.Value { return byName[name] })
		if setup != nil {
			setup(m)
		}
		i64 := func(v ...int64) *export.Value { return g.Const(export.TensorI64([]int64{2, 4}, v)) }
		// Row 1 is right-padded after 3 tokens.
		ids := i64(1, 5, 7, 2, 3, 12, 4, 0)
		pos := i64(0, 1, 2, 3, 0, 1, 2, 0)
		mask := i64(1, 1, 1, 1, 1, 1, 1, 0)
		tgt := i64(5, 7, 2, 9, 12, 4, 11, 0)
		lp, ent := m.TargetLogProbs(g, ids, pos, mask, tgt, true)
		return g.Add(lp, ent)
	})
}

// trainLogProbs runs a train graph session (weights as inputs) over rows
// right-padded into one batch and returns each row's log-probs
// log p(r[j+1] | r[<=j]).
func trainLogProbs(t *testing.T, sess *ort.Session, cfg *models.Config, w map[string][]float32, rows [][]int64) [][]float64 {
	t.Helper()
	T := 0
	for _, r := range rows {
		T = max(T, len(r)-1)
	}
	var ids, pos, mask, tgt []int64
	for _, r := range rows {
		for j := range T {
			if j < len(r)-1 {
				ids, pos, mask, tgt = append(ids, r[j]), append(pos, int64(j)), append(mask, 1), append(tgt, r[j+1])
			} else {
				ids, pos, mask, tgt = append(ids, 0), append(pos, 0), append(mask, 0), append(tgt, 0)
			}
		}
	}
	feeds := weightFeeds(cfg, w)
	feeds[InputIDs], feeds[PositionIDs] = i64t(len(rows), T, ids), i64t(len(rows), T, pos)
	feeds[AttentionMask], feeds[TargetIDs] = i64t(len(rows), T, mask), i64t(len(rows), T, tgt)
	out, err := sess.Run(context.Background(), feeds, LogProbs)
	if err != nil {
		t.Fatal(err)
	}
	lp := out[LogProbs].Data.([]float32)
	res := make([][]float64, len(rows))
	for i, r := range rows {
		for j := range len(r) - 1 {
			res[i] = append(res[i], float64(lp[i*T+j]))
		}
	}
	return res
}

// feeds for a forward graph with float32 weights as inputs.
func weightFeeds(cfg *models.Config, w map[string][]float32) map[string]*ort.Tensor {
	f := map[string]*ort.Tensor{}
	for _, s := range cfg.TensorSpecs() {
		f[s.Name] = ort.F32(s.Shape, w[s.Name])
	}
	return f
}

func i64t(b, t int, v []int64) *ort.Tensor { return ort.I64([]int64{int64(b), int64(t)}, v) }

func logSoftmax(x []float32) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, float64(v))
	}
	s := 0.0
	for _, v := range x {
		s += math.Exp(float64(v) - m)
	}
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v) - m - math.Log(s)
	}
	return out
}

// TestDecodeMatchesForward checks that the decode graph (left-padded
// batched prefill, then incremental steps with the KV cache) gives the
// same next-token log-probs as the train graph on right-padded rows, and
// that a row's values do not change with the batch it is in.
func TestDecodeMatchesForward(t *testing.T) {
	forEachFamily(t, checkDecodeMatchesForward)
}

// forEachFamily runs check on the tiny preset of every family (vocabulary
// cut to 300 to keep the runs short).
func forEachFamily(t *testing.T, check func(t *testing.T, cfg models.Config)) {
	for _, preset := range []string{"tiny", "tiny-moe", "tiny-smollm3"} {
		t.Run(preset, func(t *testing.T) {
			cfg, err := models.Preset(preset)
			if err != nil {
				t.Fatal(err)
			}
			cfg.VocabSize = 300
			check(t, *cfg)
		})
	}
}

func checkDecodeMatchesForward(t *testing.T, cfg models.Config) {
	w := RandomWeights(&cfg, 11, 0.2)
	seqs := [][]int64{{5, 17, 250, 3, 99, 42, 7}, {8, 8, 120, 6, 13}}
	ctx := context.Background()

	// Train graph: each row alone, and both right-padded in one batch.
	fw, err := BuildForward(&cfg, ForwardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fw.G.Output(LogProbs, fw.LogProbs)
	fsess := exporttest.Session(t, fw.G)
	forward := func(rows [][]int64) [][]float64 { return trainLogProbs(t, fsess, &cfg, w, rows) }
	batched := forward(seqs)
	for i, r := range seqs {
		alone := forward([][]int64{r})[0]
		if err := exporttest.AllClose(batched[i], alone, 1e-5, 1e-5); err != nil {
			t.Errorf("row %d padded in a batch vs alone: %v", i, err)
		}
	}

	// Decode graph: prefill the first 3 (row 1: 2, left-padded) tokens,
	// then feed the true next tokens one at a time.
	dm, err := BuildDecode(&cfg, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := dm.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	dsess, err := exporttest.Runtime(t).NewSession(b, ort.SessionOptions{Name: "decode", IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer dsess.Close()
	prompt := []int{3, 2}
	P := 3
	var ids, pos, mask []int64
	for i, r := range seqs {
		pad := P - prompt[i]
		for j := range P {
			if j < pad {
				ids, pos, mask = append(ids, 0), append(pos, 0), append(mask, 0)
			} else {
				ids, pos, mask = append(ids, r[j-pad]), append(pos, int64(j-pad)), append(mask, 1)
			}
		}
	}
	feeds := weightFeeds(&cfg, w)
	empty := []int64{2, int64(cfg.NumKeyValueHeads), 0, int64(cfg.HeadDim)}
	for l := range cfg.NumHiddenLayers {
		feeds[PastKey(l)] = ort.F32(empty, []float32{})
		feeds[PastValue(l)] = ort.F32(empty, []float32{})
	}
	feeds[InputIDs], feeds[PositionIDs], feeds[AttentionMask] = i64t(2, P, ids), i64t(2, P, pos), i64t(2, P, mask)
	next := []int{prompt[0], prompt[1]} // index of the token predicted next, per row
	for step := 0; step < 4; step++ {
		out, err := dsess.Run(ctx, feeds)
		if err != nil {
			t.Fatalf("decode step %d: %v", step, err)
		}
		logits := out[Logits].Data.([]float32)
		V := cfg.VocabSize
		var newIDs, newPos []int64
		for i, r := range seqs {
			lsm := logSoftmax(logits[i*V : (i+1)*V])
			if next[i] < len(r) {
				got, want := lsm[r[next[i]]], batched[i][next[i]-1]
				if math.Abs(got-want) > 2e-5 {
					t.Errorf("row %d token %d: decode log-prob %.7f, forward %.7f", i, next[i], got, want)
				}
			}
			tok := r[min(next[i], len(r)-1)]
			newIDs, newPos = append(newIDs, tok), append(newPos, int64(next[i]))
			next[i]++
		}
		for l := range cfg.NumHiddenLayers {
			feeds[PastKey(l)], feeds[PastValue(l)] = out[PresentKey(l)], out[PresentValue(l)]
		}
		feeds[InputIDs], feeds[PositionIDs] = i64t(2, 1, newIDs), i64t(2, 1, newPos)
		m := feeds[AttentionMask]
		total := int(m.Shape[1]) + 1
		nm := make([]int64, 0, 2*total)
		for i := range 2 {
			nm = append(nm, m.Data.([]int64)[i*(total-1):(i+1)*(total-1)]...)
			nm = append(nm, 1)
		}
		feeds[AttentionMask] = i64t(2, total, nm)
	}
}
