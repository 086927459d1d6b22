package data

import (
	"strings"
	"unicode/utf8"
)

// BudgetOptions bound a passage's length, in tokens when Tokenizer is set,
// else in characters (runes).
type BudgetOptions struct {
	Min, Max int // defaults: 200/4000 characters, or 64/1024 tokens
	// Tokenizer, when set, makes the budgets token counts and fills
	// Passage.NTokens.
	Tokenizer TokenCounter
	// Pack joins consecutive paragraphs of one document record that are
	// under Min (with a blank line between them) while the result fits Max.
	// Streamed plain-text files are not packed.
	Pack bool
}

func (b BudgetOptions) withDefaults() BudgetOptions {
	if b.Tokenizer != nil {
		if b.Min == 0 {
			b.Min = 64
		}
		if b.Max == 0 {
			b.Max = 1024
		}
	} else {
		if b.Min == 0 {
			b.Min = 200
		}
		if b.Max == 0 {
			b.Max = 4000
		}
	}
	if b.Min < 0 {
		b.Min = 0
	}
	return b
}

// Unit is "tokens" or "chars".
func (b BudgetOptions) Unit() string {
	if b.Tokenizer != nil {
		return "tokens"
	}
	return "chars"
}

func (b BudgetOptions) length(s string) int {
	if b.Tokenizer != nil {
		return len(b.Tokenizer.Encode(s))
	}
	return utf8.RuneCountInString(s)
}

// splitToBudget splits a normalised paragraph longer than max into pieces
// of at most max units, at sentence ends where possible, else at spaces,
// else inside a word at a rune boundary. Pieces are balanced: with k =
// ceil(length/max) pieces needed, each aims at length/k, so a paragraph
// just over the budget gives two halves rather than a full piece and a
// scrap. Token lengths of the pieces are estimated as the sum of their
// units' lengths; the caller re-measures.
func splitToBudget(text string, b BudgetOptions) []string {
	units := sentences(text)
	total := b.length(text)
	k := (total + b.Max - 1) / b.Max
	target := (total + k - 1) / max(k, 1)
	var pieces []string
	var cur strings.Builder
	curLen := 0
	emit := func() {
		if cur.Len() > 0 {
			pieces = append(pieces, cur.String())
			cur.Reset()
			curLen = 0
		}
	}
	var add func(u string, depth int)
	add = func(u string, depth int) {
		l := b.length(u)
		sep := 0 // a joining space: one character, no token of its own (estimate)
		if cur.Len() > 0 && b.Tokenizer == nil {
			sep = 1
		}
		// take the unit while it fits and its middle is within the target
		if curLen+sep+l <= b.Max && (cur.Len() == 0 || 2*(curLen+sep)+l <= 2*target) {
			if cur.Len() > 0 {
				cur.WriteByte(' ')
			}
			cur.WriteString(u)
			curLen += sep + l
			return
		}
		emit()
		if l <= b.Max {
			cur.WriteString(u)
			curLen = l
			return
		}
		// one unit over budget: words, then raw runes
		if depth == 0 && strings.Contains(u, " ") {
			for w := range strings.SplitSeq(u, " ") {
				add(w, 1)
			}
			return
		}
		for len(u) > 0 {
			cut := hardCut(u, b)
			add(u[:cut], 2)
			u = u[cut:]
		}
	}
	for _, u := range units {
		add(u, 0)
	}
	emit()
	return pieces
}

// hardCut returns the longest prefix length (at a rune boundary, at least
// one rune) of u that fits the budget: the Max-th rune for characters; for
// tokens, galloping from Max runes (doubling while the prefix fits, up to
// 32*Max runes) and then bisecting, so cutting a huge unbreakable string
// costs O(window log window) per piece, never O(len(u)).
func hardCut(u string, b BudgetOptions) int {
	runeEnd := func(k int) int { // byte length of the first k runes (k >= 1)
		n := 0
		for i := range u {
			if n == k {
				return i
			}
			n++
		}
		return len(u)
	}
	if b.Tokenizer == nil {
		return runeEnd(b.Max)
	}
	fits := func(k int) bool { return b.length(u[:runeEnd(k)]) <= b.Max }
	lo, hi := 1, max(b.Max, 1) // lo fits (a single rune is always taken), hi is the next probe
	for hi <= 32*b.Max && fits(hi) {
		if runeEnd(hi) == len(u) {
			return len(u)
		}
		lo, hi = hi, 2*hi
	}
	// invariant: lo runes fit (or lo == 1), hi runes do not
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if fits(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return runeEnd(lo)
}

// sentences splits normalised text after '.', '!' or '?' (optionally
// followed by closing quotes or brackets) and a space.
func sentences(text string) []string {
	var out []string
	start := 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c != '.' && c != '!' && c != '?' {
			continue
		}
		j := i + 1
		for j < len(text) && (text[j] == '"' || text[j] == '\'' || text[j] == ')') {
			j++
		}
		if j < len(text) && text[j] == ' ' {
			out = append(out, text[start:j])
			start = j + 1
			i = j
		}
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}
