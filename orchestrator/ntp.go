package orchestrator

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
