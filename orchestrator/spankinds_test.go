package orchestrator

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"pz/data"
)

// TestSpanKindsHandComputed: the scripted step of
// TestRolloutStepHandComputed ("Paris" proposed twice, solved 3 of 4
// times each; "Eiffel" once, never solved) with "Paris" labelled an
// attribute and "Eiffel" noise.
func TestSpanKindsHandComputed(t *testing.T) {
	para := "The Eiffel Tower is in Paris. It is made of iron."
	eng := &scripted{answer: func(p string, i int) string {
		if strings.HasSuffix(p, "Mask:") {
			return []string{`\mask{Paris}`, `\mask{Eiffel}`, `I don't know`, `\mask{Paris}`}[i]
		}
		if strings.Contains(p, "Eiffel") && i < 3 {
			return `\boxed{Paris}`
		}
		return `\boxed{London}`
	}}
	labels := data.SpanLabels{"p": {{Start: 4, End: 10, Kind: data.KindNoise}, {Start: 23, End: 28, Kind: data.KindAttribute, Field: "city"}}}
	cases := []struct {
		name   string
		labels data.SpanLabels
		want   map[string]SpanKindStats
	}{
		{"labelled", labels, map[string]SpanKindStats{
			data.KindAttribute: {Masks: 2, Predictions: 8, Correct: 6, Accuracy: 0.75},
			data.KindNoise:     {Masks: 1, Predictions: 4, Correct: 0, Accuracy: 0},
		}},
		{"other passage's labels", data.SpanLabels{"q": labels["p"]}, map[string]SpanKindStats{
			data.KindOther: {Masks: 3, Predictions: 12, Correct: 6, Accuracy: 0.5},
		}},
		{"no labels", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultRolloutOptions()
			o.Templates = ShortTemplates()
			o.GenSamples, o.PredSamples = 4, 4
			o.SpanLabels = tc.labels
			r, err := NewRollout(eng, byteTok{}, o)
			if err != nil {
				t.Fatal(err)
			}
			res, err := r.Step(context.Background(), 0, 0, []data.Passage{{ID: "p", Text: para}})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res.SpanKinds, tc.want) {
				t.Errorf("span kinds %+v, want %+v", res.SpanKinds, tc.want)
			}
		})
	}
}

// TestSpanKindsBaselines: the baselines' targets are located in the
// passage too. With bytes as tokens a next-token target is one byte, so
// a label over the second half of the text gets exactly the targets
// whose context is at least that long.
func TestSpanKindsBaselines(t *testing.T) {
	para := "The Eiffel Tower is in Paris. It is made of iron. It was built for a fair."
	half := len(para) / 2
	labels := data.SpanLabels{"p": {{Start: half, End: len(para), Kind: data.KindFiller}}}
	for _, mode := range []Mode{ModeRandomSpan, ModeRandomNTP, ModeEntropyNTP} {
		t.Run(string(mode), func(t *testing.T) {
			var contexts []string
			eng := &scripted{answer: func(p string, i int) string {
				if i == 0 {
					contexts = append(contexts, p)
				}
				return `\boxed{x}`
			}}
			o := DefaultRolloutOptions()
			o.Mode, o.Templates, o.PredSamples, o.NTPMinPrefix = mode, ShortTemplates(), 2, 4
			o.Templates.NextToken = "{paragraph}"
			o.SpanLabels = labels
			r, err := NewRollout(eng, byteTok{}, o)
			if err != nil {
				t.Fatal(err)
			}
			ps := make([]data.Passage, 16)
			for i := range ps {
				ps[i] = data.Passage{ID: "p", Text: para}
			}
			res, err := r.Step(context.Background(), 3, 0, ps)
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, s := range res.SpanKinds {
				total += s.Masks
			}
			if total != len(contexts) || total == 0 {
				t.Fatalf("%d masks counted for %d targets", total, len(contexts))
			}
			if mode == ModeRandomSpan {
				return
			}
			late := 0
			for _, c := range contexts {
				if len(c) >= half {
					late++
				}
			}
			if got := res.SpanKinds[data.KindFiller].Masks; got != late {
				t.Errorf("%d filler targets, want %d (contexts reaching the second half)", got, late)
			}
		})
	}
}
