// Package stopwords holds pz's committed English stop-word list: the
// function words a mask generator may not propose on their own when the
// content-word guard is on (see orchestrator/task.MaskOptions).
//
// The list (english.txt, lower case, one word per line, sorted) was written
// for pz: articles, pronouns, prepositions, conjunctions, auxiliary and modal
// verbs and a few frequent adverbs. It deliberately leaves out numbers and
// content-bearing words such as "first", "new" or "war".
package stopwords

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

//go:embed english.txt
var englishText string

// Set is an immutable set of lower-case stop words.
type Set struct {
	words map[string]struct{}
}

// New builds a set from words; they are lower-cased.
func New(words []string) *Set {
	s := &Set{words: make(map[string]struct{}, len(words))}
	for _, w := range words {
		w = strings.TrimSpace(w)
		if w != "" {
			s.words[strings.ToLower(w)] = struct{}{}
		}
	}
	return s
}

var english = sync.OnceValue(func() *Set { return New(strings.Split(englishText, "\n")) })

// English returns the committed English list (built once, shared, read-only).
func English() *Set { return english() }

// Len is the number of words in the set.
func (s *Set) Len() int { return len(s.words) }

// Contains reports whether word is a stop word. Matching is case-insensitive;
// it does not allocate for ASCII words of up to 32 bytes.
func (s *Set) Contains(word string) bool {
	if s == nil {
		return false
	}
	var buf [32]byte
	if len(word) <= len(buf) {
		ascii := true
		for i := 0; i < len(word); i++ {
			c := word[i]
			if c >= utf8.RuneSelf {
				ascii = false
				break
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf[i] = c
		}
		if ascii {
			_, ok := s.words[string(buf[:len(word)])]
			return ok
		}
	}
	_, ok := s.words[strings.ToLower(word)]
	return ok
}

// Words returns the set's words, unsorted.
func (s *Set) Words() []string {
	out := make([]string, 0, len(s.words))
	for w := range s.words {
		out = append(out, w)
	}
	return out
}

// IsWordRune reports whether r is part of a word: a letter, a digit or a
// combining mark.
func IsWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// EachWord calls fn with every word of text: maximal runs of word runes,
// joined across a single apostrophe (' or ’) or hyphen between two word
// runes ("don't", "state-of-the-art"). It stops early when fn returns false.
func EachWord(text string, fn func(word string) bool) {
	start := -1
	for i := 0; i < len(text); {
		r, sz := utf8.DecodeRuneInString(text[i:])
		if IsWordRune(r) {
			if start < 0 {
				start = i
			}
			i += sz
			continue
		}
		if start >= 0 && (r == '\'' || r == '’' || r == '-') && i+sz < len(text) {
			if next, _ := utf8.DecodeRuneInString(text[i+sz:]); IsWordRune(next) {
				i += sz
				continue
			}
		}
		if start >= 0 {
			if !fn(text[start:i]) {
				return
			}
			start = -1
		}
		i += sz
	}
	if start >= 0 {
		fn(text[start:])
	}
}

// CountWords is the number of words EachWord finds in text.
func CountWords(text string) int {
	n := 0
	EachWord(text, func(string) bool { n++; return true })
	return n
}

// OnlyStopWords reports whether text has no content word: every word is in
// s, or there is no word at all (whitespace or punctuation only).
func (s *Set) OnlyStopWords(text string) bool {
	only := true
	EachWord(text, func(w string) bool {
		if !s.Contains(w) {
			only = false
			return false
		}
		return true
	})
	return only
}
