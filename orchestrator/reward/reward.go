// Package reward turns verdicts into PretrainZero's rewards and GRPO
// advantages (METHOD.md §3): r_pred = 1[exact match]; r_gen = 0 when the
// mask's accuracy is 0, else 1 − accuracy; z-score advantages per group;
// DAPO's group filter; and optional guards against generator collapse
// (TOY-SCALE.md). Everything here is a pure function of its inputs.
package reward

import (
	"math"

	"pz/orchestrator/task"
)

// DefaultEps is added to the group standard deviation.
const DefaultEps = 1e-6

// PredictorReward is 1 for a correct prediction, else 0.
func PredictorReward(correct bool) float64 {
	if correct {
		return 1
	}
	return 0
}

// PredictorRewards are the rewards of a mask's predictions: strict exact
// match, or the normalised verdict when normalised is set.
func PredictorRewards(vs []task.Verdict, normalised bool) []float64 {
	rs := make([]float64, len(vs))
	for i, v := range vs {
		rs[i] = PredictorReward(v.Correct(normalised))
	}
	return rs
}

// Mean is the arithmetic mean of xs (0 for none).
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// GeneratorReward is the paper's generator reward for a mask whose
// predictions had accuracy acc: 0 when acc is 0 (unpredictable masks earn
// nothing), else 1 − acc.
func GeneratorReward(acc float64) float64 {
	if acc == 0 {
		return 0
	}
	return 1 - acc
}

// GroupAdvantages are GRPO's z-scores: (r − mean) / (std + eps), std the
// sample standard deviation (n − 1 denominator). A group of fewer than two or
// with zero variance gets zeros.
func GroupAdvantages(rewards []float64, eps float64) []float64 {
	adv := make([]float64, len(rewards))
	if len(rewards) < 2 {
		return adv
	}
	m := Mean(rewards)
	ss := 0.0
	for _, r := range rewards {
		ss += (r - m) * (r - m)
	}
	if ss == 0 {
		return adv
	}
	std := math.Sqrt(ss / float64(len(rewards)-1))
	for i, r := range rewards {
		adv[i] = (r - m) / (std + eps)
	}
	return adv
}

// PredictorGroupFiltered is DAPO's filter for a prediction group: its
// accuracy is exactly 0 or 1 (so every advantage is 0).
func PredictorGroupFiltered(acc float64) bool { return acc == 0 || acc == 1 }

// GeneratorGroupFiltered is the filter for a generator group: all rewards are
// equal (including a group of one).
func GeneratorGroupFiltered(rewards []float64) bool {
	for _, r := range rewards {
		if r != rewards[0] {
			return false
		}
	}
	return true
}
