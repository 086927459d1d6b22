package task

import "strings"

// ParseFailure says why no command content could be parsed.
type ParseFailure uint8

const (
	ParseOK         ParseFailure = iota
	ParseMissing                 // no `\cmd{` in the text
	ParseUnbalanced              // the last `\cmd{` is never closed
)

func (f ParseFailure) String() string {
	switch f {
	case ParseOK:
		return "ok"
	case ParseMissing:
		return "missing"
	case ParseUnbalanced:
		return "unbalanced"
	}
	return "unknown"
}

// ParseLastCommand returns the raw content of the last `cmd{...}` in text
// (cmd includes its backslash, e.g. `\boxed`). Braces nest; a backslash
// escapes the next byte, so `\{` and `\}` are literal and do not count.
// The occurrence must be followed directly by `{` and not be part of a longer
// command name (`\boxedx{` is not `\boxed{`). When the last occurrence is
// never closed (a completion cut at max tokens) the result is
// ParseUnbalanced: an earlier, closed occurrence is not used, since the model
// was still revising its answer. The content is a substring of text; nothing
// is allocated.
func ParseLastCommand(text, cmd string) (content string, ok bool, reason ParseFailure) {
	end := len(text)
	for {
		i := strings.LastIndex(text[:end], cmd)
		if i < 0 {
			return "", false, ParseMissing
		}
		open := i + len(cmd)
		if open < len(text) && text[open] == '{' && !escaped(text, i) {
			return scanBraces(text, open+1)
		}
		end = i
	}
}

// escaped reports whether the backslash at text[i] is itself preceded by an
// odd number of backslashes (`\\boxed{` is a line break then "boxed{").
func escaped(text string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && text[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

func scanBraces(text string, start int) (string, bool, ParseFailure) {
	depth := 1
	for j := start; j < len(text); j++ {
		switch text[j] {
		case '\\':
			j++ // skip the escaped byte
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return text[start:j], true, ParseOK
			}
		}
	}
	return "", false, ParseUnbalanced
}
