package orchestrator

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path"
	"slices"
	"strings"

	"pz/data"
	"pz/orchestrator/bench"
	"pz/orchestrator/sample"
	"pz/orchestrator/stopwords"
	"pz/orchestrator/task"
)

// Eval kinds: what was masked.
const (
	KindSingle  = "single"  // one word
	KindMulti   = "multi"   // a span of 2-3 words
	KindContent = "content" // one content word (not a stop word)
)

// EvalItem is one held-out question: a paragraph and the span to predict.
type EvalItem struct {
	ID   string `json:"id"`
	Text string `json:"text"`
	Span string `json:"span"`
	Kind string `json:"kind,omitempty"`
}

// MakeEvalSet draws n items of each kind from passages with a fixed seed,
// so two checkpoints are compared on identical questions. Spans are whole
// words that occur once in their paragraph (so the masked answer is
// unambiguous).
func MakeEvalSet(passages []data.Passage, n int, seed uint64) []EvalItem {
	stop := stopwords.English()
	var out []EvalItem
	for ki, kind := range []string{KindSingle, KindMulti, KindContent} {
		rng := rand.New(rand.NewPCG(seed, uint64(ki)))
		order := rng.Perm(len(passages))
		got := 0
		for _, pi := range order {
			if got >= n {
				break
			}
			p := passages[pi]
			ws := data.Words(p.Text)
			if len(ws) < 8 {
				continue
			}
			l := 1
			if kind == KindMulti {
				l = 2 + rng.IntN(2)
			}
			// A few tries per passage for a span that qualifies.
			for try := 0; try < 8; try++ {
				s := rng.IntN(len(ws) - l + 1)
				span := p.Text[ws[s].Start:ws[s+l-1].End]
				if kind == KindContent && stop.OnlyStopWords(span) {
					continue
				}
				if m, why := task.ValidateMask(p.Text, span, task.MaskOptions{MaxOccurrences: 2, WordAligned: true}); why != task.Valid || m.Occurrences() != 1 {
					continue
				}
				out = append(out, EvalItem{ID: p.ID, Text: p.Text, Span: span, Kind: kind})
				got++
				break
			}
		}
	}
	return out
}

// ReadEvalItems reads a mask file: JSONL {"id", "text", "span"[, "kind"]}.
func ReadEvalItems(path string) ([]EvalItem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read masks: %w", err)
	}
	defer f.Close()
	var out []EvalItem
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var it EvalItem
		if err := json.Unmarshal(sc.Bytes(), &it); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if it.Text == "" || it.Span == "" {
			return nil, fmt.Errorf("%s:%d: text and span are required", path, line)
		}
		if it.Kind == "" {
			it.Kind = KindSingle
			if len(data.Words(it.Span)) > 1 {
				it.Kind = KindMulti
			}
		}
		out = append(out, it)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read masks %s: %w", path, err)
	}
	return out, nil
}

// KindResult is the accuracy on one kind of question, with a 95% Wilson
// score interval.
type KindResult struct {
	N        int     `json:"n"`
	Correct  int     `json:"correct"`
	Accuracy float64 `json:"accuracy"`
	Low      float64 `json:"ci95_low"`
	High     float64 `json:"ci95_high"`
	// Normalised accuracy (case and punctuation folded), logged alongside.
	Normalised float64 `json:"normalised_accuracy"`
	Unparsed   int     `json:"unparsed"`
}

// EvalReport is an evaluation's result per kind.
type EvalReport struct {
	Kinds map[string]*KindResult `json:"kinds"`
}

// Wilson is the 95% Wilson score interval of k successes in n trials.
func Wilson(k, n int) (lo, hi float64) { return bench.Wilson(k, n) }

// EvalOptions configure Evaluate.
type EvalOptions struct {
	Templates task.Templates
	MaxTokens int
}

// Evaluate asks the engine each question with greedy decoding and scores
// the last \boxed{} by exact match.
func Evaluate(ctx context.Context, eng Engine, tok Tokenizer, items []EvalItem, o EvalOptions) (*EvalReport, error) {
	if o.MaxTokens <= 0 {
		o.MaxTokens = 16
	}
	if o.Templates == (task.Templates{}) {
		o.Templates = task.DefaultTemplates()
	}
	reqs := make([]GenRequest, len(items))
	for i, it := range items {
		m, why := task.ValidateMask(it.Text, it.Span, task.MaskOptions{})
		if why != task.Valid {
			return nil, fmt.Errorf("eval item %d (%s): span %q: %s", i, it.ID, it.Span, why)
		}
		masked := task.MaskParagraph(it.Text, m, true, nil)
		reqs[i] = GenRequest{Prompt: tok.EncodeSpecial(o.Templates.PredictionPrompt(masked)), N: 1,
			Sampling: sample.Options{}, MaxNewTokens: o.MaxTokens}
	}
	out, err := eng.Generate(ctx, reqs)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	rep := &EvalReport{Kinds: map[string]*KindResult{}}
	for i, it := range items {
		text, _ := tok.Decode(out[i].Completions[0].IDs)
		v := task.Verify(text, it.Span)
		k := rep.Kinds[it.Kind]
		if k == nil {
			k = &KindResult{}
			rep.Kinds[it.Kind] = k
		}
		k.N++
		if v.Strict {
			k.Correct++
		}
		if v.Normalised {
			k.Normalised++
		}
		if !v.Parsed {
			k.Unparsed++
		}
	}
	for _, k := range rep.Kinds {
		k.Accuracy = float64(k.Correct) / float64(max(k.N, 1))
		k.Normalised /= float64(max(k.N, 1))
		k.Low, k.High = Wilson(k.Correct, k.N)
	}
	return rep, nil
}

