package tokenizer

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// TrainOptions configure Train.
type TrainOptions struct {
	// VocabSize is the total number of ids wanted: added tokens, the 256
	// byte tokens and the merges. Training stops earlier when no pair is
	// left that occurs MinFrequency times.
	VocabSize int
	// AddedTokens get ids 0, 1, ... in order (their ID field is ignored), in
	// the model vocabulary and in added_tokens, with normalized false: they
	// are matched whole on raw text by EncodeSpecial and split out of the
	// training text. Mark end-of-text Special; tokens that must survive
	// skip_special_tokens decoding (such as "[mask]") non-special.
	AddedTokens []AddedToken
	// MinFrequency is the least count a pair needs to be merged (0 means 2).
	MinFrequency int
	// Pattern is the Split regex (default PatternQwen2; one of the Pattern
	// constants).
	Pattern string
	// Logger gets progress (default slog.Default()).
	Logger *slog.Logger
}

type trainWord struct {
	syms []int32
	freq int64
}

type heapPair struct {
	count int64
	key   uint64
}

// before orders the merge queue: higher count first, then the smaller pair
// of ids (the order Hugging Face's BpeTrainer uses).
func (x heapPair) before(y heapPair) bool {
	if x.count != y.count {
		return x.count > y.count
	}
	return x.key < y.key
}

