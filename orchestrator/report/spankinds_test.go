package report

import (
	"encoding/json"
	"math"
	"testing"
)

// TestSpanKindPanels: a step with 10 valid masks, 6 of them attributes
// (accuracy 0.5) and 4 noise, plots 0.6 and 0.4 in the share panel; a run
// without span_kinds has neither panel.
func TestSpanKindPanels(t *testing.T) {
	var s Step
	line := `{"step":0,"rollout":{"valid_masks":10},"span_kinds":{"attribute":{"masks":6,"accuracy":0.5},"noise":{"masks":4,"accuracy":0}}}`
	if err := json.Unmarshal([]byte(line), &s); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]float64{
		"span-kinds":         {"attribute": 0.6, "noise": 0.4},
		"span-kind-accuracy": {"attribute": 0.5, "noise": 0},
	}
	found := 0
	for _, p := range panels([]*Run{{Steps: []Step{s}}}) {
		w, ok := want[p.slug]
		if !ok {
			continue
		}
		found++
		for _, m := range p.metrics {
			got, ok := m.get(&s)
			if !ok || math.Abs(got-w[m.name]) > 1e-12 {
				t.Errorf("%s/%s = %g (%v), want %g", p.slug, m.name, got, ok, w[m.name])
			}
		}
		if len(p.metrics) != 2 {
			t.Errorf("%s: %d curves, want 2", p.slug, len(p.metrics))
		}
	}
	if found != 2 {
		t.Fatalf("%d span-kind panels, want 2", found)
	}
	for _, p := range panels([]*Run{{Steps: []Step{{}}}}) {
		if _, ok := want[p.slug]; ok && len(p.metrics) > 0 {
			t.Errorf("%s has curves without span_kinds", p.slug)
		}
	}
}
