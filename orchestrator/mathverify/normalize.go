package mathverify

import (
	"regexp"
	"strings"
)

// MaxAnswerBytes bounds the answers Equal parses; longer ones are compared
// as normalised text only.
const MaxAnswerBytes = 1024

var (
	// Replacements applied in order before anything else.
	unicodeForms = strings.NewReplacer("−", "-", "–", "-", "×", `\times `, "·", `\cdot `, "÷", `\div `,
		"π", `\pi `, "√", `\sqrt`, "∞", `\infty `, "°", "", "∪", `\cup `, "≤", `\le `, "≥", `\ge `)
	// LaTeX spellings that mean the same thing, and decorations that mean
	// nothing. Order matters: longer names first where one is a prefix.
	latexForms = strings.NewReplacer(
		`\$`, "", `\%`, "", "%", "", "$", "",
		`\displaystyle`, "", `\dfrac`, `\frac`, `\tfrac`, `\frac`, `\dbinom`, `\binom`, `\tbinom`, `\binom`,
		`\left\{`, `\{`, `\right\}`, `\}`, `\left.`, "", `\right.`, "", `\left`, "", `\right`, "",
		`\bigl`, "", `\bigr`, "", `\Bigl`, "", `\Bigr`, "", `\big`, "", `\Big`, "",
		`^{\circ}`, "", `^\circ`, "", `\circ`, "", `\degree`, "",
		`\qquad`, "", `\quad`, "", `\!`, "", `\,`, "", `\;`, "", `\:`, "", `\ `, "", "~", "",
		`{,}`, "", `\(`, "", `\)`, "", `\[`, "", `\]`, "", `\infin`, `\infty`,
		`\lbrace`, `\{`, `\rbrace`, `\}`, `\lbrack`, "[", `\rbrack`, "]", `\lparen`, "(", `\rparen`, ")",
		`\dots`, `\ldots`, `\cdots`, `\ldots`,
	)
	textCommands = []string{`\text`, `\textbf`, `\textit`, `\textrm`, `\mbox`, `\mathrm`, `\mathbf`, `\operatorname`}
	// A plain unit word after a bare number: "12 dollars", "3 cm".
	numberThenWordsRE = regexp.MustCompile(`^([-+]?[0-9][0-9,]*(?:\.[0-9]+)?|[-+]?\.[0-9]+)\s+[A-Za-z][A-Za-z .]*$`)
	// "x =", "a_1 =", "k_{max} =" at the start of an answer.
	assignmentRE  = regexp.MustCompile(`^[A-Za-z](?:_\{?[A-Za-z0-9]+\}?)?=`)
	degreesWordRE = regexp.MustCompile(`(?i)\s*(?:degrees|degree)\s*$`)
)

// Normalize returns the canonical text form Equal starts from (see the
// package doc).
func Normalize(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 4*MaxAnswerBytes {
		s = s[:4*MaxAnswerBytes]
	}
	s = unicodeForms.Replace(s)
	s = unwrapCommand(s, `\boxed`)
	s = dropTrailingText(s)
	s = latexForms.Replace(s)
	for _, c := range textCommands {
		s = unwrapCommand(s, c)
	}
	s = strings.TrimSpace(degreesWordRE.ReplaceAllString(s, ""))
	if m := numberThenWordsRE.FindStringSubmatch(s); m != nil {
		s = m[1]
	}
	s = strings.Join(strings.Fields(s), "")
	s = strings.TrimSuffix(s, ".")
	if loc := assignmentRE.FindStringIndex(s); loc != nil && loc[1] < len(s) && !strings.Contains(s[loc[1]:], "=") {
		s = s[loc[1]:]
	}
	return s
}

// dropTrailingText removes \text{...}-style groups at the end of s while
// something else precedes them (units: "5\text{ cm}").
func dropTrailingText(s string) string {
	for {
		t := strings.TrimRight(s, " ")
		if !strings.HasSuffix(t, "}") {
			return s
		}
		start := groupStart(t)
		if start < 0 {
			return s
		}
		cut := -1
		for _, c := range textCommands {
			if strings.HasSuffix(t[:start], c) {
				cut = start - len(c)
				break
			}
		}
		if cut < 0 {
			return s
		}
		rest := strings.TrimRight(t[:cut], " ")
		if rest == "" {
			return s
		}
		s = rest
	}
}

// groupStart returns the index of the '{' matching the final '}' of s, or
// -1 (escaped braces do not count).
func groupStart(s string) int {
	depth := 0
	for j := len(s) - 1; j >= 0; j-- {
		if j > 0 && s[j-1] == '\\' {
			continue
		}
		switch s[j] {
		case '}':
			depth++
		case '{':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// unwrapCommand replaces every cmd{X} in s by X (cmd includes its
// backslash; a longer command name is left alone).
func unwrapCommand(s, cmd string) string {
	for guard := 0; guard < 64; guard++ {
		i := indexCommand(s, cmd)
		if i < 0 {
			return s
		}
		k := i + len(cmd)
		for k < len(s) && s[k] == ' ' {
			k++
		}
		if k >= len(s) || s[k] != '{' {
			s = s[:i] + s[i+len(cmd):]
			continue
		}
		content, end, ok := braced(s, k)
		if !ok {
			return s
		}
		s = s[:i] + content + s[end:]
	}
	return s
}

func indexCommand(s, cmd string) int {
	from := 0
	for {
		j := strings.Index(s[from:], cmd)
		if j < 0 {
			return -1
		}
		j += from
		if e := j + len(cmd); e >= len(s) || !isLetter(s[e]) {
			return j
		}
		from = j + len(cmd)
	}
}
