package data

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"pz/internal/atomicfile"
)

// SpanLabelsFile holds the labelled spans of a data directory's passages
// (both splits), one JSON object per line: {"id": passage id, "spans":
// [{"start", "end", "kind", "field"}]}. Corpora with known ground truth
// (pz data synth) write it, so rollout metrics can say which kind of span
// each arm's generator chose.
const SpanLabelsFile = "spans.jsonl"

// Span kinds. Text outside every labelled span is KindOther.
const (
	KindAttribute = "attribute" // a fact about the passage's subject, learnable across passages
	// KindAttributePart is a span inside an attribute's value that leaves
	// part of it out (the "19" of "March 3, 1961"): often trivial.
	KindAttributePart = "attribute-part"
	KindName          = "name"   // the subject's name
	KindNoise         = "noise"  // a random code drawn afresh per passage: unlearnable
	KindFiller        = "filler" // a stock sentence from a small pool: trivial
	KindOther         = "other"  // template words, punctuation
)

// SpanKinds lists the kinds in report order.
func SpanKinds() []string {
	return []string{KindAttribute, KindAttributePart, KindName, KindNoise, KindFiller, KindOther}
}

// SpanLabel is one labelled byte range [Start, End) of a passage's text.
type SpanLabel struct {
	Start int    `json:"start"`
	End   int    `json:"end"`
	Kind  string `json:"kind"`
	Field string `json:"field,omitempty"` // the attribute's name, for KindAttribute
}

// SpanLabels maps a passage id to its labelled spans, sorted by Start and
// not overlapping.
type SpanLabels map[string][]SpanLabel

// KindOf classifies the byte range [start, end) of passage id's text: the
// kind of the labelled span it overlaps most (ties: the earlier span), or
// KindOther when it overlaps none, or more of it lies outside every
// labelled span than inside the best one. An attribute not wholly covered
// is KindAttributePart. A passage without labels is KindOther.
func (l SpanLabels) KindOf(id string, start, end int) string {
	best, bestOv, covered, whole := KindOther, 0, 0, false
	for _, s := range l[id] {
		ov := min(end, s.End) - max(start, s.Start)
		if ov <= 0 {
			continue
		}
		covered += ov
		if ov > bestOv {
			best, bestOv, whole = s.Kind, ov, start <= s.Start && end >= s.End
		}
	}
	if outside := (end - start) - covered; outside > bestOv {
		return KindOther
	}
	if best == KindAttribute && !whole {
		return KindAttributePart
	}
	return best
}

type spanLabelLine struct {
	ID    string      `json:"id"`
	Spans []SpanLabel `json:"spans"`
}

// WriteSpanLabels writes labels to path atomically, passages in id order.
func WriteSpanLabels(path string, l SpanLabels) error {
	ids := make([]string, 0, len(l))
	for id := range l {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return atomicfile.WriteFunc(path, 0o644, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		for _, id := range ids {
			if err := enc.Encode(spanLabelLine{ID: id, Spans: l[id]}); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReadSpanLabels reads dir/spans.jsonl; a directory (or raw input path)
// without one gives nil labels and no error.
func ReadSpanLabels(dir string) (SpanLabels, error) {
	path := filepath.Join(dir, SpanLabelsFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("span labels: %w", err)
	}
	defer f.Close()
	out := SpanLabels{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var l spanLabelLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if l.ID == "" {
			return nil, fmt.Errorf("%s:%d: no passage id", path, line)
		}
		for k, s := range l.Spans {
			if s.Start < 0 || s.End <= s.Start || s.Kind == "" {
				return nil, fmt.Errorf("%s:%d: span %d: want 0 <= start < end and a kind, got %+v", path, line, k, s)
			}
		}
		out[l.ID] = l.Spans
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}