// Train learns a byte-level BPE on texts: each text has the added tokens
// split out, is NFC-normalized and pre-tokenized with the Split regex; then
// the most frequent adjacent pair of tokens is merged, ties going to the
// smallest pair of ids, until VocabSize ids exist. The result is
// deterministic for the same texts and options.
func Train(ctx context.Context, texts iter.Seq[string], opts TrainOptions) (*Tokenizer, error) {
	log := cmp.Or(opts.Logger, slog.Default())
	pattern := cmp.Or(opts.Pattern, PatternQwen2)
	kind, ok := patternKind(pattern)
	if !ok {
		return nil, fmt.Errorf("train: pattern %q is not supported", pattern)
	}
	minFreq := int64(opts.MinFrequency)
	if minFreq <= 0 {
		minFreq = 2
	}
	nAdded := len(opts.AddedTokens)
	if opts.VocabSize < nAdded+256 {
		return nil, fmt.Errorf("train: vocabulary size %d is below the %d added and 256 byte tokens", opts.VocabSize, nAdded)
	}
	start := time.Now()
	bl := newByteLevel()

	// Ids: added tokens, then the 256 byte chars in code point order.
	var tokStr []string
	strID := map[string]int32{}
	var added []AddedToken
	for i, a := range opts.AddedTokens {
		if a.Content == "" {
			return nil, fmt.Errorf("train: added token %d is empty", i)
		}
		if _, dup := strID[a.Content]; dup {
			return nil, fmt.Errorf("train: added token %q is given twice", a.Content)
		}
		a.ID, a.Normalized = int32(i), false
		added = append(added, a)
		strID[a.Content] = a.ID
		tokStr = append(tokStr, a.Content)
	}
	chars := make([]rune, 256)
	copy(chars, bl.toChar[:])
	slices.Sort(chars)
	var byteID [256]int32
	for _, c := range chars {
		s := string(c)
		if _, dup := strID[s]; dup {
			return nil, fmt.Errorf("train: added token %q is also a byte token", s)
		}
		id := int32(len(tokStr))
		strID[s] = id
		tokStr = append(tokStr, s)
		byteID[bl.toByte[c]] = id
	}

	// Count pre-tokens.
	matcher := newAddedMatcher(added)
	counts := map[string]int64{}
	nText := 0
	for text := range texts {
		if nText%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		nText++
		matcher.split(validUTF8(text), func(seg string, id int32) {
			if id >= 0 {
				return
			}
			splitPieces(nfc(seg), kind, func(p string) { counts[p]++ })
		})
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	words := make([]trainWord, len(keys))
	pairCount := map[uint64]int64{}
	where := map[uint64][]int32{}
	for wi, k := range keys {
		syms := make([]int32, len(k))
		for i := 0; i < len(k); i++ {
			syms[i] = byteID[k[i]]
		}
		f := counts[k]
		words[wi] = trainWord{syms: syms, freq: f}
		for i := 0; i+1 < len(syms); i++ {
			key := pairKey(syms[i], syms[i+1])
			pairCount[key] += f
			if l := where[key]; len(l) == 0 || l[len(l)-1] != int32(wi) {
				where[key] = append(l, int32(wi))
			}
		}
	}
	counts = nil
	log.Debug("tokenizer train: counted", "texts", nText, "words", len(words), "pairs", len(pairCount))

	// The merge queue: a max-heap with lazy updates.
	var h []heapPair
	push := func(e heapPair) {
		h = append(h, e)
		for i := len(h) - 1; i > 0; {
			p := (i - 1) / 2
			if !h[i].before(h[p]) {
				break
			}
			h[i], h[p] = h[p], h[i]
			i = p
		}
	}
	pop := func() heapPair {
		top := h[0]
		last := len(h) - 1
		h[0] = h[last]
		h = h[:last]
		for i := 0; ; {
			l, r, m := 2*i+1, 2*i+2, i
			if l < len(h) && h[l].before(h[m]) {
				m = l
			}
			if r < len(h) && h[r].before(h[m]) {
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
	pairKeys := make([]uint64, 0, len(pairCount))
	for k := range pairCount {
		pairKeys = append(pairKeys, k)
	}
	slices.Sort(pairKeys)
	for _, k := range pairKeys {
		push(heapPair{pairCount[k], k})
	}

	var merges [][2]string
	visited := make([]int32, len(words)) // last merge id that touched the word
	for i := range visited {
		visited[i] = -1
	}
	var touched []uint64
	for len(tokStr) < opts.VocabSize && len(h) > 0 {
		if len(merges)%256 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		top := pop()
		cur := pairCount[top.key]
		if cur != top.count {
			if cur > 0 {
				push(heapPair{cur, top.key})
			}
			continue
		}
		if cur < minFreq {
			break
		}
		a, b := int32(top.key>>32), int32(uint32(top.key))
		s := tokStr[a] + tokStr[b]
		c, exists := strID[s]
		if !exists {
			c = int32(len(tokStr))
			strID[s] = c
			tokStr = append(tokStr, s)
		}
		merges = append(merges, [2]string{tokStr[a], tokStr[b]})
		touched = touched[:0]
		for _, wi := range where[top.key] {
			if visited[wi] == c {
				continue
			}
			visited[wi] = c
			w := &words[wi]
			syms := w.syms
			found := false
			for i := 0; i+1 < len(syms); i++ {
				if syms[i] == a && syms[i+1] == b {
					found = true
					break
				}
			}
			if !found {
				continue
			}
			for i := 0; i+1 < len(syms); i++ {
				k := pairKey(syms[i], syms[i+1])
				if pairCount[k] -= w.freq; pairCount[k] <= 0 {
					delete(pairCount, k)
				}
			}
			out := syms[:0]
			for i := 0; i < len(syms); i++ {
				if i+1 < len(syms) && syms[i] == a && syms[i+1] == b {
					out = append(out, c)
					i++
				} else {
					out = append(out, syms[i])
				}
			}
			w.syms = out
			for i := 0; i+1 < len(out); i++ {
				k := pairKey(out[i], out[i+1])
				pairCount[k] += w.freq
				if out[i] == c || out[i+1] == c {
					if l := where[k]; len(l) == 0 || l[len(l)-1] != wi {
						where[k] = append(l, wi)
					}
					touched = append(touched, k)
				}
			}
		}
		delete(where, top.key)
		slices.Sort(touched)
		for i, k := range touched {
			if i > 0 && touched[i-1] == k {
				continue
			}
			if n := pairCount[k]; n > 0 {
				push(heapPair{n, k})
			}
		}
	}
	vocab := make(map[string]int32, len(tokStr))
	for id, s := range tokStr {
		vocab[s] = int32(id)
	}
	const byteLevelJSON = `{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":false,"use_regex":false}`
	t, err := build(buildConfig{name: "trained", vocab: vocab, merges: merges, added: added, nfc: true,
		pre:     []preStep{{split: kind}},
		rawNorm: `{"type":"NFC"}`,
		rawPre: `{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":` + jsonString(pattern) +
			`},"behavior":"Isolated","invert":false},` + byteLevelJSON + `]}`,
		rawPost: byteLevelJSON, rawDec: byteLevelJSON,
	})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	log.Info("tokenizer trained", "texts", nText, "words", len(words), "vocab", t.VocabSize(),
		"merges", len(merges), "elapsed", time.Since(start).Round(time.Millisecond))
	return t, nil
}

// splitWords is a helper for tests: the pre-tokens of s under kind.
func splitWords(s string, kind splitKind) []string {
	var out []string
	splitPieces(s, kind, func(p string) { out = append(out, strings.Clone(p)) })
	return out
}
