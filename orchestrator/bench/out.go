package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"pz/internal/atomicfile"
)

// RowLine is one line of --out: a row's verdict, in input order. With k
// samples, extracted/correct/reason are the first sample's and Samples
// holds them all.
type RowLine struct {
	Row       int       `json:"row"`
	ID        string    `json:"id"`
	Category  string    `json:"category,omitempty"`
	Reference string    `json:"reference"`
	Extracted string    `json:"extracted"`
	Correct   bool      `json:"correct"`
	Reason    string    `json:"reason,omitempty"`
	Source    string    `json:"source,omitempty"`
	Accuracy  float64   `json:"accuracy"` // share of the row's samples that are correct
	Samples   []Verdict `json:"samples,omitempty"`
	// Completions, when kept, are the model's outputs (not written for
	// --predictions: they are in the input already).
	Completions []string `json:"completions,omitempty"`
}

// WriteRows writes one JSON line per item (temp file + rename).
func WriteRows(path string, items []Item, verdicts [][]Verdict, completions [][]string) error {
	err := atomicfile.WriteFunc(path, 0o644, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		for i, it := range items {
			vs := verdicts[i]
			l := RowLine{Row: it.Row, ID: it.ID, Category: it.Category, Reference: it.Answer}
			if len(vs) > 0 {
				l.Extracted, l.Correct, l.Reason, l.Source = vs[0].Extracted, vs[0].Correct, vs[0].Reason, vs[0].Source
				c := 0
				for _, v := range vs {
					if v.Correct {
						c++
					}
				}
				l.Accuracy = float64(c) / float64(len(vs))
			}
			if len(vs) > 1 {
				l.Samples = vs
			}
			if completions != nil {
				l.Completions = completions[i]
			}
			b, err := json.Marshal(l)
			if err != nil {
				return err
			}
			bw.Write(append(b, '\n'))
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// ScorePredictions scores the completions read with the items
// (ReadOptions.Predictions) and returns the verdicts and the result.
func ScorePredictions(kind Kind, items []Item) ([][]Verdict, Result) {
	verdicts := make([][]Verdict, len(items))
	k := 0
	for i, it := range items {
		for _, c := range it.Completions {
			verdicts[i] = append(verdicts[i], Score(kind, it, c))
		}
		k = max(k, len(it.Completions))
	}
	res := Result{Bench: kind, K: k}
	res.Stats, res.Categories, res.Reasons, res.Sources = Aggregate(items, verdicts)
	res.Metric = MetricName(k)
	return verdicts, res
}

// MetricName is "pass@1" for one greedy or sampled completion per
// question, else "mean@k".
func MetricName(k int) string {
	if k <= 1 {
		return "pass@1"
	}
	return fmt.Sprintf("mean@%d", k)
}
