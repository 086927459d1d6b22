package mathverify

import (
	"math"
	"regexp"
	"strings"
)

// Tolerances of inexact (non-rational) values: |a−b| ≤ AbsTol + RelTol·max(|a|,|b|).
const (
	RelTol = 1e-6
	AbsTol = 1e-12
)

// maxElements bounds the elements of a list, set or tuple.
const maxElements = 64

var thousandsRE = regexp.MustCompile(`^[-+]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?$`)

// Equal reports whether answer and reference denote the same value under
// the rules of the package doc. It is symmetric.
func Equal(answer, reference string) bool {
	a, b := Normalize(answer), Normalize(reference)
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	if len(a) > MaxAnswerBytes || len(b) > MaxAnswerBytes {
		return false
	}
	return equalValues(parseValue(a, 0), parseValue(b, 0))
}

// EqualAny applies the multiple-boxed-answers rule to an extraction: its
// answer equals reference, or (with several boxed answers) all of them as
// one order-insensitive list do.
func EqualAny(e Extraction, reference string) bool {
	if !e.OK() {
		return false
	}
	if Equal(e.Answer, reference) {
		return true
	}
	if len(e.All) < 2 || len(e.All) > maxElements {
		return false
	}
	ref := parseValue(Normalize(reference), 0)
	if ref.kind != kindList {
		return false
	}
	got := value{kind: kindList}
	for _, s := range e.All {
		n := Normalize(s)
		if n == "" {
			return false
		}
		got.elems = append(got.elems, parseValue(n, 1))
	}
	return equalValues(got, ref)
}

type valueKind uint8

const (
	kindText   valueKind = iota
	kindNumber           // num
	kindList             // bare comma list or set: unordered
	kindSeq              // bracketed tuple or interval: ordered, brackets matter
	kindUnion            // A \cup B: unordered parts
)

type value struct {
	kind        valueKind
	text        string
	num         num
	open, close byte
	elems       []value
}

// parseValue reads a normalised answer as a structured value.
func parseValue(s string, depth int) value {
	if depth > 8 || s == "" {
		return value{text: strings.ToLower(s)}
	}
	if parts := splitTop(s, `\cup`); len(parts) > 1 && len(parts) <= maxElements {
		v := value{kind: kindUnion}
		for _, p := range parts {
			v.elems = append(v.elems, parseValue(p, depth+1))
		}
		return v
	}
	if strings.HasPrefix(s, `\{`) && strings.HasSuffix(s, `\}`) && len(s) >= 4 && closes(s, 1, len(s)-1) {
		return list(s[2:len(s)-2], depth)
	}
	if thousandsRE.MatchString(s) {
		if n, ok := evalNumber(strings.ReplaceAll(s, ",", "")); ok {
			return value{kind: kindNumber, num: n}
		}
	}
	if o, c := s[0], s[len(s)-1]; (o == '(' || o == '[') && (c == ')' || c == ']') && closes(s, 0, len(s)-1) {
		inner := s[1 : len(s)-1]
		if parts := splitTop(inner, ","); len(parts) > 1 && len(parts) <= maxElements {
			v := value{kind: kindSeq, open: o, close: c}
			for _, p := range parts {
				v.elems = append(v.elems, parseValue(p, depth+1))
			}
			return v
		}
		if o == '(' && c == ')' { // "(5)", "(C)": the parentheses mean nothing
			return parseValue(inner, depth+1)
		}
	}
	if parts := splitTop(s, ","); len(parts) > 1 {
		return list(s, depth)
	}
	if n, ok := evalNumber(s); ok {
		return value{kind: kindNumber, num: n}
	}
	return value{text: strings.ToLower(s)}
}

func list(s string, depth int) value {
	parts := splitTop(s, ",")
	v := value{kind: kindList}
	if len(parts) > maxElements {
		return value{text: strings.ToLower(s)}
	}
	for _, p := range parts {
		v.elems = append(v.elems, parseValue(p, depth+1))
	}
	return v
}

// closes reports whether the bracket at s[open] is matched by s[end]
// (brackets of any kind counted together, since intervals mix them).
func closes(s string, open, end int) bool {
	depth := 0
	for j := open; j <= end; j++ {
		switch s[j] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
			if depth == 0 {
				return j == end
			}
		}
	}
	return false
}

// splitTop splits s at sep outside brackets.
func splitTop(s, sep string) []string {
	var parts []string
	depth, last := 0, 0
	for j := 0; j < len(s); j++ {
		switch s[j] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		}
		if depth == 0 && strings.HasPrefix(s[j:], sep) {
			parts = append(parts, s[last:j])
			last = j + len(sep)
			j += len(sep) - 1
		}
	}
	return append(parts, s[last:])
}

func equalValues(a, b value) bool {
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case kindNumber:
		return a.num.equal(b.num)
	case kindSeq:
		if a.open != b.open || a.close != b.close || len(a.elems) != len(b.elems) {
			return false
		}
		for i := range a.elems {
			if !equalValues(a.elems[i], b.elems[i]) {
				return false
			}
		}
		return true
	case kindList, kindUnion:
		return sameMultiset(a.elems, b.elems)
	}
	return a.text == b.text
}

// sameMultiset matches a's elements to b's one to one (greedy suffices:
// equality is an equivalence up to tolerance).
func sameMultiset(a, b []value) bool {
	if len(a) != len(b) {
		return false
	}
	used := make([]bool, len(b))
outer:
	for _, x := range a {
		for j, y := range b {
			if !used[j] && equalValues(x, y) {
				used[j] = true
				continue outer
			}
		}
		return false
	}
	return true
}

func (a num) equal(b num) bool {
	if a.r != nil && b.r != nil {
		return a.r.Cmp(b.r) == 0
	}
	x, y := a.float(), b.float()
	if math.IsInf(x, 0) || math.IsInf(y, 0) {
		return x == y
	}
	if math.IsNaN(x) || math.IsNaN(y) {
		return false
	}
	return math.Abs(x-y) <= AbsTol+RelTol*math.Max(math.Abs(x), math.Abs(y))
}
