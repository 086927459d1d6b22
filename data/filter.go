package data

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Drop reasons, the keys of Stats.Drops. Each dropped document or passage
// is counted under exactly one reason, the first that applies in this
// order.
const (
	DropBadRecord     = "bad_record"       // undecodable JSONL line (with SkipBadFiles; else an error)
	DropDocTooLarge   = "doc_too_large"    // record over ReadOptions.MaxDocBytes
	DropInvalidUTF8   = "invalid_utf8"     // text or title is not valid UTF-8
	DropEmpty         = "empty"            // no text at all
	DropBoilerplate   = "boilerplate"      // most lines repeat elsewhere in the document
	DropList          = "list"             // mostly bullet/numbered list lines
	DropTable         = "table"            // table rows (pipes, tabs, wiki table markup)
	DropMarkup        = "markup"           // wiki or HTML markup residue
	DropReference     = "reference"        // citations, URLs, "Retrieved", ISBN/doi residue
	DropTooShort      = "too_short"        // under the min budget
	DropTooLong       = "too_long"         // over the max budget after splitting
	DropFewWords      = "few_words"        // fewer than MinWords words
	DropLetterRatio   = "low_letter_ratio" // letters / non-space characters below MinLetterRatio
	DropLanguage      = "language"         // not the target language (cheap script/stop-word check)
	DropDuplicate     = "duplicate"        // exact duplicate (after case and whitespace folding)
	DropNearDuplicate = "near_duplicate"   // MinHash/LSH near duplicate (option)
)

// DropReasons lists every drop reason, in the order they are checked.
func DropReasons() []string {
	return []string{DropBadRecord, DropDocTooLarge, DropInvalidUTF8, DropEmpty, DropBoilerplate, DropList, DropTable,
		DropMarkup, DropReference, DropTooShort, DropTooLong, DropFewWords, DropLetterRatio, DropLanguage,
		DropDuplicate, DropNearDuplicate}
}

// FilterOptions are the quality filters. Zero values take the defaults
// given; negative values switch a numeric filter off.
type FilterOptions struct {
	MinWords       int     // default 20
	MinLetterRatio float64 // default 0.6
	// Lang is the target language: "en" (default) checks that >= 80% of
	// letters are Latin and >= 5% of words are common English function
	// words; "none" switches the check off; any other value checks only
	// nothing (no cheap detector).
	Lang string
	// KeepMarkup switches off the boilerplate/list/table/markup/reference
	// residue filters.
	KeepMarkup bool
}

func (f FilterOptions) withDefaults() FilterOptions {
	if f.MinWords == 0 {
		f.MinWords = 20
	}
	if f.MinLetterRatio == 0 {
		f.MinLetterRatio = 0.6
	}
	if f.Lang == "" {
		f.Lang = "en"
	}
	return f
}

var bulletPrefixes = []string{"* ", "- ", "• ", "# ", "+ ", "· ", "– "}

func isListLine(l string) bool {
	l = strings.TrimSpace(l)
	for _, p := range bulletPrefixes {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	// "1. ", "2) ", "iv. " style numbering
	i := 0
	for i < len(l) && i < 4 && l[i] >= '0' && l[i] <= '9' {
		i++
	}
	return i > 0 && i+1 < len(l) && (l[i] == '.' || l[i] == ')') && l[i+1] == ' '
}

func isTableLine(l string) bool {
	t := strings.TrimSpace(l)
	if strings.HasPrefix(t, "{|") || strings.HasPrefix(t, "|-") || strings.HasPrefix(t, "|}") || strings.HasPrefix(t, "!") && strings.Contains(t, "!!") {
		return true
	}
	return strings.Count(t, "|") >= 2 || strings.Count(t, "\t") >= 2
}

// residue classifies raw paragraph lines by markup residue; "" if clean.
// counts gives how often each line occurs in the whole document.
func residue(lines []string, counts map[string]int) string {
	if counts != nil {
		rep := 0
		for _, l := range lines {
			if counts[strings.TrimSpace(l)] >= 2 {
				rep++
			}
		}
		if 2*rep >= len(lines) && rep > 0 {
			return DropBoilerplate
		}
	}
	list, table := 0, 0
	for _, l := range lines {
		if isListLine(l) {
			list++
		}
		if isTableLine(l) {
			table++
		}
	}
	if 2*list >= len(lines) && list > 0 {
		return DropList
	}
	if 2*table >= len(lines) && table > 0 {
		return DropTable
	}
	text := strings.Join(lines, "\n")
	if hasMarkup(text) {
		return DropMarkup
	}
	if hasReference(text) {
		return DropReference
	}
	return ""
}

var markupTokens = []string{"[[", "]]", "{{", "}}", "''", "&nbsp;", "&amp;", "&lt;", "&gt;", "&quot;", "==", "__TOC__", "<!--"}

func hasMarkup(s string) bool {
	for _, t := range markupTokens {
		if strings.Contains(s, t) {
			return true
		}
	}
	// an HTML/XML tag: '<' followed by a letter or '/' and a later '>'
	for i := strings.IndexByte(s, '<'); i >= 0 && i+1 < len(s); {
		c := s[i+1]
		if c == '/' || (c|0x20 >= 'a' && c|0x20 <= 'z') {
			if j := strings.IndexByte(s[i:], '>'); j > 0 && j < 200 && !strings.ContainsAny(s[i+1:i+j], "<") {
				return true
			}
		}
		k := strings.IndexByte(s[i+1:], '<')
		if k < 0 {
			break
		}
		i += k + 1
	}
	return false
}

var referenceTokens = []string{"http://", "https://", "www.", "Retrieved ", "ISBN:", "ISBN 978", "doi:", "DOI:", "Archived from", "(PDF)"}

func hasReference(s string) bool {
	for _, t := range referenceTokens {
		if strings.Contains(s, t) {
			return true
		}
	}
	if strings.HasPrefix(strings.TrimSpace(s), "^") {
		return true
	}
	// two or more numeric citation markers like [1] or [23]
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '[' {
			continue
		}
		j := i + 1
		for j < len(s) && j-i <= 4 && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j > i+1 && j < len(s) && s[j] == ']' {
			n++
		}
	}
	return n >= 2
}

var englishFunctionWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields("the of and to in a is was for on that with as by at from his her it an are were be which this or has had not but their its he she they also have been who one first") {
		m[w] = true
	}
	return m
}()

func isTrimPunct(c byte) bool {
	switch c {
	case '.', ',', ';', ':', '!', '?', '"', '\'', '(', ')':
		return true
	}
	return false
}

// isFunctionWord reports a common English function word, ignoring case
// and surrounding punctuation, without allocating.
func isFunctionWord(w string) bool {
	for len(w) > 0 && isTrimPunct(w[0]) {
		w = w[1:]
	}
	for len(w) > 0 && isTrimPunct(w[len(w)-1]) {
		w = w[:len(w)-1]
	}
	if len(w) > 5 || len(w) == 0 {
		return false
	}
	var buf [5]byte
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return englishFunctionWords[string(buf[:len(w)])]
}

// qualityDrop applies the text filters to a normalised passage text; "" if
// it passes. One pass over the text, with an ASCII fast path.
func qualityDrop(text string, f FilterOptions) string {
	letters, nonSpace, latin := 0, 0, 0
	words, function := 0, 0
	wordStart, hasAlnum := -1, false
	endWord := func(end int) {
		if wordStart >= 0 && hasAlnum {
			words++
			if f.Lang == "en" && isFunctionWord(text[wordStart:end]) {
				function++
			}
		}
		wordStart, hasAlnum = -1, false
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			i++
			if c == ' ' {
				endWord(i - 1)
				continue
			}
			if wordStart < 0 {
				wordStart = i - 1
			}
			nonSpace++
			if c|0x20 >= 'a' && c|0x20 <= 'z' {
				letters++
				latin++
				hasAlnum = true
			} else if c >= '0' && c <= '9' {
				hasAlnum = true
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		if unicode.IsSpace(r) { // Normalize leaves only ' ', but be safe
			endWord(i - size)
			continue
		}
		if wordStart < 0 {
			wordStart = i - size
		}
		nonSpace++
		if unicode.IsLetter(r) {
			letters++
			hasAlnum = true
			if unicode.Is(unicode.Latin, r) {
				latin++
			}
		} else if unicode.IsDigit(r) {
			hasAlnum = true
		}
	}
	endWord(len(text))
	if f.MinWords > 0 && words < f.MinWords {
		return DropFewWords
	}
	if f.MinLetterRatio > 0 && (nonSpace == 0 || float64(letters) < f.MinLetterRatio*float64(nonSpace)) {
		return DropLetterRatio
	}
	if f.Lang == "en" {
		if letters == 0 || float64(latin) < 0.8*float64(letters) {
			return DropLanguage
		}
		if words >= 20 && float64(function) < 0.05*float64(words) {
			return DropLanguage
		}
	}
	return ""
}

// dedupKey is the exact-duplicate key: FNV-1a 64 of the text with letters
// lower-cased (Unicode simple case folding by unicode.ToLower), computed
// without allocating.
func dedupKey(text string) uint64 {
	h := uint64(14695981039346656037)
	var buf [utf8.UTFMax]byte
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			h ^= uint64(c)
			h *= 1099511628211
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		n := utf8.EncodeRune(buf[:], unicode.ToLower(r))
		for _, b := range buf[:n] {
			h ^= uint64(b)
			h *= 1099511628211
		}
	}
	return h
}
