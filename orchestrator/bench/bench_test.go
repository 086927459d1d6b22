package bench

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// TestExtractLetters: each harness's rules in order, with their quirks.
func TestExtractLetters(t *testing.T) {
	opts := []string{"12 m", "1 m", "120 m", "3 s"}
	cases := map[Kind][]struct{ name, text, letter, source string }{
		MMLUPro: {
			{"boxed first", "The answer is (B). Actually \\boxed{D}", "D", SourceBoxedLetter},
			{"boxed in text", "so \\boxed{\\text{(E)}}", "E", SourceBoxedLetter},
			{"boxed non-letter falls through", "\\boxed{42} the answer is (C)", "C", SourceAnswerIs},
			{"answer is with parens", "Thus the answer is (C).", "C", SourceAnswerIs},
			{"answer is bare", "the answer is J", "J", SourceAnswerIs},
			{"first answer is wins", "the answer is (A) ... no, the answer is (B)", "A", SourceAnswerIs},
			{"answer is lowercase letter is not a letter", "the answer is (c). Answer: D", "D", SourceAnswerColon},
			{"answer colon", "Reasoning...\nAnswer: G", "G", SourceAnswerColon},
			{"answer colon last on the first line", "Answer: A, no wait Answer: B\nAnswer: C", "B", SourceAnswerColon},
			{"answer colon across newline", "answer:\n  F", "F", SourceAnswerColon},
			{"last standalone letter", "Option B looks wrong, so I pick H here", "H", SourceLastLetter},
			{"letter K is no option", "so it is K", "", ""},
			{"a capital I is a letter (the harness's own quirk)", "I pick K", "I", SourceLastLetter},
			{"nothing", "no idea at all", "", ""},
		},
		SuperGPQA: {
			{"boxed", "so \\boxed{C}", "C", SourceBoxedLetter},
			{"the answer is, last line", "A is tempting.\nThe correct answer is (B).", "B", SourceAnswerIs},
			{"the final answer is boxed", "The final answer is $\\boxed{D}$.", "D", SourceBoxedLetter},
			{"the best option is", "The best option is: c.", "C", SourceAnswerIs},
			{"answer colon bold", "**Answer:** A", "A", SourceAnswerColon},
			{"bold then parenthesis is missed, as by the harness", "**Answer:** (A)", "", ""},
			{"last line is the letter", "Reasoning here.\n(C).", "C", SourceLineStart},
			{"last line before earlier text", "The answer is A.\nAnswer: B", "B", SourceAnswerColon},
			{"whole text when last line has none", "The answer is D.\nWe are confident.", "D", SourceAnswerIs},
			{"a last line starting with I reads as I (the harness is case-insensitive)", "The answer is D.\nI am confident.", "I", SourceLineStart},
			{"option text after a cue", "The answer is 120 m, clearly.", "C", SourceOptionContent},
			{"option text leftmost, longer wins", "it must be 12 m in total", "A", SourceOptionContent},
			{"nothing", "no idea", "", ""},
		},
	}
	for kind, cs := range cases {
		for _, c := range cs {
			var l, s string
			if kind == MMLUPro {
				l, s = ExtractMMLUPro(c.text)
			} else {
				l, s = ExtractSuperGPQA(c.text, opts)
			}
			if l != c.letter || s != c.source {
				t.Errorf("%s %s: extract(%q) = %q, %q; want %q, %q", kind, c.name, c.text, l, s, c.letter, c.source)
			}
		}
	}
}

