package mathverify

import (
	"slices"
	"testing"
)

// One case per rule of the package doc, with cases that must not be equal.
var equalCases = []struct {
	rule      string
	a, b      string
	wantEqual bool
}{
	{"identical", "42", "42", true},
	{"different integers", "42", "43", false},
	{"empty is never equal", "", "", false},
	{"empty vs value", "", "0", false},
	{"math delimiters", "$\\frac{1}{2}$", "\\frac{1}{2}", true},
	{"inline delimiters", "\\(3\\)", "3", true},
	{"display delimiters", "\\[ 3 \\]", "3", true},
	{"displaystyle", "\\displaystyle\\frac{3}{4}", "3/4", true},
	{"dfrac", "\\dfrac{3}{4}", "\\frac{3}{4}", true},
	{"tfrac", "\\tfrac{3}{4}", "0.75", true},
	{"left right parens", "\\left( 1, 2 \\right)", "(1,2)", true},
	{"left right set", "\\left\\{1,2\\right\\}", "\\{2,1\\}", true},
	{"spacing commands", "1\\!\\,\\;\\: 2", "12", true},
	{"whitespace", " 1 2 ", "12", true},
	{"assignment x =", "x = 5", "5", true},
	{"assignment subscript", "a_1 = 5", "5", true},
	{"assignment on both sides", "x=5", "y=5", true},
	{"equation with two = is kept", "x=y=5", "5", false},
	{"trailing period", "5.", "5", true},
	{"boxed in the reference", "\\boxed{7}", "7", true},
	{"unicode minus", "−3", "-3", true},
	{"unicode pi", "2π", "2\\pi", true},
	{"unicode sqrt", "√4", "2", true},
	{"text unit", "5\\text{ cm}", "5", true},
	{"mbox unit", "12\\mbox{ inches}", "12", true},
	{"mathrm unit", "3\\mathrm{kg}", "3", true},
	{"lone text", "\\text{(C)}", "C", true},
	{"plain unit word", "12 dollars", "12", true},
	{"unit words differ but number equal", "12 apples", "12 pears", true},
	{"different number with unit", "5\\text{ cm}", "6", false},
	{"dollar sign", "\\$18", "18", true},
	{"degrees circ", "30^\\circ", "30", true},
	{"degrees braced circ", "30^{\\circ}", "30", true},
	{"degrees symbol", "30°", "30", true},
	{"degrees word", "30 degrees", "30", true},
	{"percent", "50\\%", "50", true},
	{"percent plain", "50%", "50", true},
	{"percent is not a fraction", "50\\%", "0.5", false},
	{"thousands separator", "1,000", "1000", true},
	{"thousands separator millions", "1,234,567.5", "1234567.5", true},
	{"latex thousands", "1{,}000", "1000", true},
	{"thin space thousands", "1\\,000", "1000", true},
	{"not thousands: list", "1,23", "123", false},
	{"leading zeros (AIME)", "033", "33", true},
	{"leading zeros zero", "000", "0", true},
	{"trailing zeros", "2.50", "2.5", true},
	{"trailing zeros integer", "3.000", "3", true},
	{"leading dot", ".5", "0.5", true},
	{"double negative", "--2", "2", true},
	{"plus sign", "+3", "3", true},
	{"negative", "-3", "3", false},
	{"negative fraction", "-\\frac{1}{2}", "\\frac{-1}{2}", true},
	{"negative slash", "-1/2", "\\frac{1}{-2}", true},
	{"a/b vs frac", "3/4", "\\frac{3}{4}", true},
	{"unreduced fraction", "2/4", "\\frac{1}{2}", true},
	{"decimal vs fraction", "0.5", "\\frac12", true},
	{"short frac", "\\frac12", "\\frac{1}{2}", true},
	{"different fractions", "\\frac{1}{3}", "\\frac{1}{2}", false},
	{"rational is exact", "0.3333", "\\frac{1}{3}", false},
	{"rational exact big", "123456789", "123456790", false},
	{"sqrt exact", "\\sqrt{16}", "4", true},
	{"sqrt short", "\\sqrt2", "\\sqrt{2}", true},
	{"sqrt implicit product", "2\\sqrt{3}", "\\sqrt{12}", true},
	{"sqrt of fraction", "\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}", true},
	{"sqrt decimal within tolerance", "\\frac{\\sqrt{2}}{2}", "0.70710678", true},
	{"sqrt decimal outside tolerance", "\\sqrt{2}", "1.414", false},
	{"cube root", "\\sqrt[3]{27}", "3", true},
	{"different roots", "\\sqrt{2}", "\\sqrt{3}", false},
	{"pi", "2\\pi", "\\pi+\\pi", true},
	{"pi decimal", "\\pi", "3.14", false},
	{"power", "2^{10}", "1024", true},
	{"power short", "2^3", "8", true},
	{"negative power", "2^{-1}", "0.5", true},
	{"cdot times", "2\\cdot3", "3\\times2", true},
	{"div", "6\\div3", "2", true},
	{"parentheses", "(2+3)*4", "20", true},
	{"single parens", "(5)", "5", true},
	{"infinity", "\\infty", "∞", true},
	{"infinity signs", "-\\infty", "\\infty", false},
	{"set order-insensitive", "\\{1, 2, 3\\}", "\\{3,1,2\\}", true},
	{"set different", "\\{1,2\\}", "\\{1,3\\}", false},
	{"set size", "\\{1,2\\}", "\\{1,2,2\\}", false},
	{"set elements by value", "\\{\\frac12, 2\\}", "\\{2, 0.5\\}", true},
	{"bare list order-insensitive", "-2, 3", "3, -2", true},
	{"bare list different", "1, 2", "1, 3", false},
	{"bare list vs single", "1, 2", "1", false},
	{"tuple in order", "(1, 2)", "(1,2)", true},
	{"tuple order matters", "(1, 2)", "(2, 1)", false},
	{"tuple elements by value", "(\\frac{1}{2}, 3)", "(0.5, 3.0)", true},
	{"interval brackets matter", "[1, 2)", "[1, 2]", false},
	{"interval same", "[1, 2)", "[1,2)", true},
	{"interval open left", "(1, 2]", "[1, 2]", false},
	{"interval infinity", "(-\\infty, 3]", "(-∞,3]", true},
	{"tuple vs list", "(1, 2)", "1, 2", false},
	{"union order-insensitive", "(-\\infty,1)\\cup(2,\\infty)", "(2,\\infty)\\cup(-\\infty,1)", true},
	{"union brackets", "(-\\infty,1]\\cup(2,\\infty)", "(-\\infty,1)\\cup(2,\\infty)", false},
	{"words case-insensitive", "\\text{Yes}", "yes", true},
	{"words differ", "yes", "no", false},
	{"letters", "(C)", "C", true},
	{"symbolic not commuted", "x+1", "1+x", false},
	{"symbolic frac vs slash", "\\frac{x}{2}", "x/2", false},
	{"symbolic not expanded", "2(x+1)", "2x+2", false},
	{"symbolic same text", "x^2 + 1", "x^2+1", true},
	{"equation not rearranged", "y=2x", "2x=y", false},
	{"no unit conversion", "1 m", "100 cm", false},
	{"division by zero is text", "1/0", "2/0", false},
	{"huge power falls back to float", "2^{100000}", "2^{100001}", false},
}

