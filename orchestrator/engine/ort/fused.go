package ort

import (
	"context"
	"fmt"
	"slices"

	rt "pz/export/ort"
	"pz/models/qwen3"
	"pz/orchestrator"
)

// waveFused is wave for the fused decode graph (qwen3.DecodeOptions.Fused).
// Each layer's cache is one buffer [rows, kv_heads, maxT, d] holding every
// row's tokens at slots 0..len-1; it is bound as both past_* and present_*,
// so GroupQueryAttention appends each step's keys and values in place and
// a step moves no cache memory (the standard graph copies the whole past
// every step). Rows have their own lengths (seqlens_k), so prompts are
// right-padded and need no mask.
func (e *Engine) waveFused(ctx context.Context, reqs []orchestrator.GenRequest, lo, hi int, res []orchestrator.GenResult) error {
	cfg := e.cfg
	L, KV, D, V := cfg.NumHiddenLayers, cfg.NumKeyValueHeads, cfg.HeadDim, cfg.VocabSize
	P := hi - lo
	maxPrompt, maxNew, nRows := 0, 0, 0
	for _, r := range reqs[lo:hi] {
		maxPrompt = max(maxPrompt, len(r.Prompt))
		maxNew = max(maxNew, r.MaxNewTokens)
		nRows += r.N
	}
	if nRows == 0 {
		return nil
	}
	// Prefill: the distinct prompts, right-padded to Tp.
	Tp := maxPrompt
	ids, seqlens := make([]int64, P*Tp), make([]int32, P)
	for p, r := range reqs[lo:hi] {
		for j, id := range r.Prompt {
			ids[p*Tp+j] = int64(id)
		}
		seqlens[p] = int32(len(r.Prompt) - 1)
	}
	in := map[string]*rt.Tensor{
		qwen3.InputIDs:    rt.I64([]int64{int64(P), int64(Tp)}, ids),
		qwen3.SeqLensK:    rt.I32([]int64{int64(P)}, seqlens),
		qwen3.TotalSeqLen: rt.I32([]int64{}, []int32{int32(Tp)}),
	}
	out, err := e.prefill(ctx, in, P, Tp)
	if err != nil {
		return err
	}
	promptLogits := out[qwen3.Logits].Data.([]float32)

	// Fan out each prompt's cache (its first len slots per head) and logits
	// to its N samples.
	maxT := Tp + maxNew
	stride := KV * maxT * D // one row of a cache buffer
	kv := e.kvBuffers(2*L, nRows*stride)
	var rows []*row
	lens := make([]int32, 0, nRows) // tokens in each row's cache
	logits := make([]float32, nRows*V)
	for p, r := range reqs[lo:hi] {
		n := len(r.Prompt)
		for s := range r.N {
			ri := len(rows)
			for l := range L {
				for kvI, name := range []string{qwen3.PresentKey(l), qwen3.PresentValue(l)} {
					src := out[name].Data.([]float32)
					for h := range KV {
						from := (p*KV + h) * Tp * D
						copy(kv[2*l+kvI][ri*stride+h*maxT*D:], src[from:from+n*D])
					}
				}
			}
			copy(logits[ri*V:(ri+1)*V], promptLogits[p*V:(p+1)*V])
			rw, err := newRow(reqs, lo+p, s, res)
			if err != nil {
				return err
			}
			rows = append(rows, rw)
			lens = append(lens, int32(n))
		}
	}
	newIDs, keep := make([]int64, nRows), make([]bool, nRows)
	sk := make([]int32, nRows)
	total := []int32{0}
	for len(rows) > 0 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		B := len(rows)
		clear(keep[:B])
		if err := e.sampleRows(rows, logits, newIDs[:B], keep[:B]); err != nil {
			return err
		}
		// Compact: drop finished rows (each live row's first lens slots
		// per head move down).
		if slices.Contains(keep[:B], false) {
			n := 0
			for i, k := range keep[:B] {
				if !k {
					continue
				}
				if n != i {
					for j := range kv {
						for h := range KV {
							copy(kv[j][n*stride+h*maxT*D:], kv[j][i*stride+h*maxT*D:i*stride+h*maxT*D+int(lens[i])*D])
						}
					}
					rows[n], newIDs[n], lens[n] = rows[i], newIDs[i], lens[i]
				}
				n++
			}
			rows, lens = rows[:n], lens[:n]
			B = n
			if B == 0 {
				break
			}
		}
		total[0] = 0
		for i := range B {
			lens[i]++ // the token fed now
			sk[i] = lens[i] - 1
			total[0] = max(total[0], lens[i])
		}
		in := map[string]*rt.Tensor{
			qwen3.InputIDs:    rt.I64([]int64{int64(B), 1}, newIDs[:B]),
			qwen3.SeqLensK:    rt.I32([]int64{int64(B)}, sk[:B]),
			qwen3.TotalSeqLen: rt.I32([]int64{}, total),
		}
		out := map[string]*rt.Tensor{qwen3.Logits: rt.F32([]int64{int64(B), int64(V)}, logits[:B*V])}
		sh := []int64{int64(B), int64(KV), int64(maxT), int64(D)}
		for l := range L {
			// The same memory in and out: appended in place.
			k, v := rt.F32(sh, kv[2*l][:B*stride]), rt.F32(sh, kv[2*l+1][:B*stride])
			in[qwen3.PastKey(l)], in[qwen3.PastValue(l)] = k, v
			out[qwen3.PresentKey(l)], out[qwen3.PresentValue(l)] = k, v
		}
		if err := e.run(ctx, e.decode, in, out); err != nil {
			return fmt.Errorf("generate: decode step at length %d: %w", total[0], err)
		}
	}
	return nil
}
