package tokenizer

import "math"

// noMerge is the packed merge value of a pair that has no merge: its rank
// field is the largest, so it never wins a minimum.
const noMerge = math.MaxUint64

// pairKey packs an ordered pair of ids.
func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// mergeOf returns the packed (rank<<32 | new id) merge of the pair, or noMerge.
func (t *Tokenizer) mergeOf(a, b int32) uint64 {
	if v, ok := t.merges[pairKey(a, b)]; ok {
		return v
	}
	return noMerge
}

// initialSymbols appends the byte tokens of piece to syms: bytes with no
// token become the unknown token (fused when fuse_unk is set) or are dropped,
// as Hugging Face's BPE does.
func (t *Tokenizer) initialSymbols(syms []int32, piece string) []int32 {
	for i := 0; i < len(piece); i++ {
		id := t.byteID[piece[i]]
		if id < 0 {
			if t.unkID < 0 {
				continue
			}
			if t.fuseUnk && len(syms) > 0 && syms[len(syms)-1] == t.unkID {
				continue
			}
			id = t.unkID
		}
		syms = append(syms, id)
	}
	return syms
}

// smallWord is the length up to which the array BPE is used; longer words
// use the heap BPE, which is O(n log n).
const smallWord = 96

// bpe appends the BPE ids of piece (raw bytes of one pre-token) to out:
// repeatedly merge the adjacent pair with the lowest merge rank, the
// leftmost on ties, until no pair has a merge.
func (t *Tokenizer) bpe(out []int32, piece string) []int32 {
	if len(piece) > smallWord {
		return t.bpeHeap(out, piece)
	}
	var symBuf [smallWord]int32
	var rankBuf [smallWord]uint64
	syms := t.initialSymbols(symBuf[:0], piece)
	if len(syms) < 2 {
		return append(out, syms...)
	}
	ranks := rankBuf[:len(syms)-1]
	for i := range ranks {
		ranks[i] = t.mergeOf(syms[i], syms[i+1])
	}
	for {
		best, k := uint64(noMerge), -1
		for i, r := range ranks {
			if r < best {
				best, k = r, i
			}
		}
		if k < 0 {
			break
		}
		syms[k] = int32(uint32(best))
		copy(syms[k+1:], syms[k+2:])
		syms = syms[:len(syms)-1]
		copy(ranks[k:], ranks[k+1:])
		ranks = ranks[:len(ranks)-1]
		if k > 0 {
			ranks[k-1] = t.mergeOf(syms[k-1], syms[k])
		}
		if k < len(ranks) {
			ranks[k] = t.mergeOf(syms[k], syms[k+1])
		}
	}
	return append(out, syms...)
}

type heapSym struct {
	id         int32
	prev, next int32 // -1 at the ends
}

type heapEntry struct {
	merge uint64 // rank<<32 | new id
	pos   int32  // index of the left symbol
	a, b  int32  // the pair it was computed for
}

func entryLess(x, y heapEntry) bool {
	if x.merge>>32 != y.merge>>32 {
		return x.merge>>32 < y.merge>>32
	}
	return x.pos < y.pos
}

// bpeHeap is bpe for long words: a linked list of symbols and a min-heap of
// candidate merges ordered by (rank, position); stale entries are skipped.
func (t *Tokenizer) bpeHeap(out []int32, piece string) []int32 {
	ids := t.initialSymbols(make([]int32, 0, len(piece)), piece)
	syms := make([]heapSym, len(ids))
	for i, id := range ids {
		syms[i] = heapSym{id: id, prev: int32(i - 1), next: int32(i + 1)}
	}
	if len(syms) > 0 {
		syms[len(syms)-1].next = -1
	}
	var h []heapEntry
	push := func(e heapEntry) {
		h = append(h, e)
		for i := len(h) - 1; i > 0; {
			p := (i - 1) / 2
			if !entryLess(h[i], h[p]) {
				break
			}
			h[i], h[p] = h[p], h[i]
			i = p
		}
	}
	pop := func() heapEntry {
		top := h[0]
		last := len(h) - 1
		h[0] = h[last]
		h = h[:last]
		for i := 0; ; {
			l, r, m := 2*i+1, 2*i+2, i
			if l < len(h) && entryLess(h[l], h[m]) {
				m = l
			}
			if r < len(h) && entryLess(h[r], h[m]) {
				m = r
			}
			if m == i {
				break
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
		return top
	}
	consider := func(pos int32) {
		if pos < 0 {
			return
		}
		nx := syms[pos].next
		if nx < 0 {
			return
		}
		a, b := syms[pos].id, syms[nx].id
		if m := t.mergeOf(a, b); m != noMerge {
			push(heapEntry{merge: m, pos: pos, a: a, b: b})
		}
	}
	for i := range syms {
		consider(int32(i))
	}
	for len(h) > 0 {
		e := pop()
		s := &syms[e.pos]
		if s.id != e.a || s.next < 0 || syms[s.next].id != e.b {
			continue // stale
		}
		right := s.next
		s.id = int32(uint32(e.merge))
		s.next = syms[right].next
		if s.next >= 0 {
			syms[s.next].prev = e.pos
		}
		syms[right].id = -1 // dead
		consider(s.prev)
		consider(e.pos)
	}
	if len(syms) > 0 {
		for i := int32(0); i >= 0; i = syms[i].next {
			out = append(out, syms[i].id)
		}
	}
	return out
}
