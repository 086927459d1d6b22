package orchestrator

import (
	"strings"
	"testing"
)

// TestMarkdownMaskFileKinds: a comparison over a mask file's own kinds
// (pz data synth's attributes) shows those columns, sorted, and WithTotal
// pools them per arm: 3+1 of 4+6 → 40%, Wilson [16.8, 68.7].
func TestMarkdownMaskFileKinds(t *testing.T) {
	cmp := Comparison{Arms: []Arm{
		{Name: "base", Kinds: map[string]*KindResult{"major": {N: 6, Correct: 1}, "birth_city": {N: 4, Correct: 3}}},
	}}
	var b strings.Builder
	cmp.WithTotal().WriteMarkdown(&b)
	want := "| arm | birth_city | major | all |\n|---|---|---|---|\n" +
		"| base | 0.0% [0.0, 0.0] (3/4) | 0.0% [0.0, 0.0] (1/6) | 40.0% [16.8, 68.7] (4/10) |\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	if _, ok := cmp.Arms[0].Kinds[KindAll]; ok {
		t.Error("WithTotal changed its receiver")
	}
}
