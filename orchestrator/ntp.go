package orchestrator

import "iter"

// Next-token baselines' verifiers (RolloutOptions.NTPReward).
const (
	NTPExact  = "exact"  // the paper's exact match with the span tasks' normalisation flags
	NTPPrefix = "prefix" // RPT's prefix match against the continuation
)

func (o RolloutOptions) ntpReward() string {
	if o.NTPReward == "" {
		return NTPExact
	}
	return o.NTPReward
}

// baselineMasks is the masks a baseline draws per paragraph.
func (o RolloutOptions) baselineMasks() int {
	if o.BaselineMasks > 0 {
		return o.BaselineMasks
	}
	return max(o.GenSamples, 1)
}

// baselineDraws yields (paragraph, draw) for n paragraphs of k draws each.
func baselineDraws(n, k int) iter.Seq2[int, int] {
	return func(yield func(int, int) bool) {
		for i := range n {
			for j := range k {
				if !yield(i, j) {
					return
				}
			}
		}
	}
}