func TestScore(t *testing.T) {
	mc := Item{Options: []string{"a", "b", "c"}, Answer: "B"}
	for _, c := range []struct {
		name string
		kind Kind
		it   Item
		text string
		want Verdict
	}{
		{"mc right", MMLUPro, mc, "the answer is (B)", Verdict{Extracted: "B", Correct: true, Source: SourceAnswerIs}},
		{"mc wrong", MMLUPro, mc, "the answer is (A)", Verdict{Extracted: "A", Reason: ReasonWrong, Source: SourceAnswerIs}},
		{"mc letter past the options", MMLUPro, mc, "the answer is (H)", Verdict{Extracted: "H", Reason: ReasonNotAnOption, Source: SourceAnswerIs}},
		{"mc nothing", MMLUPro, mc, "hmm", Verdict{Reason: ReasonNoAnswer}},
		{"math right", Math, Item{Answer: "\\frac{1}{2}"}, "so \\boxed{0.5}", Verdict{Extracted: "0.5", Correct: true, Source: "math_boxed"}},
		{"math wrong", Math, Item{Answer: "3"}, "so \\boxed{4}", Verdict{Extracted: "4", Reason: ReasonWrong, Source: "math_boxed"}},
		{"math unclosed", Math, Item{Answer: "3"}, "so \\boxed{3", Verdict{Reason: ReasonUnclosedBoxed}},
		{"math no last number", Math, Item{Answer: "3"}, "it is 3", Verdict{Reason: ReasonNoAnswer}},
		{"gsm8k last number", GSM8K, Item{Answer: "1250"}, "she pays 1,250", Verdict{Extracted: "1250", Correct: true, Source: "math_last_number"}},
		{"aime leading zeros", AIME, Item{Answer: "33"}, "\\boxed{033}", Verdict{Extracted: "033", Correct: true, Source: "math_boxed"}},
	} {
		if got := Score(c.kind, c.it, c.text); got != c.want {
			t.Errorf("%s: Score = %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestAggregate(t *testing.T) {
	items := []Item{{Category: "x"}, {Category: "x"}, {Category: "y"}, {Category: "y"}, {Category: "y"}, {Category: "y"}}
	T, F := Verdict{Correct: true, Source: "s"}, Verdict{Reason: ReasonWrong}
	// k = 2: per-question accuracies 1, 1, .5, .5, .5, 0: mean 7/12; the
	// interval (Python's statistics.stdev / sqrt(6) * 1.96) is
	// [0.282167, 0.884500].
	all, cats, reasons, sources := Aggregate(items, [][]Verdict{{T, T}, {T, T}, {T, F}, {F, T}, {T, F}, {F, F}})
	if math.Abs(all.Accuracy-7.0/12) > 1e-12 || all.Correct != 7 || all.Samples != 12 || math.Abs(all.Low-0.282167) > 1e-6 || math.Abs(all.High-0.884500) > 1e-6 {
		t.Errorf("overall %+v", all)
	}
	if math.Abs(all.PassAtK-5.0/6) > 1e-12 {
		t.Errorf("pass@k %v, want 5/6", all.PassAtK)
	}
	if cats["x"].Accuracy != 1 || cats["y"].Accuracy != 0.375 || cats["y"].Questions != 4 {
		t.Errorf("categories %+v", cats)
	}
	if reasons[ReasonWrong] != 5 || sources["s"] != 7 {
		t.Errorf("reasons %v sources %v", reasons, sources)
	}
	// k = 2, every question 0 of 2: Wilson's interval over 6 questions,
	// [0, 0.3903] (z²/(n+z²) = 3.8415/9.8415).
	zero, _, _, _ := Aggregate(items, [][]Verdict{{F, F}, {F, F}, {F, F}, {F, F}, {F, F}, {F, F}})
	if zero.Low != 0 || math.Abs(zero.High-0.39033) > 1e-4 {
		t.Errorf("all wrong: interval [%v, %v]", zero.Low, zero.High)
	}
	// k = 1: Wilson. 1 of 2 → [0.0945, 0.9055] (Wilson 1927, z = 1.96).
	one, _, _, _ := Aggregate(items[:2], [][]Verdict{{T}, {F}})
	if math.Abs(one.Low-0.09453) > 1e-4 || math.Abs(one.High-0.90547) > 1e-4 {
		t.Errorf("Wilson interval [%v, %v]", one.Low, one.High)
	}
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadItemsJSONL(t *testing.T) {
	p := writeFile(t, "mmlu.jsonl", `{"question_id": 7, "question": "q?", "options": ["x", "y", "z"], "answer": "C", "answer_index": 2, "category": "law"}
{"question_id": 8, "question": "r?", "options": ["x", "y"], "answer_index": 0, "category": "math", "completion": "the answer is (A)"}
`)
	items, err := ReadItems(p, MMLUPro, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].ID != "7" || items[0].Answer != "C" || items[1].Answer != "A" || items[0].Category != "law" || len(items[0].Options) != 3 {
		t.Fatalf("items %+v", items)
	}
	gsm := writeFile(t, "gsm.jsonl", `{"question": "How many?", "answer": "3 + 4 = <<3+4=7>>7\n#### 7"}`+"\n")
	items, err = ReadItems(gsm, GSM8K, ReadOptions{})
	if err != nil || items[0].Answer != "7" {
		t.Fatalf("gsm8k %+v %v", items, err)
	}
	aime := writeFile(t, "aime.jsonl", `{"ID": "2024-I-1", "Problem": "p", "Answer": 204}`+"\n")
	items, err = ReadItems(aime, AIME, ReadOptions{})
	if err != nil || items[0].Answer != "204" || items[0].ID != "2024-I-1" {
		t.Fatalf("aime %+v %v", items, err)
	}
	olymp := writeFile(t, "ob.jsonl", `{"question": "p", "final_answer": ["$3$", "$-2$"]}`+"\n")
	items, err = ReadItems(olymp, Math, ReadOptions{})
	if err != nil || items[0].Answer != "$3$, $-2$" {
		t.Fatalf("olympiadbench %+v %v", items, err)
	}
}

func TestReadItemsErrors(t *testing.T) {
	for _, c := range []struct {
		name, kind, body, want string
		o                      ReadOptions
	}{
		{"missing answer column", "math", `{"problem": "p", "answer": "1"}` + "\n" + `{"problem": "p2", "solution": "s"}`, `:2: missing column "answer"`, ReadOptions{}},
		{"empty answer", "math", `{"problem": "p", "answer": " "}`, `:1: column "answer" is empty`, ReadOptions{}},
		{"answer key outside the options", "mmlu-pro", `{"question": "q", "options": ["a", "b"], "answer": "D"}`, `:1: column "answer": answer key "D" is outside the 2 options (A–B)`, ReadOptions{}},
		{"letter and index disagree", "mmlu-pro", `{"question": "q", "options": ["a", "b"], "answer": "A", "answer_index": 1}`, `disagree`, ReadOptions{}},
		{"not a letter", "supergpqa", `{"question": "q", "options": ["a", "b"], "answer_letter": "AB"}`, `column "answer_letter": "AB" is not an option letter`, ReadOptions{}},
		{"supergpqa answer text not an option", "supergpqa", `{"question": "q", "options": ["a", "b"], "answer": "c"}`, `column "answer": "c" is none of the options`, ReadOptions{}},
		{"too many options", "mmlu-pro", `{"question": "q", "options": ["1","2","3","4","5","6","7","8","9","10","11"], "answer": "A"}`, `11 options, at most 10`, ReadOptions{}},
		{"unknown layout", "mmlu-pro", `{"problem": "p", "answer": "1"}`, `unknown layout for --bench mmlu-pro: columns [answer, problem]`, ReadOptions{}},
		{"gsm8k without ####", "gsm8k", `{"question": "q", "answer": "7"}`, `:1: column "answer": no "####"`, ReadOptions{}},
		{"aime not an integer", "aime", `{"problem": "q", "answer": "1/2"}`, `is not an integer`, ReadOptions{}},
		{"predictions without completion", "math", `{"problem": "q", "answer": "2"}`, `:1: missing column "completion"`, ReadOptions{Predictions: true}},
		{"bad json", "math", `{"problem": `, `:1:`, ReadOptions{}},
		{"repeated id", "math", `{"id": 1, "problem": "q", "answer": "2"}` + "\n" + `{"id": 1, "problem": "q", "answer": "2"}`, `:2: id "1" repeats`, ReadOptions{}},
	} {
		p := writeFile(t, "b.jsonl", c.body+"\n")
		kind, _ := ParseKind(c.kind)
		_, err := ReadItems(p, kind, c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v, want one naming %s and containing %q", c.name, err, p, c.want)
		}
	}
	if _, err := ParseKind("mmlu"); err == nil {
		t.Error("ParseKind(mmlu) accepted")
	}
}

// TestReadItemsParquet reads MMLU-Pro's and SuperGPQA's Parquet layouts
// (options as a LIST column, integer answer_index) written here with
// parquet-go.
func TestReadItemsParquet(t *testing.T) {
	type mmlu struct {
		QuestionID  int64    `parquet:"question_id"`
		Question    string   `parquet:"question"`
		Options     []string `parquet:"options,list"`
		Answer      string   `parquet:"answer"`
		AnswerIndex int64    `parquet:"answer_index"`
		Category    string   `parquet:"category"`
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[mmlu](&buf)
	if _, err := w.Write([]mmlu{{1, "q1", []string{"a", "b", "c"}, "B", 1, "physics"}, {2, "q2", []string{"a", "b"}, "A", 0, "law"}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "mmlu.parquet")
	os.WriteFile(p, buf.Bytes(), 0o644)
	items, err := ReadItems(p, MMLUPro, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].Answer != "B" || items[0].ID != "1" || items[1].Category != "law" || items[0].Options[2] != "c" {
		t.Fatalf("items %+v", items)
	}
	type sg struct {
		UUID         string   `parquet:"uuid"`
		Question     string   `parquet:"question"`
		Options      []string `parquet:"options,list"`
		Answer       string   `parquet:"answer"`
		AnswerLetter string   `parquet:"answer_letter"`
		Discipline   string   `parquet:"discipline"`
		Completions  []string `parquet:"completions,list"`
	}
	buf.Reset()
	w2 := parquet.NewGenericWriter[sg](&buf)
	w2.Write([]sg{{"u1", "q", []string{"x", "y", "z"}, "z", "C", "Science", []string{"The answer is (C)", "Answer: A"}}})
	w2.Close()
	p2 := filepath.Join(t.TempDir(), "sg.parquet")
	os.WriteFile(p2, buf.Bytes(), 0o644)
	items, err = ReadItems(p2, SuperGPQA, ReadOptions{Predictions: true})
	if err != nil {
		t.Fatal(err)
	}
	vs, res := ScorePredictions(SuperGPQA, items)
	if items[0].Answer != "C" || !vs[0][0].Correct || vs[0][1].Correct || res.K != 2 || res.Metric != "mean@2" || res.Accuracy != 0.5 {
		t.Fatalf("items %+v verdicts %+v result %+v", items, vs, res)
	}
	// A Parquet row with the wrong layout names the row.
	_, err = ReadItems(p2, MMLUPro, ReadOptions{})
	if err == nil || !strings.Contains(err.Error(), "row 0") {
		t.Errorf("supergpqa file read as mmlu-pro: %v", err)
	}
}

func TestWriteRows(t *testing.T) {
	p := filepath.Join(t.TempDir(), "out.jsonl")
	items := []Item{{ID: "a", Answer: "B", Row: 0}, {ID: "b", Answer: "2", Row: 1}}
	vs := [][]Verdict{{{Extracted: "B", Correct: true}}, {{Extracted: "3", Reason: ReasonWrong}, {Extracted: "2", Correct: true}}}
	if err := WriteRows(p, items, vs, nil); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	var l RowLine
	json.Unmarshal([]byte(lines[1]), &l)
	if l.ID != "b" || l.Extracted != "3" || l.Correct || l.Accuracy != 0.5 || len(l.Samples) != 2 {
		t.Errorf("line 2: %+v", l)
	}
}
