package task

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestTemplatesVerbatim(t *testing.T) {
	tp := DefaultTemplates()
	if err := tp.Validate(); err != nil {
		t.Fatal(err)
	}
	got := tp.GenerationPrompt("Paris is {paragraph} big.")
	want := "Generate a mask to mask important words in the following paragraph, satisfying the requirements below:\n" +
		"1) The mask should mask one or more entities in the passage. The masked words should be continuous.\n" +
		"2) The masked words should exactly match words in the original passage.\n" +
		"3) The masked words could be predicted according to the context. The difficulty to predict should be moderately challenging for you, so the answer would be short and as unique as possible.\n" +
		"Paragraph: Paris is {paragraph} big.\n" +
		"The final generated masked words must be placed inside \\mask{}."
	if got != want {
		t.Errorf("generation prompt:\n%q\nwant\n%q", got, want)
	}
	got = tp.PredictionPrompt("The [mask] is tall.")
	want = "There is a passage with masked words by [mask]:\nThe [mask] is tall.\nPlease reason step by step, and put the predicted masked words within \\boxed{}."
	if got != want {
		t.Errorf("prediction prompt: %q", got)
	}
	if got := tp.NextTokenPrompt("1 + 1 ="); !strings.HasSuffix(got, "### Context 1 + 1 =") || !strings.HasPrefix(got, "Complete the given text under '### Context'") {
		t.Errorf("next-token prompt: %q", got)
	}
	bad := tp
	bad.Prediction = "no slot"
	if err := bad.Validate(); err == nil {
		t.Error("template without placeholder accepted")
	}
}

