package data

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func validUTF8(s string) bool      { return utf8.ValidString(s) }
func validUTF8Bytes(b []byte) bool { return utf8.Valid(b) }

// Normalize returns s in Unicode NFC with every run of whitespace (any
// Unicode space, including no-break spaces and newlines) and of invisible
// format/control characters collapsed to one ASCII space, and trimmed. It
// never changes letters, digits or punctuation beyond NFC composition.
func Normalize(s string) string {
	if normalASCII(s) {
		return s
	}
	if !norm.NFC.IsNormalString(s) {
		s = norm.NFC.String(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || isInvisible(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isInvisible reports control and zero-width characters that carry no
// word content: C0/C1 controls, U+200B..U+200F, U+2028/9 (handled as space),
// U+202A..U+202E, U+2060..U+2064, U+FEFF.
func isInvisible(r rune) bool {
	switch {
	case r < 0x20 || (r >= 0x7f && r < 0xa0):
		return true
	case r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2060 && r <= 0x2064, r == 0xfeff:
		return true
	}
	return false
}

// splitParagraphs splits text into blank-line separated paragraphs, each as
// its raw lines (blank lines dropped).
func splitParagraphs(text string) [][]string {
	var paras [][]string
	var cur []string
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		if strings.TrimSpace(line) == "" {
			if len(cur) > 0 {
				paras = append(paras, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, line)
	}
	if len(cur) > 0 {
		paras = append(paras, cur)
	}
	return paras
}

// normalASCII reports printable ASCII with single inner spaces: already
// normal.
func normalASCII(s string) bool {
	if len(s) == 0 || s[0] == ' ' || s[len(s)-1] == ' ' {
		return len(s) == 0
	}
	prevSpace := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' {
			if prevSpace {
				return false
			}
			prevSpace = true
			continue
		}
		if c < 0x21 || c > 0x7e {
			return false
		}
		prevSpace = false
	}
	return true
}
