package task

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Verdict is the verifier's judgement of one prediction completion.
type Verdict struct {
	Answer     string       // content of the last \boxed{...}, untrimmed; "" when not parsed
	Parsed     bool         // a closed \boxed{...} was found
	Failure    ParseFailure // why not, when !Parsed
	Strict     bool         // answer == target after trimming whitespace at both ends
	Normalised bool         // equal after case folding, dropping punctuation and symbols, collapsing whitespace
}

// Correct is the verdict used for the reward: Strict, or Normalised when
// normalised is set.
func (v Verdict) Correct(normalised bool) bool {
	if normalised {
		return v.Normalised
	}
	return v.Strict
}

// Verify parses the last \boxed{...} of a prediction completion and compares
// it with target (the masked span). It does not allocate.
func Verify(completion, target string) Verdict {
	ans, ok, why := ParseLastCommand(completion, BoxedCommand)
	if !ok {
		return Verdict{Failure: why}
	}
	return VerifyAnswer(ans, target)
}

// VerifyAnswer compares an already extracted answer with target.
func VerifyAnswer(answer, target string) Verdict {
	return Verdict{
		Answer:     answer,
		Parsed:     true,
		Strict:     strings.TrimSpace(answer) == strings.TrimSpace(target),
		Normalised: NormalisedEqual(answer, target),
	}
}

// NormalisedEqual compares a and b after normalisation: Unicode simple case
// folding, punctuation and symbol runes removed (so "U.S." equals "us"),
// runs of whitespace collapsed to one space and trimmed at both ends. Invalid
// UTF-8 bytes compare as U+FFFD. It does not allocate.
func NormalisedEqual(a, b string) bool {
	ca, cb := normCursor{s: a}, normCursor{s: b}
	for {
		ra, oka := ca.next()
		rb, okb := cb.next()
		if oka != okb {
			return false
		}
		if !oka {
			return true
		}
		if ra != rb && !sameFold(ra, rb) {
			return false
		}
	}
}

// Normalise returns the normalised form NormalisedEqual compares (for logs
// and statistics; it allocates).
func Normalise(s string) string {
	var b strings.Builder
	c := normCursor{s: s}
	for {
		r, ok := c.next()
		if !ok {
			return b.String()
		}
		b.WriteRune(unicode.ToLower(r))
	}
}

func sameFold(a, b rune) bool {
	return unicode.ToLower(a) == unicode.ToLower(b) || unicode.ToUpper(a) == unicode.ToUpper(b)
}

type normCursor struct {
	s       string
	i       int
	emitted bool // a non-space rune has been returned
}

func ignorable(r rune) bool {
	if r < utf8.RuneSelf {
		return ('!' <= r && r <= '/') || (':' <= r && r <= '@') || ('[' <= r && r <= '`') || ('{' <= r && r <= '~')
	}
	return unicode.IsPunct(r) || unicode.IsSymbol(r)
}

func isSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || ('\t' <= r && r <= '\r')
	}
	return unicode.IsSpace(r)
}

// next returns the next normalised rune: a space only between two kept
// runes.
func (c *normCursor) next() (rune, bool) {
	sawSpace := false
	for c.i < len(c.s) {
		r, sz := rune(c.s[c.i]), 1
		if r >= utf8.RuneSelf {
			r, sz = utf8.DecodeRuneInString(c.s[c.i:])
		}
		switch {
		case isSpace(r):
			sawSpace = true
			c.i += sz
		case ignorable(r):
			c.i += sz
		default:
			if sawSpace && c.emitted {
				return ' ', true // c.i stays on r, returned next time
			}
			c.i += sz
			c.emitted = true
			return r, true
		}
	}
	return 0, false
}

// PrefixMatch is RPT's prefix-matching reward for next-token prediction
// (METHOD.md §8.1): the answer's bytes must equal the first l bytes of the
// ground-truth continuation and l must be one of the cumulative byte lengths
// at its token boundaries (boundaries, ascending, e.g. [3, 7, 8] for tokens
// of 3, 4 and 1 bytes). The answer is taken as is: RPT's tokens may begin
// with a space.
func PrefixMatch(answer, continuation string, boundaries []int) bool {
	l := len(answer)
	if l == 0 || l > len(continuation) || continuation[:l] != answer {
		return false
	}
	for _, b := range boundaries {
		if b == l {
			return true
		}
		if b > l {
			break
		}
	}
	return false
}
