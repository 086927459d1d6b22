package bench

import (
	"math"
	"slices"

	"pz/orchestrator/mathverify"
)

// Reasons a completion is wrong (Verdict.Reason; "" when correct).
const (
	ReasonWrong         = "wrong"          // an answer was found and is not the reference
	ReasonNoAnswer      = "no_answer"      // nothing extractable
	ReasonUnclosedBoxed = "unclosed_boxed" // the last \boxed{ never closes (cut at max tokens)
	ReasonEmptyBoxed    = "empty_boxed"
	ReasonNotAnOption   = "letter_outside_options" // a letter past the row's last option
)

// Verdict is the score of one completion.
type Verdict struct {
	Extracted string `json:"extracted"`
	Correct   bool   `json:"correct"`
	Reason    string `json:"reason,omitempty"`
	Source    string `json:"source,omitempty"` // the rule that found the answer
}

// Score extracts the answer of a completion to item and compares it with
// the reference: by letter for multiple choice, with mathverify for math.
func Score(kind Kind, it Item, completion string) Verdict {
	if kind.MultipleChoice() {
		var l, src string
		if kind == MMLUPro {
			l, src = ExtractMMLUPro(completion)
		} else {
			l, src = ExtractSuperGPQA(completion, it.Options)
		}
		v := Verdict{Extracted: l, Source: src}
		switch {
		case l == "":
			v.Reason = ReasonNoAnswer
		case LetterIndex(l) >= len(it.Options):
			v.Reason = ReasonNotAnOption
		case l == it.Answer:
			v.Correct = true
		default:
			v.Reason = ReasonWrong
		}
		return v
	}
	e := mathverify.Extract(completion, mathverify.ExtractOptions{LastNumber: kind == GSM8K || kind == AIME})
	v := Verdict{Extracted: e.Answer}
	if !e.OK() {
		v.Reason = e.Reason
		return v
	}
	v.Source = SourceMath + e.Source
	if mathverify.EqualAny(e, it.Answer) {
		v.Correct = true
	} else {
		v.Reason = ReasonWrong
	}
	return v
}

// Stats is accuracy over a set of questions.
type Stats struct {
	Questions int `json:"questions"`
	Samples   int `json:"samples"`
	Correct   int `json:"correct"` // correct samples
	// Accuracy is mean@k: the mean over questions of the share of a
	// question's k samples that are correct (pass@1 when k is 1).
	Accuracy float64 `json:"accuracy"`
	Low      float64 `json:"ci95_low"`
	High     float64 `json:"ci95_high"`
	// PassAtK is the share of questions with at least one correct sample.
	PassAtK float64 `json:"pass_at_k"`
}

// Result is a benchmark run of one model (or one predictions file).
type Result struct {
	Name         string  `json:"name"`
	Model        string  `json:"model,omitempty"`
	Predictions  string  `json:"predictions,omitempty"`
	Bench        Kind    `json:"bench"`
	Data         string  `json:"data"`
	Metric       string  `json:"metric"` // "pass@1" or "mean@k"
	K            int     `json:"k"`
	Temperature  float64 `json:"temperature"`
	TopP         float64 `json:"top_p"`
	MaxNewTokens int     `json:"max_new_tokens,omitempty"`
	Seed         uint64  `json:"seed"`
	Seconds      float64 `json:"seconds,omitempty"`
	Stats
	Categories map[string]Stats `json:"categories,omitempty"`
	// Reasons counts wrong samples by reason, Sources samples by the rule
	// that found their answer.
	Reasons map[string]int `json:"reasons"`
	Sources map[string]int `json:"sources"`
}

// Comparison is several results on identical prompts (the JSON result
// file; pz report reads it).
type Comparison struct {
	Arms []Result `json:"arms"`
}

// Aggregate computes the stats of verdicts[i] (the k samples of items[i]).
// The interval is Wilson's for one sample per question, and otherwise the
// normal interval of the mean of per-question accuracies (samples of one
// question are not independent, questions are), clipped to [0, 1]; when
// every question has the same accuracy that interval is a point, and
// Wilson's over the questions (with the mean as the proportion) is given.
func Aggregate(items []Item, verdicts [][]Verdict) (Stats, map[string]Stats, map[string]int, map[string]int) {
	reasons, sources := map[string]int{}, map[string]int{}
	byCat := map[string][]int{}
	for i, it := range items {
		if it.Category != "" {
			byCat[it.Category] = append(byCat[it.Category], i)
		}
		for _, v := range verdicts[i] {
			if v.Reason != "" {
				reasons[v.Reason]++
			}
			if v.Source != "" {
				sources[v.Source]++
			}
		}
	}
	all := make([]int, len(items))
	for i := range all {
		all[i] = i
	}
	cats := map[string]Stats{}
	names := make([]string, 0, len(byCat))
	for c := range byCat {
		names = append(names, c)
	}
	slices.Sort(names)
	for _, c := range names {
		cats[c] = stats(verdicts, byCat[c])
	}
	return stats(verdicts, all), cats, reasons, sources
}

func stats(verdicts [][]Verdict, idx []int) Stats {
	var s Stats
	s.Questions = len(idx)
	ps := make([]float64, 0, len(idx))
	single := true
	passed := 0
	for _, i := range idx {
		c := 0
		for _, v := range verdicts[i] {
			if v.Correct {
				c++
			}
		}
		n := len(verdicts[i])
		if n != 1 {
			single = false
		}
		s.Samples += n
		s.Correct += c
		if c > 0 {
			passed++
		}
		p := 0.0
		if n > 0 {
			p = float64(c) / float64(n)
		}
		ps = append(ps, p)
	}
	if s.Questions == 0 {
		return s
	}
	mean := 0.0
	for _, p := range ps {
		mean += p
	}
	mean /= float64(len(ps))
	s.Accuracy = mean
	s.PassAtK = float64(passed) / float64(s.Questions)
	if single {
		s.Low, s.High = Wilson(s.Correct, s.Questions)
		return s
	}
	ss := 0.0
	for _, p := range ps {
		ss += (p - mean) * (p - mean)
	}
	if len(ps) < 2 || ss == 0 {
		// Every question scored alike (all 0, say): the normal interval
		// would be a point; give Wilson's over the questions instead.
		s.Low, s.High = wilson(mean, s.Questions)
		return s
	}
	se := math.Sqrt(ss/float64(len(ps)-1)) / math.Sqrt(float64(len(ps)))
	s.Low, s.High = max(0, mean-z95*se), min(1, mean+z95*se)
	return s
}

const z95 = 1.959963984540054

// Wilson is the 95% Wilson score interval of k successes in n trials.
func Wilson(k, n int) (lo, hi float64) {
	if n == 0 {
		return 0, 0
	}
	return wilson(float64(k)/float64(n), n)
}

// wilson is the interval for an observed proportion p of n.
func wilson(p float64, n int) (lo, hi float64) {
	if n == 0 {
		return 0, 0
	}
	nn := float64(n)
	c := p + z95*z95/(2*nn)
	d := z95 * math.Sqrt(p*(1-p)/nn+z95*z95/(4*nn*nn))
	den := 1 + z95*z95/nn
	return max(0, (c-d)/den), min(1, (c+d)/den)
}
