package bench

import (
	"regexp"
	"strings"

	"pz/orchestrator/mathverify"
)

// Where a multiple-choice letter came from (Verdict.Source).
const (
	SourceBoxedLetter   = "boxed"        // \boxed{X}, pz's own prompt's format
	SourceAnswerIs      = "answer_is"    // MMLU-Pro: "answer is (X)"; SuperGPQA: "The ... answer is X"
	SourceAnswerColon   = "answer_colon" // "Answer: X"
	SourceLastLetter    = "last_letter"  // MMLU-Pro: the last standalone A–J
	SourceLineStart     = "line_start"   // SuperGPQA: a line that is the letter ("(C).")
	SourceOptionContent = "option_text"  // SuperGPQA: the text of an option
	SourceMath          = "math_"        // prefix of mathverify's sources
)

var (
	// MMLU-Pro's harness (compute_accuracy.py / evaluate_from_api.py):
	// extract_answer, extract_again, extract_final, tried in order. Python's
	// re.search and Go's leftmost-first matching pick the same match.
	mmluAnswerIsRE = regexp.MustCompile(`answer is \(?([A-J])\)?`)
	mmluAgainRE    = regexp.MustCompile(`.*[aA]nswer:\s*([A-J])`)
	mmluFinalRE    = regexp.MustCompile(`\b[A-J]\b`)

	// SuperGPQA's harness (eval/eval.py, extract_option_labels): three
	// patterns, case-insensitive, tried on the last line and then on the
	// whole text. decor is what may sit between the cue and the letter:
	// markdown bold, $, braces, brackets and \boxed{ / \mathbf{ / \mathrm{
	// / \text{; tail what may close it.
	sgDecor = `(?:[*$\\{(\[]*?(?:(?:\\boxed|\\mathbf|\\mathrm|\\text)\{)?)*\s*([A-J])(?:\\?\}?\$?\)?\]?\}?)*(?:[\s:.*)]|$)`
	sgREs   = []*regexp.Regexp{
		regexp.MustCompile(`(?i)the\s+(?:\w+\s+)?(?:answer|option)(?:\w+\s+)?\s+is?:?\s*` + sgDecor),
		regexp.MustCompile(`(?i)answer[*\s]*:\s*` + sgDecor),
		regexp.MustCompile(`(?i)^[^\w\r\n]*` + sgDecor),
	}
	sgSources = []string{SourceAnswerIs, SourceAnswerColon, SourceLineStart}
	sgCueRE   = regexp.MustCompile(`(?i)(?:the\s+(?:\w+\s+)?(?:answer|option|solution)(?:\w+\s+)?\s+is:?|answer\s*:)[\s*$\\{(\[]*(?:(?:\\boxed|\\mathbf|\\mathrm|\\text)\{)?`)
)

// boxedLetter is the option letter in the last \boxed{} of text, when that
// box holds one letter (maybe in parentheses or \text{}).
func boxedLetter(text string, n int) (string, bool) {
	b, ok := mathverify.LastBoxed(text)
	if !ok {
		return "", false
	}
	s := strings.TrimSpace(b)
	for _, c := range []string{`\text{`, `\textbf{`, `\mathrm{`, `\mathbf{`} {
		if strings.HasPrefix(s, c) && strings.HasSuffix(s, "}") {
			s = strings.TrimSpace(s[len(c) : len(s)-1])
		}
	}
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(s, "("), ")"))
	if i := LetterIndex(s); i >= 0 && i < max(n, MaxOptions) && s == strings.ToUpper(s) {
		return s, true
	}
	return "", false
}

// ExtractMMLUPro returns the option letter of a completion as MMLU-Pro's
// harness does, after pz's \boxed{X} (the format pz's prompt asks for):
// "answer is (X)" (first match), then "Answer: X" (the last on the first
// line that has one), then the last standalone capital A–J anywhere.
func ExtractMMLUPro(text string) (letter, source string) {
	if l, ok := boxedLetter(text, MaxOptions); ok {
		return l, SourceBoxedLetter
	}
	if m := mmluAnswerIsRE.FindStringSubmatch(text); m != nil {
		return m[1], SourceAnswerIs
	}
	// The regex's leading .* makes a failing search slow: look first.
	if strings.Contains(text, "nswer:") {
		if m := mmluAgainRE.FindStringSubmatch(text); m != nil {
			return m[1], SourceAnswerColon
		}
	}
	if ms := mmluFinalRE.FindAllString(text, -1); len(ms) > 0 {
		return ms[len(ms)-1], SourceLastLetter
	}
	return "", ""
}

// ExtractSuperGPQA returns the option letter of a completion as
// SuperGPQA's harness does, after pz's \boxed{X}: its three patterns
// (case-insensitive: "the answer is b" gives B) on the last line, then on
// the whole text; failing those, the option whose text the completion
// states (after an answer cue if one is there, else the leftmost option
// text found; on the last line first). That last step approximates the
// harness's extract_option_content, which matches the same cues.
func ExtractSuperGPQA(text string, options []string) (letter, source string) {
	if l, ok := boxedLetter(text, len(options)); ok {
		return l, SourceBoxedLetter
	}
	text = strings.TrimRight(text, " \t\r\n")
	last := text[strings.LastIndexByte(text, '\n')+1:]
	for _, s := range []string{last, text} {
		for i, re := range sgREs {
			if m := re.FindStringSubmatch(s); m != nil {
				return strings.ToUpper(m[1]), sgSources[i]
			}
		}
	}
	for _, s := range []string{last, text} {
		if i := optionInText(s, options); i >= 0 {
			return Letter(i), SourceOptionContent
		}
	}
	return "", ""
}

// optionInText finds the option stated in s: right after an answer cue,
// else the leftmost occurrence of any option's text (ties: the longer
// option, so "10 m" is not read as "1"); -1 when none.
func optionInText(s string, options []string) int {
	for _, loc := range sgCueRE.FindAllStringIndex(s, -1) {
		rest := s[loc[1]:]
		best := -1
		for i, o := range options {
			o = strings.TrimSpace(o)
			if o != "" && strings.HasPrefix(rest, o) && (best < 0 || len(o) > len(strings.TrimSpace(options[best]))) {
				best = i
			}
		}
		if best >= 0 {
			return best
		}
	}
	best, at := -1, len(s)+1
	for i, o := range options {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		j := strings.Index(s, o)
		if j >= 0 && (j < at || (j == at && len(o) > len(strings.TrimSpace(options[best])))) {
			best, at = i, j
		}
	}
	return best
}
