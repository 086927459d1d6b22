package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// Regular expressions of the Split pre-tokenizers this package implements by
// hand (Go's regexp has no lookahead, and a backtracking engine is slow).
const (
	// PatternQwen2 is the Qwen2/Qwen3 split regex: digits one at a time.
	PatternQwen2 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// PatternLlama3 is Llama-3's: the same with runs of up to three digits.
	PatternLlama3 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// PatternGPT2 is GPT-2's, used by ByteLevel with use_regex true.
	PatternGPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
)

// splitKind selects one of the hand-written regex matchers.
type splitKind uint8

const (
	splitQwen2 splitKind = iota + 1
	splitLlama3
	splitGPT2
)

func patternKind(p string) (splitKind, bool) {
	switch p {
	case PatternQwen2:
		return splitQwen2, true
	case PatternLlama3:
		return splitLlama3, true
	case PatternGPT2:
		return splitGPT2, true
	}
	return 0, false
}

// Character classes for ASCII, indexed by byte.
const (
	clsOther  = 0 // punctuation, symbols, controls that are not \s
	clsLetter = 1
	clsNumber = 2
	clsSpace  = 3
)

var asciiClass = func() (t [128]uint8) {
	for c := 0; c < 128; c++ {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			t[c] = clsLetter
		case c >= '0' && c <= '9':
			t[c] = clsNumber
		case c == ' ', c >= '\t' && c <= '\r':
			t[c] = clsSpace
		}
	}
	return t
}()

// classOf returns the class of r: \p{L}, \p{N}, \s (Unicode White_Space, as
// Oniguruma has it, which is unicode.IsSpace) or other. Letters and numbers
// are Unicode 16's, as in Hugging Face's build: Go's tables (Unicode 15.0)
// plus extraLetters and extraNumbers (unicode16.go).
func classOf(r rune) uint8 {
	if r < utf8.RuneSelf {
		return asciiClass[r]
	}
	switch {
	case unicode.IsLetter(r):
		return clsLetter
	case unicode.IsNumber(r):
		return clsNumber
	case unicode.IsSpace(r):
		return clsSpace
	case unicode.Is(extraLetters, r):
		return clsLetter
	case unicode.Is(extraNumbers, r):
		return clsNumber
	}
	return clsOther
}

// at decodes the rune at byte offset i of s with its class and size.
func at(s string, i int) (r rune, cls uint8, size int) {
	c := s[i]
	if c < utf8.RuneSelf {
		return rune(c), asciiClass[c], 1
	}
	r, size = utf8.DecodeRuneInString(s[i:])
	return r, classOf(r), size
}

// runEnd returns the end of the run of class cls starting at i.
func runEnd(s string, i int, cls uint8) int {
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if asciiClass[c] != cls {
				return i
			}
			i++
			continue
		}
		_, k, n := at(s, i)
		if k != cls {
			return i
		}
		i += n
	}
	return i
}

// contraction reports the length of a contraction ('s 't 're 've 'm 'll 'd)
// at s[i] (an apostrophe), 0 if none. fold makes it case-insensitive with
// Unicode simple case folding (ſ folds to s, as in Oniguruma).
func contraction(s string, i int, fold bool) int {
	j := i + 1
	if j >= len(s) {
		return 0
	}
	r, n := utf8.DecodeRuneInString(s[j:])
	lower := func(r rune) rune {
		if !fold {
			return r
		}
		if r == 'ſ' {
			return 's'
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		if r == 'K' { // KELVIN SIGN folds to k; no contraction uses k
			return 'k'
		}
		return r
	}
	switch lower(r) {
	case 's', 't', 'm', 'd':
		return 1 + n
	case 'r', 'v', 'l':
		want := 'e'
		if lower(r) == 'l' {
			want = 'l'
		}
		if j+n < len(s) {
			r2, n2 := utf8.DecodeRuneInString(s[j+n:])
			if lower(r2) == want {
				return 1 + n + n2
			}
		}
	}
	return 0
}

// splitPieces calls emit for each piece of s, in order, as the Split
// pre-tokenizer with behavior Isolated does with the regex of kind. Every
// position of s starts a match for these regexes, so pieces tile s.
func splitPieces(s string, kind splitKind, emit func(piece string)) {
	for i := 0; i < len(s); {
		n := matchAt(s, i, kind)
		emit(s[i : i+n])
		i += n
	}
}

// matchAt returns the length of the regex match that starts at i.
func matchAt(s string, i int, kind splitKind) int {
	if kind == splitGPT2 {
		return matchGPT2(s, i)
	}
	r, cls, size := at(s, i)
	// (?i:'s|'t|'re|'ve|'m|'ll|'d)
	if r == '\'' {
		if n := contraction(s, i, true); n > 0 {
			return n
		}
	}
	switch cls {
	case clsLetter:
		// \p{L}+
		return runEnd(s, i, clsLetter) - i
	case clsNumber:
		// \p{N} or \p{N}{1,3}
		if kind == splitLlama3 {
			j := i + size
			for k := 1; k < 3 && j < len(s); k++ {
				_, c2, n2 := at(s, j)
				if c2 != clsNumber {
					break
				}
				j += n2
			}
			return j - i
		}
		return size
	}
	// [^\r\n\p{L}\p{N}]?\p{L}+ with the optional char present.
	if r != '\r' && r != '\n' && i+size < len(s) {
		if _, c2, _ := at(s, i+size); c2 == clsLetter {
			return runEnd(s, i+size, clsLetter) - i
		}
	}
	//  ?[^\s\p{L}\p{N}]+[\r\n]*
	j := i
	if r == ' ' && i+1 < len(s) {
		if _, c2, _ := at(s, i+1); c2 == clsOther {
			j = i + 1
		}
	}
	if _, c, _ := at(s, j); c == clsOther {
		j = runEnd(s, j, clsOther)
		for j < len(s) && (s[j] == '\r' || s[j] == '\n') {
			j++
		}
		return j - i
	}
	// Here s[i] is whitespace.
	return matchSpace(s, i, true)
}

// matchSpace matches a whitespace run at i (s[i] is \s) with
// \s*[\r\n]+ (when crlf), then \s+(?!\S), then \s+.
func matchSpace(s string, i int, crlf bool) int {
	end := runEnd(s, i, clsSpace)
	if crlf {
		// \s*[\r\n]+: up to and including the last CR/LF of the run.
		for k := end - 1; k >= i; k-- {
			if s[k] == '\r' || s[k] == '\n' {
				return k + 1 - i
			}
		}
	}
	if end == len(s) {
		return end - i // \s+(?!\S) at the end of text
	}
	// \s+(?!\S): give back the last whitespace char.
	_, lastSize := utf8.DecodeLastRuneInString(s[i:end])
	if end-lastSize > i {
		return end - lastSize - i
	}
	return end - i // \s+
}

// matchGPT2 matches 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+.
func matchGPT2(s string, i int) int {
	r, cls, _ := at(s, i)
	if r == '\'' {
		if n := contraction(s, i, false); n > 0 {
			return n
		}
	}
	j := i
	if r == ' ' && i+1 < len(s) {
		j = i + 1
		_, cls, _ = at(s, j)
	}
	switch cls {
	case clsLetter, clsNumber, clsOther:
		return runEnd(s, j, cls) - i
	}
	return matchSpace(s, i, false)
}
