package learn

import (
	"fmt"
	"slices"
)

// Shared-prefix micro-batches (Options.SharedPrefix). The samples of a GRPO
// group share their prompt; the prefix train graph runs each distinct
// prompt once and gathers its keys/values to the group's completions, so a
// group of G completions of n tokens after a prompt of p tokens costs about
// p + G·n token passes instead of G·(p + n).
//
// Layout of one sequence (prompt P tokens, completion C tokens): the
// prefix row holds prompt[:P-1] at positions 0..P-2; the suffix row holds
// prompt[P-1], completion[:C-1] at positions P-1.. with targets
// completion[0..C-1], so every suffix position has a completion token's
// log-prob and the prefix needs no lm_head.

// seq is 0..n-1.
func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// prefixGroup is a run of samples (indices into the batch) that share a
// prompt, small enough for one micro-batch.
type prefixGroup struct {
	prompt []int32
	rows   []int
}

// groupByPrompt groups idx by identical prompt ids, in order of first
// appearance, and cuts groups so that one fits the token budget.
func (l *Learner) groupByPrompt(batch []Sample, idx []int) []prefixGroup {
	var groups []prefixGroup
	byKey := map[string]int{}
	for _, i := range idx {
		s := batch[i]
		k := fmt.Sprint(s.PromptIDs)
		gi, ok := byKey[k]
		if !ok {
			gi = len(groups)
			byKey[k] = gi
			groups = append(groups, prefixGroup{prompt: s.PromptIDs})
		}
		groups[gi].rows = append(groups[gi].rows, i)
	}
	var out []prefixGroup
	budget := l.opts.MicroBatchTokens
	for _, g := range groups {
		tp := len(g.prompt) - 1
		var cur []int
		tc := 0
		for _, i := range g.rows {
			c := len(batch[i].CompletionIDs)
			if len(cur) > 0 && tp+(len(cur)+1)*max(tc, c) > budget {
				out = append(out, prefixGroup{prompt: g.prompt, rows: cur})
				cur, tc = nil, 0
			}
			cur = append(cur, i)
			tc = max(tc, c)
		}
		out = append(out, prefixGroup{prompt: g.prompt, rows: cur})
	}
	return out
}

// packPrefix packs the samples idx (prompts of at least 2 tokens) into
// shared-prefix micro-batches of at most MicroBatchTokens padded tokens
// (prefix slots plus suffix slots).
func (l *Learner) packPrefix(batch []Sample, ws [][]float64, idx []int) []*packed {
	var out []*packed
	var cur []prefixGroup
	Tp, Tc, rows := 0, 0, 0
	flush := func() {
		if len(cur) == 0 {
			return
		}
		out = append(out, l.packPrefixGroups(batch, ws, cur, Tp, Tc, rows))
		cur, Tp, Tc, rows = nil, 0, 0, 0
	}
	for _, g := range l.groupByPrompt(batch, idx) {
		tp, tc := len(g.prompt)-1, 0
		for _, i := range g.rows {
			tc = max(tc, len(batch[i].CompletionIDs))
		}
		cost := (len(cur)+1)*max(Tp, tp) + (rows+len(g.rows))*max(Tc, tc)
		if len(cur) > 0 && cost > l.opts.MicroBatchTokens {
			flush()
		}
		cur = append(cur, g)
		Tp, Tc, rows = max(Tp, tp), max(Tc, tc), rows+len(g.rows)
	}
	flush()
	return out
}

func (l *Learner) packPrefixGroups(batch []Sample, ws [][]float64, groups []prefixGroup, Tp, T, B int) *packed {
	p := &packed{B: B, T: T, prefix: true, Pn: len(groups), Tp: Tp}
	np := p.Pn * Tp
	p.pids, p.ppos, p.pmask = make([]int64, np), make([]int64, np), make([]int64, np)
	p.alloc(B * T)
	for gi, g := range groups {
		for t, id := range g.prompt[:len(g.prompt)-1] {
			k := gi*Tp + t
			p.pids[k], p.ppos[k], p.pmask[k] = int64(id), int64(t), 1
		}
		for _, i := range g.rows {
			r := len(p.rows)
			p.rows = append(p.rows, i)
			p.off = append(p.off, 0)
			p.pindex = append(p.pindex, int64(gi))
			s := batch[i]
			P := len(s.PromptIDs)
			in := slices.Concat(s.PromptIDs[P-1:], s.CompletionIDs[:len(s.CompletionIDs)-1])
			for j := range s.CompletionIDs {
				k := r*T + j
				p.ids[k], p.pos[k], p.mask[k], p.tgt[k] = int64(in[j]), int64(P-1+j), 1, int64(s.CompletionIDs[j])
				p.completion(k, &s, j, ws[i][j])
			}
		}
	}
	return p
}
