package bench

import (
	"strings"
	"testing"
)

// BenchmarkScore measures extraction plus scoring of chain-of-thought
// completions of about 1 KB (answers/s), per benchmark kind.
func BenchmarkScore(b *testing.B) {
	reasoning := strings.Repeat("We compare each option with the facts given and rule out the ones that contradict them. ", 12)
	opts := []string{"12 m", "1 m", "120 m", "3 s", "4 s", "5 s", "6 s", "7 s", "8 s", "9 s"}
	for _, c := range []struct {
		kind Kind
		it   Item
		text string
	}{
		{MMLUPro, Item{Options: opts, Answer: "C"}, reasoning + "The answer is (C)."},
		{MMLUPro, Item{Options: opts, Answer: "C"}, reasoning + "so I pick option c in the end"}, // fallbacks to the last letter
		{SuperGPQA, Item{Options: opts, Answer: "C"}, reasoning + "\nThe correct answer is (C)."},
		{SuperGPQA, Item{Options: opts, Answer: "C"}, reasoning + "\nit is 120 m"}, // option-text fallback
		{Math, Item{Answer: "\\frac{\\sqrt{3}}{2}"}, reasoning + "Therefore $\\boxed{\\dfrac{\\sqrt3}{2}}$."},
		{GSM8K, Item{Answer: "1250"}, reasoning + "She pays 1,250 dollars."},
	} {
		b.Run(string(c.kind), func(b *testing.B) {
			n := 0
			for b.Loop() {
				Score(c.kind, c.it, c.text)
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "answers/s")
		})
	}
}
