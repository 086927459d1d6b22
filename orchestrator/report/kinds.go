package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// spanKindOrder is the column order of the kind-mix table (data's kinds).
var spanKindOrder = []string{"attribute", "attribute-part", "name", "noise", "filler", "other"}

// phaseStats pools the steps of one arm's runs in one phase of training.
type phaseStats struct {
	steps, updated          int
	valid, distinct, stopWd float64
	kinds                   map[string]float64 // valid masks by kind
	kindPreds, kindCorrect  map[string]float64 // predictions and correct ones, by kind
	genReward, predReward   float64
	genN, predN             int
	top                     map[string]int
}

// WriteKindMix prints, for each arm (runs pooled, e.g. seeds), training
// cut into phases equal parts of steps: the labelled-kind mix of the
// valid masks, the predictor's accuracy on attribute and noise masks,
// the mean rewards, how many steps updated the policy and the collapse
// metrics (distinct spans and stop-word spans per valid mask, the most
// frequent span). Runs without span_kinds show "–" in the kind columns.
func WriteKindMix(w io.Writer, arms []string, runs map[string][]*Run, phases int) {
	phases = max(phases, 1)
	fmt.Fprint(w, "| arm | steps | valid masks |")
	for _, k := range spanKindOrder {
		fmt.Fprintf(w, " %s |", k)
	}
	fmt.Fprint(w, " acc. attribute | acc. noise | r_gen | r_pred | updated | distinct/valid | stop-word | top span |\n|---|---|---|")
	for range len(spanKindOrder) + 8 {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	for _, arm := range arms {
		rs := runs[arm]
		last := int64(0)
		for _, r := range rs {
			for _, s := range r.Steps {
				last = max(last, s.Step)
			}
		}
		phases := min(phases, int(last)+1) // no empty phase in a short run
		ph := make([]phaseStats, phases)
		for i := range ph {
			ph[i] = phaseStats{kinds: map[string]float64{}, kindPreds: map[string]float64{}, kindCorrect: map[string]float64{}, top: map[string]int{}}
		}
		for _, r := range rs {
			for i := range r.Steps {
				s := &r.Steps[i]
				p := &ph[min(int(s.Step*int64(phases)/(last+1)), phases-1)]
				p.add(s)
			}
		}
		for i, p := range ph {
			lo, hi := int64(i)*(last+1)/int64(phases), int64(i+1)*(last+1)/int64(phases)-1
			fmt.Fprintf(w, "| %s | %d–%d | %.0f |", arm, lo, hi, p.valid)
			kindTotal := 0.0
			for _, n := range p.kinds {
				kindTotal += n
			}
			for _, k := range spanKindOrder {
				if kindTotal == 0 {
					fmt.Fprint(w, " – |")
					continue
				}
				fmt.Fprintf(w, " %.0f%% |", 100*p.kinds[k]/kindTotal)
			}
			for _, k := range []string{"attribute", "noise"} {
				if p.kindPreds[k] == 0 {
					fmt.Fprint(w, " – |")
					continue
				}
				fmt.Fprintf(w, " %.1f%% |", 100*p.kindCorrect[k]/p.kindPreds[k])
			}
			fmt.Fprintf(w, " %s | %s | %d/%d |", meanOrDash(p.genReward, p.genN), meanOrDash(p.predReward, p.predN), p.updated, p.steps)
			if p.valid > 0 {
				fmt.Fprintf(w, " %.2f | %.2f |", p.distinct/p.valid, p.stopWd/p.valid)
			} else {
				fmt.Fprint(w, " – | – |")
			}
			fmt.Fprintf(w, " %s |\n", topSpan(p.top))
		}
	}
}

func (p *phaseStats) add(s *Step) {
	p.steps++
	if s.LearnRows != nil && *s.LearnRows > 0 && s.Learn.Skipped == "" {
		p.updated++
	}
	v, _ := val(s.Rollout.ValidMasks)
	p.valid += v
	if d, ok := val(s.Rollout.DistinctSpans); ok {
		p.distinct += d
	}
	if sw, ok := val(s.Rollout.StopWordShare); ok {
		p.stopWd += sw * v
	}
	for k, c := range s.SpanKinds {
		p.kinds[k] += c.Masks
		p.kindPreds[k] += c.Predictions
		p.kindCorrect[k] += c.Correct
	}
	if hasGenerator(s) {
		if r, ok := val(s.Rollout.Generator.RewardMean); ok {
			p.genReward += r
			p.genN++
		}
	}
	if r, ok := val(s.Rollout.Predictor.RewardMean); ok {
		p.predReward += r
		p.predN++
	}
	for _, t := range s.Rollout.TopSpans {
		p.top[t.Span] += t.Count
	}
}

func meanOrDash(sum float64, n int) string {
	if n == 0 {
		return "–"
	}
	return fmt.Sprintf("%.3f", sum/float64(n))
}

// topSpan is the most frequent span over a phase's per-step top lists
// (ties by text), quoted, with its share of those counts.
func topSpan(top map[string]int) string {
	if len(top) == 0 {
		return "–"
	}
	spans := make([]string, 0, len(top))
	total := 0
	for s, n := range top {
		spans = append(spans, s)
		total += n
	}
	slices.SortFunc(spans, func(a, b string) int {
		if top[a] != top[b] {
			return top[b] - top[a]
		}
		return strings.Compare(a, b)
	})
	s := strings.NewReplacer("|", "\\|", "\n", " ").Replace(spans[0])
	return fmt.Sprintf("%q %d/%d", s, top[spans[0]], total)
}

// WriteThroughput prints each arm's mean wall time per run (the sum of
// its steps' seconds), sampling throughput (tokens sampled per second of
// generation and prediction) and training throughput (tokens per second
// of learner steps), pooled over its runs.
func WriteThroughput(w io.Writer, arms []string, runs map[string][]*Run) {
	fmt.Fprint(w, "| arm | runs | steps | seconds per run | sampled tokens/s | trained tokens/s |\n|---|---|---|---|---|---|\n")
	for _, arm := range arms {
		var steps int
		var wall, sampled, sampleSec, learned, learnSec float64
		for _, r := range runs[arm] {
			for i := range r.Steps {
				s := &r.Steps[i]
				steps++
				add := func(sum *float64, p *float64) {
					if v, ok := val(p); ok {
						*sum += v
					}
				}
				add(&wall, s.StepSeconds)
				add(&sampled, s.SampledTokens)
				add(&sampleSec, s.GenSeconds)
				add(&sampleSec, s.PredSeconds)
				add(&learned, s.Learn.Tokens)
				add(&learnSec, s.LearnSeconds)
			}
		}
		n := max(len(runs[arm]), 1)
		fmt.Fprintf(w, "| %s | %d | %d | %.0f | %.0f | %.0f |\n", arm, len(runs[arm]), steps, wall/float64(n),
			sampled/max(sampleSec, 1e-9), learned/max(learnSec, 1e-9))
	}
}
