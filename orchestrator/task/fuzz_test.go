package task

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCompletion checks that no model output crashes the parsers, the
// validator or the verifier, and that their results keep their invariants.
func FuzzCompletion(f *testing.F) {
	for _, s := range []string{
		`\mask{Paris}`, `\boxed{a{b}c}`, `\boxed{`, `}}}{{{`, `\mask{\}`, "\\mask{caf\xc3}", `\\boxed{x}`,
		`\mask{ }`, `\mask{of} \mask{Paris`, strings.Repeat(`\boxed{`, 100), "",
	} {
		f.Add(s, "Paris")
	}
	opts := []MaskOptions{DefaultMaskOptions(), {MaxOccurrences: 2, WordAligned: true, RequireContentWord: true, MaxWords: 3}}
	f.Fuzz(func(t *testing.T, completion, target string) {
		for _, cmd := range []string{MaskCommand, BoxedCommand} {
			c, ok, why := ParseLastCommand(completion, cmd)
			if ok != (why == ParseOK) || (!ok && c != "") || !strings.Contains(completion, c) {
				t.Fatalf("ParseLastCommand(%q, %q) = %q %v %v", completion, cmd, c, ok, why)
			}
		}
		v := Verify(completion, target)
		if v.Strict && !v.Parsed {
			t.Fatalf("strict without parse: %+v", v)
		}
		if v.Strict && utf8.ValidString(v.Answer) && !v.Normalised {
			t.Fatalf("strict but not normalised: %q vs %q", v.Answer, target)
		}
		para := "The Eiffel Tower is in Paris. Paris is big. " + target
		for _, o := range opts {
			m, why := ValidateCompletion(para, completion, o)
			if why == Valid {
				if m.Span == "" || !strings.Contains(para, m.Span) || len(m.Starts) == 0 || (o.MaxOccurrences > 0 && len(m.Starts) >= o.MaxOccurrences) {
					t.Fatalf("valid mask breaks invariants: %+v", m)
				}
				for _, all := range []bool{true, false} {
					masked := MaskParagraph(para, m, all, nil)
					if !strings.Contains(masked, MaskToken) {
						t.Fatalf("masking %q left no %s", m.Span, MaskToken)
					}
				}
			}
		}
	})
}