func TestParseLastCommand(t *testing.T) {
	for _, tc := range []struct {
		text, want string
		ok         bool
		why        ParseFailure
	}{
		{`x \boxed{Paris} y`, "Paris", true, ParseOK},
		{`\boxed{a} then \boxed{b}`, "b", true, ParseOK},
		{`\boxed{\frac{1}{2}}`, `\frac{1}{2}`, true, ParseOK},
		{`\boxed{a \{ b}`, `a \{ b`, true, ParseOK},
		{`\boxed{a \} b}`, `a \} b`, true, ParseOK},
		{`\boxed{}`, "", true, ParseOK},
		{`no command here`, "", false, ParseMissing},
		{``, "", false, ParseMissing},
		{`\boxed Paris`, "", false, ParseMissing},
		{`\boxedx{Paris}`, "", false, ParseMissing},
		{`\boxed{good} and \boxed{cut off`, "", false, ParseUnbalanced},
		{`\boxed{a{b}`, "", false, ParseUnbalanced},
		{`\boxed{x} \\boxed{y}`, "x", true, ParseOK},
		{`\boxed{x}}}`, "x", true, ParseOK},
		{"\\boxed{caf\xc3}", "caf\xc3", true, ParseOK},
		{`\boxed{ends with backslash\`, "", false, ParseUnbalanced},
	} {
		got, ok, why := ParseLastCommand(tc.text, BoxedCommand)
		if got != tc.want || ok != tc.ok || why != tc.why {
			t.Errorf("ParseLastCommand(%q) = %q, %v, %v; want %q, %v, %v", tc.text, got, ok, why, tc.want, tc.ok, tc.why)
		}
	}
}

const para = "The Eiffel Tower is in Paris. Paris is the capital of France. The tower of iron is tall; of course."

func TestValidateMask(t *testing.T) {
	def := DefaultMaskOptions()
	words := def
	words.WordAligned = true
	content := def
	content.RequireContentWord = true
	short := def
	short.MaxWords = 2
	for _, tc := range []struct {
		name       string
		completion string
		o          MaskOptions
		span       string
		occ        int
		want       InvalidReason
	}{
		{"valid", `I pick \mask{Eiffel Tower}`, def, "Eiffel Tower", 1, Valid},
		{"trimmed", `\mask{  Paris }`, def, "Paris", 2, Valid},
		{"last wins", `\mask{France} no, \mask{Paris}`, def, "Paris", 2, Valid},
		{"missing", `the span is Paris`, def, "", 0, Missing},
		{"unbalanced", `\mask{Paris`, def, "", 0, Unbalanced},
		{"empty", `\mask{}`, def, "", 0, Empty},
		{"whitespace", "\\mask{ \t\n}", def, "", 0, Empty},
		{"partial token", "\\mask{Fran\xc3}", def, "Fran\xc3", 0, InvalidUTF8},
		{"sanitised partial token", "\\mask{Fran\uFFFD}", def, "Fran\uFFFD", 0, InvalidUTF8},
		{"case-sensitive", `\mask{paris}`, def, "paris", 0, NotInParagraph},
		{"not present", `\mask{London}`, def, "London", 0, NotInParagraph},
		// "e" occurs many times; "of" 4 times (capital of, tower of, of course + "of" none inside words here).
		{"too many", `\mask{e}`, def, "e", 8, TooManyOccurrences},
		{"of substring", `\mask{of}`, def, "of", 3, Valid},
		{"subword ok by default", `\mask{iff}`, def, "iff", 1, Valid},
		{"subword rejected", `\mask{iff}`, words, "iff", 0, NotWordAligned},
		{"aligned", `\mask{Paris}`, words, "Paris", 2, Valid},
		{"stop words", `\mask{of}`, content, "of", 3, StopWordsOnly},
		{"punctuation only", `\mask{;}`, content, ";", 1, StopWordsOnly},
		{"content word", `\mask{capital of France}`, content, "capital of France", 1, Valid},
		{"too long", `\mask{Paris is the capital}`, short, "Paris is the capital", 1, TooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, why := ValidateCompletion(para, tc.completion, tc.o)
			if why != tc.want || m.Span != tc.span {
				t.Fatalf("got %q %v, want %q %v", m.Span, why, tc.span, tc.want)
			}
			if why == Valid || why == TooManyOccurrences {
				if m.Occurrences() < tc.occ || (why == Valid && m.Occurrences() != tc.occ) {
					t.Errorf("occurrences %d, want %d", m.Occurrences(), tc.occ)
				}
			}
		})
	}
	// Occurrence cap boundary: 7 occurrences pass, 8 fail.
	p7 := strings.Repeat("cat ", 7)
	if _, why := ValidateMask(p7, "cat", def); why != Valid {
		t.Errorf("7 occurrences: %v", why)
	}
	if _, why := ValidateMask(p7+"cat", "cat", def); why != TooManyOccurrences {
		t.Errorf("8 occurrences: %v", why)
	}
	// Word-aligned counting skips occurrences inside words.
	m, why := ValidateMask("cat cats scat cat.", "cat", words)
	if why != Valid || len(m.Starts) != 2 || m.Starts[0] != 0 || m.Starts[1] != 14 {
		t.Errorf("aligned occurrences = %v %v", m.Starts, why)
	}
	for _, r := range Reasons() {
		if back, ok := ParseInvalidReason(r.String()); !ok || back != r {
			t.Errorf("reason %d round trip: %q", r, r.String())
		}
	}
}

func TestWordAlignedAt(t *testing.T) {
	text := "state-of-the-art café, naïve x"
	for _, tc := range []struct {
		span string
		want bool
	}{
		{"state", true}, {"of", true}, {"-of-", true}, {"tat", false}, {"caf", false},
		{"café", true}, {"naïve", true}, {"ïve", false}, {"x", true}, {"art café,", true},
	} {
		i := strings.Index(text, tc.span)
		if got := WordAlignedAt(text, i, i+len(tc.span)); got != tc.want {
			t.Errorf("%q: %v, want %v", tc.span, got, tc.want)
		}
	}
}

func TestMaskParagraph(t *testing.T) {
	m, _ := ValidateMask(para, "Paris", DefaultMaskOptions())
	all := MaskParagraph(para, m, true, nil)
	if want := "The Eiffel Tower is in [mask]. [mask] is the capital of France. The tower of iron is tall; of course."; all != want {
		t.Errorf("all: %q", all)
	}
	if one := MaskParagraph(para, m, false, nil); one != "The Eiffel Tower is in [mask]. Paris is the capital of France. The tower of iron is tall; of course." {
		t.Errorf("one: %q", one)
	}
	seen := map[string]bool{}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		seen[MaskParagraph(para, m, false, rng)] = true
	}
	if len(seen) != 2 {
		t.Errorf("random single occurrence: %d distinct results, want 2", len(seen))
	}
}

func TestVerify(t *testing.T) {
	for _, tc := range []struct {
		completion, target string
		parsed             bool
		strict, norm       bool
	}{
		{`so \boxed{Paris}`, "Paris", true, true, true},
		{`\boxed{ Paris }`, "Paris", true, true, true},
		{`\boxed{Paris}`, " Paris\n", true, true, true},
		{`\boxed{paris}`, "Paris", true, false, true},
		{`\boxed{Paris.}`, "Paris", true, false, true},
		{`\boxed{U.S. Army}`, "US  army", true, false, true},
		{`\boxed{the  Eiffel Tower}`, "the Eiffel Tower", true, false, true},
		{`\boxed{London}`, "Paris", true, false, false},
		{`\boxed{}`, "Paris", true, false, false},
		{`\boxed{ }`, "", true, true, true},
		{`Paris`, "Paris", false, false, false},
		{`\boxed{Par`, "Paris", false, false, false},
		{"\\boxed{caf\xc3}", "café", true, false, false},
		{`\boxed{ÉCOLE}`, "école", true, false, true},
		{`\boxed{Paris} wait, \boxed{Lyon}`, "Paris", true, false, false},
	} {
		v := Verify(tc.completion, tc.target)
		if v.Parsed != tc.parsed || v.Strict != tc.strict || v.Normalised != tc.norm {
			t.Errorf("Verify(%q, %q) = %+v; want parsed %v strict %v normalised %v", tc.completion, tc.target, v, tc.parsed, tc.strict, tc.norm)
		}
		if v.Correct(false) != v.Strict || v.Correct(true) != v.Normalised {
			t.Error("Correct does not follow the verdict")
		}
	}
	if got := Normalise("  The U.S.  Army! "); got != "the us army" {
		t.Errorf("Normalise = %q", got)
	}
	// Gigantic completion cut at max tokens.
	huge := `\boxed{` + strings.Repeat("word ", 200000)
	if v := Verify(huge, "word"); v.Parsed || v.Failure != ParseUnbalanced {
		t.Errorf("huge unbalanced completion: %+v", v)
	}
}

func TestVerifyDoesNotAllocate(t *testing.T) {
	c := "Let me think. The capital is famous. " + `\boxed{ the Eiffel Tower }`
	if n := testing.AllocsPerRun(100, func() { _ = Verify(c, "The Eiffel  tower.") }); n != 0 {
		t.Errorf("Verify allocates %v times", n)
	}
}

func TestPrefixMatch(t *testing.T) {
	cont := " para meter"
	bounds := []int{5, 11} // tokens " para", " meter"
	for _, tc := range []struct {
		ans  string
		want bool
	}{
		{" para", true}, {" para meter", true}, {" par", false}, {"para", false}, {"", false}, {" para meters", false},
	} {
		if got := PrefixMatch(tc.ans, cont, bounds); got != tc.want {
			t.Errorf("PrefixMatch(%q) = %v", tc.ans, got)
		}
	}
}

func TestScorePredictions(t *testing.T) {
	in := `{"answer":"Paris","target":"Paris"}
{"answer":"paris","target":"Paris"}
{"completion":"I think \\boxed{Lyon}","target":"Lyon"}
{"completion":"no box","target":"Lyon"}
not json

{"target":"x"}
`
	rep, err := ScorePredictions(context.Background(), "in.jsonl", strings.NewReader(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Lines != 7 || rep.Scored != 4 || rep.BadLines != 2 || rep.Parsed != 3 || rep.Strict != 2 || rep.Normalised != 3 || rep.Failures["missing"] != 1 {
		t.Errorf("report %+v", rep)
	}
	if rep.StrictAccuracy() != 0.5 || rep.NormalisedAccuracy() != 0.75 {
		t.Errorf("accuracies %v %v", rep.StrictAccuracy(), rep.NormalisedAccuracy())
	}
}

func BenchmarkVerify(b *testing.B) {
	c := strings.Repeat("The passage mentions several cities and I reason about each. ", 8) + `so the answer is \boxed{the Eiffel Tower}`
	b.ReportAllocs()
	for b.Loop() {
		_ = Verify(c, "the Eiffel Tower")
	}
}

func BenchmarkVerifyShort(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = Verify(`\boxed{of}`, "of")
	}
}

func BenchmarkValidateCompletion(b *testing.B) {
	o := DefaultMaskOptions()
	o.RequireContentWord = true
	c := "I choose the capital. " + `\mask{capital of France}`
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ValidateCompletion(para, c, o)
	}
}
