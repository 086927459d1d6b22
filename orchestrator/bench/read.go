package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// record is one row of a benchmark file, columns by lower-cased name.
type record struct {
	cols map[string]any
	at   string // "file:line N" or "file: row N"
}

// readRecords reads a JSONL (line N from 1) or Parquet (row N from 0) file.
func readRecords(path string) ([]record, []string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".ndjson", ".json":
		return readJSONL(path)
	case ".parquet":
		return readParquet(path)
	}
	return nil, nil, fmt.Errorf("%s: unknown format (want .jsonl or .parquet)", path)
}

func lowerKeys(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

func readJSONL(path string) ([]record, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read benchmark: %w", err)
	}
	defer f.Close()
	var out []record
	seen := map[string]bool{}
	var cols []string
	br := bufio.NewReaderSize(f, 1<<20)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(b)) > 0 {
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			var m map[string]any
			if derr := dec.Decode(&m); derr != nil {
				return nil, nil, fmt.Errorf("%s:%d: %w", path, line, derr)
			}
			m = lowerKeys(m)
			for k := range m {
				if !seen[k] {
					seen[k] = true
					cols = append(cols, k)
				}
			}
			out = append(out, record{cols: m, at: fmt.Sprintf("%s:%d", path, line)})
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
	slices.Sort(cols)
	return out, cols, nil
}

func readParquet(path string) (out []record, cols []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read benchmark: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("read benchmark: %w", err)
	}
	defer func() {
		if r := recover(); r != nil { // parquet-go may panic on corrupt input
			err = fmt.Errorf("%s: corrupt parquet: %v", path, r)
		}
	}()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("%s: parquet: %w", path, err)
	}
	for _, fl := range pf.Schema().Fields() {
		cols = append(cols, strings.ToLower(fl.Name()))
	}
	slices.Sort(cols)
	r := parquet.NewReader(pf)
	defer r.Close()
	for row := 0; ; row++ {
		m := map[string]any{}
		if err := r.Read(&m); err != nil {
			if err == io.EOF {
				break
			}
			return nil, nil, fmt.Errorf("%s: row %d: %w", path, row, err)
		}
		out = append(out, record{cols: lowerKeys(m), at: fmt.Sprintf("%s: row %d", path, row)})
	}
	return out, cols, nil
}

// str is a column's value as text: strings, numbers and bytes; ok is false
// when the column is absent or null.
func (r record) str(col string) (string, bool) {
	v, ok := r.cols[col]
	if !ok || v == nil {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	case json.Number:
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return fmt.Sprint(v), true
}

// strs is a list column's values as text (a single string is a list of
// one); ok is false when the column is absent or null.
func (r record) strs(col string) ([]string, bool, error) {
	v, ok := r.cols[col]
	if !ok || v == nil {
		return nil, false, nil
	}
	switch x := v.(type) {
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			s, ok := record{cols: map[string]any{"v": e}}.str("v")
			if !ok {
				return nil, true, fmt.Errorf("%s: column %q: element %d is null", r.at, col, i)
			}
			out[i] = s
		}
		return out, true, nil
	case []string:
		return x, true, nil
	}
	s, _ := r.str(col)
	return []string{s}, true, nil
}

// first returns the first of cols the record has (non-null), or "".
func (r record) first(cols ...string) string {
	for _, c := range cols {
		if v, ok := r.cols[c]; ok && v != nil {
			return c
		}
	}
	return ""
}

// ReadOptions configure ReadItems.
type ReadOptions struct {
	// Predictions requires a completion column ("completion", a string, or
	// "completions", a list of strings) on every row.
	Predictions bool
}

// layout says which columns a kind reads, for messages.
var layouts = map[Kind]string{
	MMLUPro:   "question, options (list), answer (letter) and/or answer_index, category",
	SuperGPQA: "question, options (list), answer_letter (or answer, an option's text), discipline, field, subfield",
	Math:      "problem (or question), answer (or final_answer), subject, level",
	GSM8K:     "question, answer (ending in #### N)",
	AIME:      "problem (or question), answer (an integer)",
}

// Layout describes the columns a kind reads.
func Layout(k Kind) string { return layouts[k] }

// ReadItems reads a benchmark file in kind's published layout. Errors name
// the file, the row and the column.
func ReadItems(path string, kind Kind, o ReadOptions) ([]Item, error) {
	recs, cols, err := readRecords(path)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%s: no rows", path)
	}
	if err := checkLayout(path, kind, cols); err != nil {
		return nil, err
	}
	items := make([]Item, 0, len(recs))
	ids := map[string]string{}
	for i, r := range recs {
		it, err := toItem(r, kind, i)
		if err != nil {
			return nil, err
		}
		if o.Predictions {
			if it.Completions, err = completions(r); err != nil {
				return nil, err
			}
		}
		if prev, dup := ids[it.ID]; dup {
			return nil, fmt.Errorf("%s: id %q repeats the id of %s", r.at, it.ID, prev)
		}
		ids[it.ID] = r.at
		it.Source, it.Row = path, i
		items = append(items, it)
	}
	return items, nil
}

// checkLayout refuses a file that has none of the columns the kind's
// layout needs, before reading rows (a file of another benchmark).
func checkLayout(path string, kind Kind, cols []string) error {
	has := func(names ...string) bool {
		for _, n := range names {
			if slices.Contains(cols, n) {
				return true
			}
		}
		return false
	}
	var ok bool
	switch kind {
	case MMLUPro:
		ok = has("question") && has("options") && has("answer", "answer_index")
	case SuperGPQA:
		ok = has("question") && has("options") && has("answer_letter", "answer")
	case Math, AIME:
		ok = has("problem", "question") && has("answer", "final_answer")
	case GSM8K:
		ok = has("question") && has("answer")
	}
	if !ok {
		return fmt.Errorf("%s: unknown layout for --bench %s: columns [%s]; want %s", path, kind, strings.Join(cols, ", "), layouts[kind])
	}
	return nil
}

