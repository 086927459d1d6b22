package mathverify

import "testing"

// BenchmarkVerify measures extraction plus comparison of typical
// completions (answers/s).
func BenchmarkVerify(b *testing.B) {
	type pair struct{ completion, ref string }
	pairs := []pair{
		{"We add the two parts, so the total is $3+4=7$. Therefore \\boxed{7}.", "7"},
		{"Simplifying gives \\boxed{\\dfrac{\\sqrt{3}}{2}}", "\\frac{\\sqrt3}{2}"},
		{"The roots are \\boxed{-2, 3}.", "3, -2"},
		{"So the interval is \\boxed{\\left[ 1, 5 \\right)}", "[1,5)"},
		{"Natalia sold 48/2 = 24 clips in May.\n#### 72", "72"},
		{"The answer is $1,250$ dollars.", "1250"},
		{"Hence \\boxed{x^2+2x+1}", "(x+1)^2"},
	}
	n := 0
	for b.Loop() {
		p := pairs[n%len(pairs)]
		EqualAny(Extract(p.completion, ExtractOptions{}), p.ref)
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "answers/s")
}
