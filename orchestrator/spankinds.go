package orchestrator

import (
	"pz/data"
	"pz/orchestrator/reward"
	"pz/orchestrator/task"
)

// SpanKindStats counts one kind of span among a step's valid masks (the
// generator's proposals, or a baseline's random spans and next-token
// targets) and how often the predictor filled them.
type SpanKindStats struct {
	Masks       int     `json:"masks"`
	Predictions int     `json:"predictions"`
	Correct     int     `json:"correct"`
	Accuracy    float64 `json:"accuracy"` // Correct / Predictions
}

// spanAt is where a proposal lies in its passage's text (the first
// counted occurrence for a generator's span); start < 0 when unknown.
type spanAt struct{ start, end int }

// countSpanKinds classifies every valid proposal by the labelled span it
// overlaps most (data.SpanLabels.KindOf) and adds up its predictions. It
// returns nil when the passages carry no labels.
func countSpanKinds(labels data.SpanLabels, passages []data.Passage, props []reward.Proposal, at []spanAt, gen []reward.GenOutcome) map[string]SpanKindStats {
	if labels == nil {
		return nil
	}
	out := map[string]SpanKindStats{}
	for i, p := range props {
		if p.Reason != task.Valid || i >= len(at) || at[i].start < 0 {
			continue
		}
		k := labels.KindOf(passages[p.Group].ID, at[i].start, at[i].end)
		s := out[k]
		s.Masks++
		if i < len(gen) {
			s.Predictions += gen[i].Predictions
			s.Correct += gen[i].Correct
		}
		if s.Predictions > 0 {
			s.Accuracy = float64(s.Correct) / float64(s.Predictions)
		}
		out[k] = s
	}
	return out
}
