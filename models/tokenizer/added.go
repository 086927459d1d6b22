package tokenizer

import (
	"sort"
	"unicode"
	"unicode/utf8"
)

// addedMatcher finds added tokens leftmost-longest, non-overlapping, as
// Hugging Face's Aho-Corasick (MatchKind::LeftmostLongest) does, then applies
// single_word, lstrip and rstrip like its AddedVocabulary.
type addedMatcher struct {
	byFirst [256][]int // indices into toks starting with that byte, longest first
	toks    []AddedToken
}

func newAddedMatcher(toks []AddedToken) *addedMatcher {
	if len(toks) == 0 {
		return nil
	}
	m := &addedMatcher{toks: toks}
	for i, a := range toks {
		if a.Content == "" {
			continue
		}
		m.byFirst[a.Content[0]] = append(m.byFirst[a.Content[0]], i)
	}
	for b := range m.byFirst {
		l := m.byFirst[b]
		sort.SliceStable(l, func(i, j int) bool { return len(toks[l[i]].Content) > len(toks[l[j]].Content) })
	}
	return m
}

// next returns the leftmost-longest match at or after from: its start, end
// and token index, or start -1.
func (m *addedMatcher) next(s string, from int) (int, int, int) {
	for p := from; p < len(s); p++ {
		for _, ti := range m.byFirst[s[p]] {
			c := m.toks[ti].Content
			if len(c) <= len(s)-p && s[p:p+len(c)] == c {
				return p, p + len(c), ti
			}
		}
	}
	return -1, -1, -1
}

// split calls fn for each text segment (id -1) and matched token (its id),
// in order. A nil matcher passes s through whole.
func (m *addedMatcher) split(s string, fn func(seg string, id int32)) {
	if m == nil {
		if s != "" {
			fn(s, -1)
		}
		return
	}
	startOffset := 0
	for from := 0; from < len(s); {
		start, stop, ti := m.next(s, from)
		if start < 0 {
			break
		}
		from = stop
		if start < startOffset {
			continue // overlapped by a previous rstrip
		}
		a := m.toks[ti]
		if a.SingleWord {
			startSpace := start == 0 || !endsWithWord(s[:start])
			stopSpace := stop == len(s) || !startsWithWord(s[stop:])
			if !startSpace || !stopSpace {
				continue
			}
		}
		if a.LStrip {
			ns := start
			for ns > 0 {
				r, n := utf8.DecodeLastRuneInString(s[:ns])
				if !unicode.IsSpace(r) {
					break
				}
				ns -= n
			}
			start = max(ns, startOffset)
		}
		if a.RStrip {
			for stop < len(s) {
				r, n := utf8.DecodeRuneInString(s[stop:])
				if !unicode.IsSpace(r) {
					break
				}
				stop += n
			}
			from = max(from, stop)
		}
		if startOffset < start {
			fn(s[startOffset:start], -1)
		}
		fn(s[start:stop], a.ID)
		startOffset = stop
	}
	if startOffset < len(s) {
		fn(s[startOffset:], -1)
	}
}

func isWordChar(r rune) bool {
	return classOf(r) == clsLetter || classOf(r) == clsNumber || unicode.IsMark(r) || unicode.Is(unicode.Pc, r) || r == 0x200C || r == 0x200D
}

func endsWithWord(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return isWordChar(r)
}

func startsWithWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return isWordChar(r)
}
