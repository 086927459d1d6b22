package data

import (
	"math"
	"math/rand/v2"
	"sort"
	"unicode"
	"unicode/utf8"
)

// Span is a piece of a passage's text: Text == text[Start:End] (byte
// offsets).
type Span struct {
	Start, End int
	Text       string
}

// Word is a word's byte range in a text.
type Word struct{ Start, End int }

// Words returns the words of text: maximal runs of letters, digits and
// combining marks, joined across a single apostrophe (’ or ') or hyphen
// between two such characters ("don't", "state-of-the-art"). Punctuation
// around words is not part of them.
func Words(text string) []Word {
	var ws []Word
	start := -1
	for i := 0; i < len(text); {
		r, sz := utf8.DecodeRuneInString(text[i:])
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
			i += sz
			continue
		}
		if start >= 0 && (r == '\'' || r == '’' || r == '-') && i+sz < len(text) {
			if next, _ := utf8.DecodeRuneInString(text[i+sz:]); isWordRune(next) {
				i += sz
				continue
			}
		}
		if start >= 0 {
			ws = append(ws, Word{start, i})
			start = -1
		}
		i += sz
	}
	if start >= 0 {
		ws = append(ws, Word{start, len(text)})
	}
	return ws
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// WordSpanOptions configure RandomWordSpan; zero values take the defaults.
type WordSpanOptions struct {
	P        float64 // geometric parameter, default 0.2 (SpanBERT)
	MaxWords int     // length cap in words, default 10 (SpanBERT)
}

// SpanLength draws a span length in words from SpanBERT's distribution:
// Geometric(p) on 1, 2, ... truncated to at most maxWords (drawn again while
// longer), so P(l) = p(1-p)^(l-1) / (1-(1-p)^maxWords). With p = 0.2 and
// maxWords = 10 the mean is 3.8 words.
func SpanLength(r *rand.Rand, p float64, maxWords int) int {
	if maxWords <= 1 || p >= 1 {
		return 1
	}
	// inverse CDF of the truncated geometric: exact and one draw
	q := 1 - p
	tail := 1 - math.Pow(q, float64(maxWords))
	u := r.Float64() * tail // in [0, tail)
	l := int(math.Floor(math.Log1p(-u)/math.Log(q))) + 1
	return min(max(l, 1), maxWords)
}

// RandomWordSpan picks a word-aligned span (the Random RLPT baseline,
// METHOD.md §2.4): a length l from SpanLength (capped at the number of
// words), then a uniform start word among those that fit. The span runs
// from the first word's start to the last word's end, so punctuation
// between its words is kept. ok is false when text has no word.
func RandomWordSpan(r *rand.Rand, text string, opts WordSpanOptions) (span Span, ok bool) {
	if opts.P <= 0 {
		opts.P = 0.2
	}
	if opts.MaxWords <= 0 {
		opts.MaxWords = 10
	}
	ws := Words(text)
	if len(ws) == 0 {
		return Span{}, false
	}
	l := SpanLength(r, opts.P, min(opts.MaxWords, len(ws)))
	first := r.IntN(len(ws) - l + 1)
	s, e := ws[first].Start, ws[first+l-1].End
	return Span{Start: s, End: e, Text: text[s:e]}, true
}

// RandomTruncation picks the target of Random Next-Token Reasoning: a
// uniform index t in [minPrefix, n-1]; the model sees tokens[:t] and must
// predict tokens[t]. ok is false when n <= minPrefix.
func RandomTruncation(r *rand.Rand, n, minPrefix int) (t int, ok bool) {
	minPrefix = max(minPrefix, 0)
	if n <= minPrefix {
		return 0, false
	}
	return minPrefix + r.IntN(n-minPrefix), true
}

// EntropyPosition picks the target of Entropy-based Next-Token Reasoning
// (the RPT-like baseline): among positions t >= minPrefix, rank by
// entropies[t] (the caller's per-token predictive entropy, highest first,
// ties by lower index), keep the top ceil(topFrac * count) (topFrac
// default 0.2), and pick one uniformly. The model sees tokens[:t] and
// predicts tokens[t]; everything after is truncated. ok is false when no
// position qualifies.
func EntropyPosition(r *rand.Rand, entropies []float32, topFrac float64, minPrefix int) (t int, ok bool) {
	if topFrac <= 0 || topFrac > 1 {
		topFrac = 0.2
	}
	minPrefix = max(minPrefix, 0)
	if len(entropies) <= minPrefix {
		return 0, false
	}
	idx := make([]int, 0, len(entropies)-minPrefix)
	for i := minPrefix; i < len(entropies); i++ {
		if !math.IsNaN(float64(entropies[i])) {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return 0, false
	}
	sort.SliceStable(idx, func(a, b int) bool { return entropies[idx[a]] > entropies[idx[b]] })
	k := int(math.Ceil(topFrac * float64(len(idx))))
	k = min(max(k, 1), len(idx))
	return idx[r.IntN(k)], true
}