func TestEqual(t *testing.T) {
	for _, c := range equalCases {
		if got := Equal(c.a, c.b); got != c.wantEqual {
			t.Errorf("%s: Equal(%q, %q) = %v, want %v (normalised %q, %q)", c.rule, c.a, c.b, got, c.wantEqual, Normalize(c.a), Normalize(c.b))
		}
		if got := Equal(c.b, c.a); got != c.wantEqual {
			t.Errorf("%s: Equal(%q, %q) = %v, want %v (not symmetric)", c.rule, c.b, c.a, got, c.wantEqual)
		}
	}
}

func TestExtract(t *testing.T) {
	for _, c := range []struct {
		name, text string
		o          ExtractOptions
		answer     string
		all        []string
		source     string
		reason     string
	}{
		{"last boxed", "first \\boxed{1} then \\boxed{2}", ExtractOptions{}, "2", []string{"1", "2"}, SourceBoxed, ""},
		{"nested braces", "so \\boxed{\\frac{1}{\\sqrt{2}}}.", ExtractOptions{}, "\\frac{1}{\\sqrt{2}}", []string{"\\frac{1}{\\sqrt{2}}"}, SourceBoxed, ""},
		{"escaped braces", "\\boxed{\\{1,2\\}}", ExtractOptions{}, "\\{1,2\\}", []string{"\\{1,2\\}"}, SourceBoxed, ""},
		{"fbox", "\\fbox{9}", ExtractOptions{}, "9", []string{"9"}, SourceBoxed, ""},
		{"boxed without braces", "$\\boxed 5$", ExtractOptions{}, "5", []string{"5"}, SourceBoxed, ""},
		{"longer command is not boxed", "\\boxedx{3} the answer is 4", ExtractOptions{}, "4", nil, SourceAnswerIs, ""},
		{"unclosed last boxed", "\\boxed{1} and \\boxed{2", ExtractOptions{}, "", []string{"1"}, "", ReasonUnclosedBoxed},
		{"empty boxed", "\\boxed{}", ExtractOptions{}, "", []string{""}, "", ReasonEmptyBoxed},
		{"gsm8k hashes", "She pays 3*4=12.\n#### 12", ExtractOptions{}, "12", nil, SourceHashes, ""},
		{"gsm8k last hashes", "#### 3\n#### 1,200\n", ExtractOptions{}, "1,200", nil, SourceHashes, ""},
		{"answer is", "Thus the answer is $\\frac{3}{4}$.", ExtractOptions{}, "$\\frac{3}{4}$", nil, SourceAnswerIs, ""},
		{"final answer colon", "Final Answer: **17**", ExtractOptions{}, "17", nil, SourceAnswerIs, ""},
		{"last answer is wins", "the answer is 2. No wait, the answer is 3.", ExtractOptions{}, "3", nil, SourceAnswerIs, ""},
		{"boxed wins over answer is", "The answer is 2. \\boxed{3}", ExtractOptions{}, "3", []string{"3"}, SourceBoxed, ""},
		{"no answer", "I do not know.", ExtractOptions{}, "", nil, "", ReasonNoAnswer},
		{"last number off", "it costs 1,250 dollars", ExtractOptions{}, "", nil, "", ReasonNoAnswer},
		{"last number on", "it costs 1,250 dollars, not 7.5", ExtractOptions{LastNumber: true}, "7.5", nil, SourceLastNumber, ""},
		{"last number negative", "so -4", ExtractOptions{LastNumber: true}, "-4", nil, SourceLastNumber, ""},
		{"last number decimal thousands", "pay -1,250.75 now.", ExtractOptions{LastNumber: true}, "-1250.75", nil, SourceLastNumber, ""},
		{"last number leading dot", "about .5", ExtractOptions{LastNumber: true}, ".5", nil, SourceLastNumber, ""},
		{"last number after a list comma", "x, 12,", ExtractOptions{LastNumber: true}, "12", nil, SourceLastNumber, ""},
		{"no number", "none here", ExtractOptions{LastNumber: true}, "", nil, "", ReasonNoAnswer},
	} {
		e := Extract(c.text, c.o)
		if e.Answer != c.answer || e.Source != c.source || e.Reason != c.reason || !slices.Equal(e.All, c.all) {
			t.Errorf("%s: Extract(%q) = %+v, want answer %q all %q source %q reason %q", c.name, c.text, e, c.answer, c.all, c.source, c.reason)
		}
		if e.OK() != (c.reason == "") {
			t.Errorf("%s: OK() = %v with reason %q", c.name, e.OK(), e.Reason)
		}
	}
}

