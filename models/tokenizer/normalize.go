package tokenizer

import (
	"slices"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// nfc returns the NFC form of s as Rust's unicode-normalization (which
// Hugging Face uses) computes it. x/text's norm follows the Stream-Safe Text
// Format and inserts U+034F after 30 non-starters in a row; Hugging Face does
// not, so such text is composed by the plain algorithm of UAX #15 instead.
func nfc(s string) string {
	if isASCII(s) || norm.NFC.IsNormalString(s) {
		return s
	}
	out := norm.NFC.String(s)
	if strings.Count(out, "\u034f") == strings.Count(s, "\u034f") {
		return out
	}
	return plainNFC(s)
}

// plainNFC is canonical decomposition, canonical ordering and canonical
// composition without any limit on runs of non-starters.
func plainNFC(s string) string {
	// Decompose one character at a time (no long runs, so no U+034F).
	var d []rune
	for _, r := range s {
		d = append(d, []rune(norm.NFD.String(string(r)))...)
	}
	ccc := func(r rune) uint8 { return norm.NFD.PropertiesString(string(r)).CCC() }
	// Canonical ordering: stable sort of each run of non-starters by class.
	for i := 0; i < len(d); {
		if ccc(d[i]) == 0 {
			i++
			continue
		}
		j := i
		for j < len(d) && ccc(d[j]) != 0 {
			j++
		}
		slices.SortStableFunc(d[i:j], func(a, b rune) int { return int(ccc(a)) - int(ccc(b)) })
		i = j
	}
	// Canonical composition.
	out := make([]rune, 0, len(d))
	starter, last := -1, -1 // index of the last starter in out; class of the last char after it (-1: none)
	for _, c := range d {
		cc := int(ccc(c))
		if starter >= 0 && (last == -1 || (last < cc && cc != 0)) {
			if p, ok := composePair(out[starter], c); ok {
				out[starter] = p
				continue
			}
		}
		if cc == 0 {
			starter, last = len(out), -1
		} else {
			last = cc
		}
		out = append(out, c)
	}
	return string(out)
}

// composePair returns the primary composite of a and b, if there is one.
func composePair(a, b rune) (rune, bool) {
	r := []rune(norm.NFC.String(string([]rune{a, b})))
	if len(r) == 1 {
		return r[0], true
	}
	return 0, false
}