// KindNames lists the kinds in report order.
func (r *EvalReport) KindNames() []string {
	var ks []string
	for k := range r.Kinds {
		ks = append(ks, k)
	}
	sortKinds(ks)
	return ks
}

func kindRank(k string) int {
	switch k {
	case KindSingle:
		return 0
	case KindMulti:
		return 1
	case KindContent:
		return 2
	case KindAll:
		return 4
	}
	return 3
}

// KindAll is the pooled column WithTotal adds.
const KindAll = "all"

// sortKinds orders kinds for reports: the random kinds first, then the
// others (a mask file's own kinds, such as pz data synth's attributes) by
// name, KindAll last.
func sortKinds(ks []string) {
	slices.SortFunc(ks, func(a, b string) int {
		if d := kindRank(a) - kindRank(b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
}

// kinds lists the kinds of every arm in report order; a comparison with
// none shows the three random kinds.
func (c Comparison) kinds() []string {
	seen := map[string]bool{}
	var ks []string
	for _, a := range c.Arms {
		for k := range a.Kinds {
			if !seen[k] {
				seen[k] = true
				ks = append(ks, k)
			}
		}
	}
	if len(ks) == 0 {
		return []string{KindSingle, KindMulti, KindContent}
	}
	sortKinds(ks)
	return ks
}

// WithTotal returns a copy of c whose arms also have KindAll: every
// question of the arm pooled, with its interval.
func (c Comparison) WithTotal() Comparison {
	out := Comparison{Arms: make([]Arm, len(c.Arms))}
	for i, a := range c.Arms {
		b := a
		b.Kinds = map[string]*KindResult{}
		t := &KindResult{}
		for k, r := range a.Kinds {
			b.Kinds[k] = r
			if k == KindAll {
				continue
			}
			t.N += r.N
			t.Correct += r.Correct
			t.Unparsed += r.Unparsed
			t.Normalised += r.Normalised * float64(r.N)
		}
		t.Accuracy = float64(t.Correct) / float64(max(t.N, 1))
		t.Normalised /= float64(max(t.N, 1))
		t.Low, t.High = Wilson(t.Correct, t.N)
		b.Kinds[KindAll] = t
		out.Arms[i] = b
	}
	return out
}

// Arm is one model's evaluation in a Comparison.
type Arm struct {
	Name  string                 `json:"name"`
	Model string                 `json:"model,omitempty"`
	Kinds map[string]*KindResult `json:"kinds"`
}

// Comparison is several models evaluated on identical questions
// (comparison.json, read by pz report).
type Comparison struct {
	Arms []Arm `json:"arms"`
}

// WriteTable prints accuracy with 95% intervals, one row per arm.
func (c Comparison) WriteTable(w io.Writer) {
	kinds := c.kinds()
	fmt.Fprintf(w, "%-16s", "model")
	for _, k := range kinds {
		fmt.Fprintf(w, " %-26s", k)
	}
	fmt.Fprintln(w)
	for _, a := range c.Arms {
		fmt.Fprintf(w, "%-16s", a.Name)
		for _, k := range kinds {
			r := a.Kinds[k]
			if r == nil {
				fmt.Fprintf(w, " %-26s", "-")
				continue
			}
			fmt.Fprintf(w, " %-26s", fmt.Sprintf("%5.1f%% [%4.1f, %4.1f] n=%d", 100*r.Accuracy, 100*r.Low, 100*r.High, r.N))
		}
		fmt.Fprintln(w)
	}
}

// Pool merges the arms whose names match pattern (path.Match syntax) into
// one arm named name: counts add up, and the interval is recomputed on the
// pooled counts (seeds pooled as one larger sample).
func (c Comparison) Pool(name, pattern string) (Arm, error) {
	out := Arm{Name: name, Kinds: map[string]*KindResult{}}
	matched := 0
	for _, a := range c.Arms {
		ok, err := path.Match(pattern, a.Name)
		if err != nil {
			return out, fmt.Errorf("pool %s: pattern %q: %w", name, pattern, err)
		}
		if !ok {
			continue
		}
		matched++
		for k, r := range a.Kinds {
			p := out.Kinds[k]
			if p == nil {
				p = &KindResult{}
				out.Kinds[k] = p
			}
			p.N += r.N
			p.Correct += r.Correct
			p.Unparsed += r.Unparsed
			p.Normalised += r.Normalised * float64(r.N)
		}
	}
	if matched == 0 {
		return out, fmt.Errorf("pool %s: no arm matches %q", name, pattern)
	}
	for _, p := range out.Kinds {
		p.Accuracy = float64(p.Correct) / float64(max(p.N, 1))
		p.Normalised /= float64(max(p.N, 1))
		p.Low, p.High = Wilson(p.Correct, p.N)
	}
	return out, nil
}

// WriteMarkdown prints the comparison as a Markdown table.
func (c Comparison) WriteMarkdown(w io.Writer) {
	kinds := c.kinds()
	fmt.Fprint(w, "| arm |")
	for _, k := range kinds {
		fmt.Fprintf(w, " %s |", kindTitle(k))
	}
	fmt.Fprint(w, "\n|---|")
	for range kinds {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	for _, a := range c.Arms {
		fmt.Fprintf(w, "| %s |", a.Name)
		for _, k := range kinds {
			if r := a.Kinds[k]; r != nil {
				fmt.Fprintf(w, " %.1f%% [%.1f, %.1f] (%d/%d) |", 100*r.Accuracy, 100*r.Low, 100*r.High, r.Correct, r.N)
			} else {
				fmt.Fprint(w, " – |")
			}
		}
		fmt.Fprintln(w)
	}
}

func kindTitle(k string) string {
	switch k {
	case KindSingle, KindContent:
		return k + " word"
	case KindMulti:
		return k + "-word span"
	}
	return k
}
