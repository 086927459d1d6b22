// Package mathverify extracts the final answer of a math completion and
// decides whether it equals a reference answer, for MATH-500, Minerva,
// OlympiadBench, GSM8K and AMC/AIME-style benchmarks and as the RLVR reward.
//
// # Extraction (Extract)
//
// In this order, the first that finds something wins:
//
//  1. the last \boxed{...} (or \fbox{...}; braces nest, \{ and \} are
//     literal; "\boxed 5" without braces takes the next word). When the last
//     \boxed{ is never closed (a completion cut at max tokens) there is no
//     answer (reason "unclosed_boxed"): an earlier, closed one is not used,
//     since the model was still revising. Every boxed answer is kept
//     (Extraction.All) for the multiple-answer rule below;
//  2. the text after the last "####" on its line (GSM8K's reference format);
//  3. the text after the last "the answer is" / "final answer is" /
//     "final answer:" (case-insensitive) on its line, a trailing period
//     dropped;
//  4. only with ExtractOptions.LastNumber (GSM8K, AIME): the last number in
//     the text, thousands separators dropped.
//
// Nothing found is reason "no_answer". A completion with no answer is wrong.
//
// # Equality (Equal)
//
// Both sides are normalised the same way, so Equal is symmetric. Treated as
// equal:
//
//   - identical text after normalisation: math delimiters ($, \( \), \[ \])
//     and \displaystyle dropped; \left and \right dropped (\left( is ();
//     \dfrac and \tfrac are \frac; spacing commands (\, \; \: \! \quad ~)
//     and all whitespace dropped; a leading "x =" (one variable, optionally
//     subscripted) dropped; a trailing period dropped; \boxed{X} unwrapped;
//     unicode −, ×, ·, π, √, ∞ read as their LaTeX forms;
//   - units: a trailing \text{...}, \mbox{...} or \mathrm{...} after a
//     non-empty answer is dropped ("5\text{ cm}" = "5"), a lone \text{X} is
//     X; plain unit words after a bare number are dropped ("12 dollars" =
//     "12"); \$ is dropped;
//   - degrees: ^\circ, ^{\circ}, \circ, \degree and ° are dropped ("30^\circ"
//     = "30");
//   - percent: \% and % are dropped ("50\%" = "50"; 50% is NOT 0.5);
//   - thousands separators: a bare answer of the form 1,234,567(.89) is the
//     number 1234567.89, as are 1{,}234 and 1\,234; any other comma
//     separates list elements;
//   - numbers by value: leading zeros ("007" = "7", AIME), trailing zeros
//     ("2.50" = "2.5"), ".5" = "0.5", signs ("--2" = "2", "+3" = "3");
//   - constant expressions by value: + - * / ^, \cdot, \times, \div,
//     parentheses and braces, implicit products ("2\sqrt{3}"), \frac{a}{b} and
//     the short \frac12, \sqrt{x}, \sqrt[n]{x}, \sqrt2, \pi. Rational values
//     are computed exactly (math/big) and must be exactly equal ("0.5" =
//     "\frac{1}{2}" = "1/2" = "2/4", but "0.3333" ≠ "\frac{1}{3}"). A value
//     that is not rational (a non-square root, \pi, a fractional power) is
//     computed in float64 and equal when |a−b| ≤ 1e-12 + 1e-6·max(|a|,|b|)
//     ("\sqrt{12}" = "2\sqrt{3}", "\frac{\sqrt{2}}{2}" = "0.70710678");
//     \infty and -\infty equal themselves;
//   - sets \{a, b\}: order-insensitive, element by element with these rules;
//   - bare comma lists "a, b" (MATH's "find all solutions" answers):
//     order-insensitive, as multisets;
//   - tuples and intervals (a, b), [a, b), (a, b], [a, b]: in order, element
//     by element, and the bracket on each side must be the same ("[1, 2)" ≠
//     "[1, 2]"); an open interval and a pair are written alike and compare
//     alike; unions A \cup B: order-insensitive over the parts;
//   - multiple boxed answers (EqualAny): the last \boxed{} is compared first;
//     when it is not equal and the completion boxed several answers, all of
//     them together, as an order-insensitive list, are compared with the
//     reference ("\boxed{2} and \boxed{-3}" = "-3, 2");
//   - words: case-insensitively after normalisation ("\text{Yes}" = "yes").
//
// Deliberately not equal (no symbolic algebra): expressions with variables
// are compared as normalised text only ("x+1" ≠ "1+x", "\frac{x}{2}" ≠
// "x/2", "2(x+1)" ≠ "2x+2"); equations are not solved or rearranged ("y=2x"
// ≠ "2x=y"); no simplification of radicals with variables, no matrices, no
// complex numbers beyond text, no \pm expansion, no unit conversion ("1 m" ≠
// "100 cm"), no scientific "1e5" notation (write 10^5), a percent is not a
// fraction. An answer longer than MaxAnswerBytes is compared as normalised
// text only, and exact powers are capped (MaxExactExponent) before falling
// back to float64, so no input can make a comparison slow.
package mathverify
