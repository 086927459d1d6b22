package mathverify

import (
	"regexp"
	"strings"
)

// Reasons an extraction found no answer, and where an answer came from.
const (
	ReasonNoAnswer      = "no_answer"
	ReasonUnclosedBoxed = "unclosed_boxed"
	ReasonEmptyBoxed    = "empty_boxed"

	SourceBoxed      = "boxed"
	SourceHashes     = "hashes"
	SourceAnswerIs   = "answer_is"
	SourceLastNumber = "last_number"
)

// ExtractOptions configure Extract.
type ExtractOptions struct {
	// LastNumber falls back to the last number in the text (GSM8K, AIME).
	LastNumber bool
}

// Extraction is the final answer found in a completion.
type Extraction struct {
	Answer string   // "" when none
	All    []string // every closed \boxed{} in order (multiple answers)
	Source string   // SourceBoxed, ...; "" when none
	Reason string   // ReasonNoAnswer or ReasonUnclosedBoxed when Answer is ""
}

// OK reports whether an answer was found.
func (e Extraction) OK() bool { return e.Reason == "" }

var (
	answerIsRE = regexp.MustCompile(`(?i)(?:the answer is|final answer is|final answer:)[ \t:]*`)
)

// Extract finds the final answer of a completion (see the package doc for
// the order of the rules).
func Extract(text string, o ExtractOptions) Extraction {
	all, last, unclosed := boxedAnswers(text)
	if unclosed {
		return Extraction{All: all, Reason: ReasonUnclosedBoxed}
	}
	if len(all) > 0 {
		if strings.TrimSpace(last) == "" {
			return Extraction{All: all, Reason: ReasonEmptyBoxed}
		}
		return Extraction{Answer: last, All: all, Source: SourceBoxed}
	}
	if i := strings.LastIndex(text, "####"); i >= 0 {
		a, _, _ := strings.Cut(text[i+4:], "\n")
		if a = cleanTail(a); a != "" {
			return Extraction{Answer: a, Source: SourceHashes}
		}
	}
	// The case-insensitive search is slow on long texts; most have no cue.
	if hasAnswerWord(text) {
		if ms := answerIsRE.FindAllStringIndex(text, -1); len(ms) > 0 {
			// The phrase's last occurrence, to the end of its line or sentence.
			a, _, _ := strings.Cut(text[ms[len(ms)-1][1]:], "\n")
			a, _, _ = strings.Cut(a, ". ")
			if a = cleanTail(a); a != "" {
				return Extraction{Answer: a, Source: SourceAnswerIs}
			}
		}
	}
	if o.LastNumber {
		if n := lastNumber(text); n != "" {
			return Extraction{Answer: n, Source: SourceLastNumber}
		}
	}
	return Extraction{Reason: ReasonNoAnswer}
}

// hasAnswerWord reports whether text may contain "answer" in any case.
func hasAnswerWord(text string) bool {
	for i := 0; i+6 <= len(text); i++ {
		if (text[i] == 'a' || text[i] == 'A') && strings.EqualFold(text[i:i+6], "answer") {
			return true
		}
	}
	return false
}

// lastNumber is the last number of text ("-1,250.5" → "-1250.5"),
// scanned from the end (a regexp search over a long completion is slow).
func lastNumber(s string) string {
	end := len(s)
	for end > 0 && !isDigit(s[end-1]) {
		end--
	}
	if end == 0 {
		return ""
	}
	start := intStart(s, end)
	if start > 0 && s[start-1] == '.' {
		start = intStart(s, start-1)
	}
	for start < end && s[start] == ',' {
		start++
	}
	if start > 0 && s[start-1] == '-' {
		start--
	}
	return strings.ReplaceAll(s[start:end], ",", "")
}

// intStart walks left from end over digits and commas.
func intStart(s string, end int) int {
	for end > 0 && (isDigit(s[end-1]) || s[end-1] == ',') {
		end--
	}
	return end
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// cleanTail trims an answer taken from running text: spaces, a trailing
// period and surrounding $ or ** (markdown bold).
func cleanTail(s string) string {
	s = strings.TrimSpace(s)
	for {
		t := strings.TrimSpace(strings.TrimSuffix(strings.TrimSuffix(s, "."), "**"))
		t = strings.TrimSpace(strings.TrimPrefix(t, "**"))
		if t == s {
			return s
		}
		s = t
	}
}

// LastBoxed returns the content of the last closed \boxed{} or \fbox{} of
// text; ok is false when there is none or the last one is never closed.
func LastBoxed(text string) (string, bool) {
	all, last, unclosed := boxedAnswers(text)
	return last, !unclosed && len(all) > 0
}

// boxedAnswers scans text for \boxed{...}, \fbox{...} and "\boxed X".
func boxedAnswers(text string) (all []string, last string, unclosed bool) {
	for i := 0; i < len(text); {
		j := strings.IndexByte(text[i:], '\\')
		if j < 0 {
			break
		}
		i += j
		name := ""
		switch {
		case strings.HasPrefix(text[i:], `\boxed`):
			name = `\boxed`
		case strings.HasPrefix(text[i:], `\fbox`):
			name = `\fbox`
		default:
			i += 2 // skip the backslash and the byte it escapes
			continue
		}
		k := i + len(name)
		if k < len(text) && isLetter(text[k]) { // \boxedx is another command
			i = k
			continue
		}
		for k < len(text) && text[k] == ' ' {
			k++
		}
		if k < len(text) && text[k] == '{' {
			content, end, ok := braced(text, k)
			if !ok {
				return all, "", true
			}
			all = append(all, content)
			i = end
			continue
		}
		if k > i+len(name) { // "\boxed 5": the next word
			e := k
			for e < len(text) && !strings.ContainsRune(" \t\n$", rune(text[e])) {
				e++
			}
			if e > k {
				all = append(all, text[k:e])
				i = e
				continue
			}
		}
		i = k
	}
	if len(all) > 0 {
		last = all[len(all)-1]
	}
	return all, last, false
}

// braced returns the content of the brace group opening at text[open],
// the index after its closing brace, and whether it closes. A backslash
// escapes the next byte.
func braced(text string, open int) (string, int, bool) {
	depth := 0
	for j := open; j < len(text); j++ {
		switch text[j] {
		case '\\':
			j++
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return text[open+1 : j], j + 1, true
			}
		}
	}
	return "", len(text), false
}

func isLetter(b byte) bool { return ('a' <= b && b <= 'z') || ('A' <= b && b <= 'Z') }