func toItem(r record, kind Kind, i int) (Item, error) {
	it := Item{ID: strconv.Itoa(i)}
	if c := r.first("question_id", "uuid", "unique_id", "id"); c != "" {
		it.ID, _ = r.str(c)
	}
	need := func(cols ...string) (string, error) {
		c := r.first(cols...)
		if c == "" {
			return "", fmt.Errorf("%s: missing column %q", r.at, strings.Join(cols, `" or "`))
		}
		s, _ := r.str(c)
		if strings.TrimSpace(s) == "" {
			return "", fmt.Errorf("%s: column %q is empty", r.at, c)
		}
		return s, nil
	}
	var err error
	if it.Question, err = need("problem", "question"); err != nil {
		return it, err
	}
	switch kind {
	case MMLUPro, SuperGPQA:
		return mcItem(r, kind, it)
	case GSM8K:
		a, err := need("answer")
		if err != nil {
			return it, err
		}
		j := strings.LastIndex(a, "####")
		if j < 0 {
			return it, fmt.Errorf("%s: column \"answer\": no \"####\" before the final answer", r.at)
		}
		it.Answer = strings.TrimSpace(a[j+4:])
		if it.Answer == "" {
			return it, fmt.Errorf("%s: column \"answer\": nothing after \"####\"", r.at)
		}
	case Math, AIME:
		c := r.first("answer", "final_answer")
		if c == "" {
			return it, fmt.Errorf("%s: missing column \"answer\"", r.at)
		}
		vs, _, err := r.strs(c)
		if err != nil {
			return it, err
		}
		it.Answer = strings.TrimSpace(strings.Join(vs, ", ")) // OlympiadBench: a list of final answers
		if it.Answer == "" {
			return it, fmt.Errorf("%s: column %q is empty", r.at, c)
		}
		if kind == AIME {
			if _, err := strconv.Atoi(strings.TrimSpace(it.Answer)); err != nil {
				return it, fmt.Errorf("%s: column %q: %q is not an integer (AIME answers are)", r.at, c, it.Answer)
			}
		}
		if c := r.first("subject", "type", "subfield", "year"); c != "" {
			it.Category, _ = r.str(c)
		}
	}
	return it, nil
}

func mcItem(r record, kind Kind, it Item) (Item, error) {
	opts, ok, err := r.strs("options")
	if err != nil {
		return it, err
	}
	if !ok || len(opts) < 2 {
		return it, fmt.Errorf("%s: column \"options\": want a list of at least 2 options", r.at)
	}
	// MMLU-Pro pads some rows with "N/A" options; they stay (the harness
	// shows them too).
	if len(opts) > MaxOptions {
		return it, fmt.Errorf("%s: column \"options\": %d options, at most %d (A–%s) are supported", r.at, len(opts), MaxOptions, Letter(MaxOptions-1))
	}
	it.Options = opts
	letterCol := "answer"
	if kind == SuperGPQA {
		letterCol = "answer_letter"
	}
	idx := -1
	if s, ok := r.str(letterCol); ok {
		if idx = LetterIndex(s); idx < 0 {
			return it, fmt.Errorf("%s: column %q: %q is not an option letter", r.at, letterCol, s)
		}
		if idx >= len(opts) {
			return it, fmt.Errorf("%s: column %q: answer key %q is outside the %d options (A–%s)", r.at, letterCol, s, len(opts), Letter(len(opts)-1))
		}
	}
	if kind == MMLUPro {
		if s, ok := r.str("answer_index"); ok {
			j, err := strconv.Atoi(s)
			if err != nil || j < 0 || j >= len(opts) {
				return it, fmt.Errorf("%s: column \"answer_index\": %q is outside the %d options", r.at, s, len(opts))
			}
			if idx >= 0 && j != idx {
				return it, fmt.Errorf("%s: column \"answer\" (%s) and column \"answer_index\" (%d) disagree", r.at, Letter(idx), j)
			}
			idx = j
		}
		if c := r.first("category", "src"); c != "" {
			it.Category, _ = r.str(c)
		}
	} else {
		if s, ok := r.str("answer"); ok && idx < 0 {
			// No letter: find the option with the answer's text.
			for j, o := range opts {
				if strings.TrimSpace(o) == strings.TrimSpace(s) {
					idx = j
					break
				}
			}
			if idx < 0 {
				return it, fmt.Errorf("%s: column \"answer\": %q is none of the options", r.at, s)
			}
		}
		if c := r.first("discipline", "field"); c != "" {
			it.Category, _ = r.str(c)
		}
	}
	if idx < 0 {
		return it, fmt.Errorf("%s: missing column %q", r.at, letterCol)
	}
	it.Answer = Letter(idx)
	return it, nil
}

func completions(r record) ([]string, error) {
	if c := r.first("completions", "completion"); c != "" {
		vs, _, err := r.strs(c)
		if err != nil {
			return nil, err
		}
		if len(vs) == 0 {
			return nil, fmt.Errorf("%s: column %q is an empty list", r.at, c)
		}
		return vs, nil
	}
	return nil, fmt.Errorf("%s: missing column \"completion\" (a string) or \"completions\" (a list): --predictions needs the model's output on every row", r.at)
}