func TestEqualAny(t *testing.T) {
	for _, c := range []struct {
		text, ref string
		want      bool
	}{
		{"\\boxed{2} and \\boxed{-3}", "-3, 2", true},         // all boxed, as a list
		{"\\boxed{2} and \\boxed{-3}", "-3", true},            // the last one alone
		{"\\boxed{2} and \\boxed{-3}", "2", false},            // an earlier one alone does not count
		{"\\boxed{2} \\boxed{-3} \\boxed{4}", "-3, 2", false}, // extra answers
		{"\\boxed{2}", "2, 3", false},
		{"\\boxed{1, 2}", "2, 1", true},
		{"no answer at all", "2", false},
	} {
		if got := EqualAny(Extract(c.text, ExtractOptions{}), c.ref); got != c.want {
			t.Errorf("EqualAny(%q, %q) = %v, want %v", c.text, c.ref, got, c.want)
		}
	}
}

// FuzzEqual: Equal never panics, is symmetric, reflexive on anything that
// normalises to a non-empty answer, and Extract never panics.
func FuzzEqual(f *testing.F) {
	for _, c := range equalCases {
		f.Add(c.a, c.b)
	}
	f.Add("\\sqrt[0]{2}", "\\frac{}{}")
	f.Add("(((((", "\\{\\}")
	f.Add("2^{2^{2^{2^{2}}}}", "0^{-1}")
	f.Fuzz(func(t *testing.T, a, b string) {
		if Equal(a, b) != Equal(b, a) {
			t.Fatalf("not symmetric: %q %q", a, b)
		}
		if Normalize(a) != "" && !Equal(a, a) {
			t.Fatalf("not reflexive: %q", a)
		}
		e := Extract(a+"\\boxed{"+b, ExtractOptions{LastNumber: true})
		if e.OK() && e.Answer == "" {
			t.Fatalf("ok extraction without an answer: %q", a)
		}
		EqualAny(e, b)
	})
}
