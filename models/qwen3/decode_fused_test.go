package qwen3

import (
	"context"
	"math"
	"testing"

	"pz/export/exporttest"
	"pz/export/ort"
	"pz/models"
)

// decodeLogProbs runs a decode graph over rows: a prefill of each row's
// first prompt[i] tokens, then one true token per step, and returns the
// log-prob of each row's true next token at every step (NaN once a row
// has no next token). step feeds the graph and returns [b, vocab] logits.
func decodeLogProbs(t *testing.T, rows [][]int64, prompt []int, steps int, V int, step func(s int, ids [][]int64) []float32) [][]float64 {
	t.Helper()
	res := make([][]float64, len(rows))
	next := append([]int(nil), prompt...)
	ids := make([][]int64, len(rows))
	for i, r := range rows {
		ids[i] = r[:prompt[i]]
	}
	for s := range steps {
		logits := step(s, ids)
		for i, r := range rows {
			lp := math.NaN()
			if next[i] < len(r) {
				lp = logSoftmax(logits[i*V : (i+1)*V])[r[next[i]]]
			}
			res[i] = append(res[i], lp)
			ids[i] = []int64{r[min(next[i], len(r)-1)]}
			next[i]++
		}
	}
	return res
}

// TestFusedDecodeMatchesTwin checks the contrib-op decode flavour (right-
// padded prefill, then single-token steps writing into a shared KV buffer)
// against its standard-op twin (left-padded, concatenated cache) and the
// train graph: the same next-token log-probs, with weights as inputs and
// as initializers.
func TestFusedDecodeMatchesTwin(t *testing.T) {
	forEachFamily(t, checkFusedDecodeMatchesTwin)
}

func checkFusedDecodeMatchesTwin(t *testing.T, cfg models.Config) {
	w := RandomWeights(&cfg, 11, 0.2)
	rows := [][]int64{{5, 17, 250, 3, 99, 42, 7, 8}, {8, 8, 120, 6, 13}, {4, 200}}
	prompt := []int{3, 2, 1}
	const steps = 5
	V, B, L := cfg.VocabSize, len(rows), cfg.NumHiddenLayers
	kvh, d := int64(cfg.NumKeyValueHeads), int64(cfg.HeadDim)
	ctx := context.Background()
	rt := exporttest.Runtime(t)
	session := func(opts DecodeOptions) *ort.Session {
		m, err := BuildDecode(&cfg, opts)
		if err != nil {
			t.Fatal(err)
		}
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		s, err := rt.NewSession(b, ort.SessionOptions{IntraOpThreads: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}

	// The twin: left-padded prefill, cache grown by Concat.
	twin := session(DecodeOptions{})
	var feeds map[string]*ort.Tensor
	var mask [][]int64
	want := decodeLogProbs(t, rows, prompt, steps, V, func(s int, ids [][]int64) []float32 {
		if s == 0 {
			feeds = weightFeeds(&cfg, w)
			empty := []int64{int64(B), kvh, 0, d}
			for l := range L {
				feeds[PastKey(l)], feeds[PastValue(l)] = ort.F32(empty, nil), ort.F32(empty, nil)
			}
		}
		T := 0
		for _, r := range ids {
			T = max(T, len(r))
		}
		var fi, fp, fm []int64
		for i, r := range ids {
			if s == 0 {
				mask = append(mask, nil)
			}
			base := len(mask[i]) - sumI64(mask[i]) // pad slots so far are not positions
			for j := range T {
				if k := j - (T - len(r)); k >= 0 {
					fi, fp = append(fi, r[k]), append(fp, int64(len(mask[i])-base+k))
					fm = append(fm, 1)
				} else {
					fi, fp, fm = append(fi, 0), append(fp, 0), append(fm, 0)
				}
			}
		}
		var am []int64
		for i := range ids {
			mask[i] = append(mask[i], fm[i*T:(i+1)*T]...)
			am = append(am, mask[i]...)
		}
		feeds[InputIDs], feeds[PositionIDs] = i64t(B, T, fi), i64t(B, T, fp)
		feeds[AttentionMask] = i64t(B, len(mask[0]), am)
		out, err := twin.Run(ctx, feeds)
		if err != nil {
			t.Fatalf("twin step %d: %v", s, err)
		}
		for l := range L {
			feeds[PastKey(l)], feeds[PastValue(l)] = out[PresentKey(l)], out[PresentValue(l)]
		}
		return out[Logits].Data.([]float32)
	})
	// The twin equals the train graph (TestDecodeMatchesForward).
	if math.IsNaN(want[0][0]) {
		t.Fatal("twin gave NaN")
	}

	for _, mode := range []string{"inputs", "initializers"} {
		t.Run(mode, func(t *testing.T) {
			opts := DecodeOptions{Fused: true}
			if mode == "initializers" {
				opts.Weights = WeightsAsInitializers(w)
			}
			fused := session(opts)
			capacity := int64(prompt[0] + steps)
			kv := make([][]float32, 2*L)
			for j := range kv {
				kv[j] = make([]float32, int64(B)*kvh*capacity*d)
			}
			lens := make([]int32, B)
			got := decodeLogProbs(t, rows, prompt, steps, V, func(s int, ids [][]int64) []float32 {
				feeds := map[string]*ort.Tensor{}
				if mode == "inputs" {
					feeds = weightFeeds(&cfg, w)
				}
				T := 0
				for _, r := range ids {
					T = max(T, len(r))
				}
				fi, sk := make([]int64, B*T), make([]int32, B)
				total := int32(0)
				for i, r := range ids {
					copy(fi[i*T:], r) // right-padded
					lens[i] += int32(len(r))
					sk[i] = lens[i] - 1
					total = max(total, lens[i])
				}
				if s == 0 {
					total = int32(T)
				}
				feeds[InputIDs] = i64t(B, T, fi)
				feeds[SeqLensK] = ort.I32([]int64{int64(B)}, sk)
				feeds[TotalSeqLen] = ort.I32([]int64{}, []int32{total})
				sh := []int64{int64(B), kvh, capacity, d}
				out := map[string]*ort.Tensor{Logits: ort.Zeros(ort.Float32, int64(B), int64(V))}
				for l := range L {
					// The same memory in and out: GroupQueryAttention appends in place.
					feeds[PastKey(l)], feeds[PastValue(l)] = ort.F32(sh, kv[2*l]), ort.F32(sh, kv[2*l+1])
					out[PresentKey(l)], out[PresentValue(l)] = feeds[PastKey(l)], feeds[PastValue(l)]
				}
				if err := fused.RunInto(ctx, feeds, out); err != nil {
					t.Fatalf("fused step %d: %v", s, err)
				}
				return out[Logits].Data.([]float32)
			})
			worst := 0.0
			for i := range rows {
				for s := range steps {
					if math.IsNaN(want[i][s]) != math.IsNaN(got[i][s]) {
						t.Fatalf("row %d step %d: twin %v, fused %v", i, s, want[i][s], got[i][s])
					}
					if math.IsNaN(want[i][s]) {
						continue
					}
					diff := math.Abs(want[i][s] - got[i][s])
					worst = max(worst, diff)
					if diff > 2e-5 {
						t.Errorf("row %d step %d: twin log-prob %.7f, fused %.7f", i, s, want[i][s], got[i][s])
					}
				}
			}
			t.Logf("max |Δ log-prob| fused vs twin: %.2g", worst)
		})
	}
}

func sumI64(v []int64) int {
	s := 0
	for _, x := range v {
		s += int(x)
	}
	return s
}
