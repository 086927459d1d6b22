// Package bench holds the downstream benchmarks PretrainZero reports
// (MMLU-Pro, SuperGPQA, MATH-500/Minerva/OlympiadBench, GSM8K, AIME): their
// row layouts as published (JSONL or Parquet, the benchmarks' own column
// names), the prompts pz asks them with, answer extraction and scoring the
// way their harnesses do it, and the aggregate (mean@k, pass@1, 95%
// intervals, per category). It runs no model: orchestrator drives an engine
// with it, and --predictions scores completions from a file.
package bench

import (
	"fmt"
	"strings"
)

// Kind is a benchmark family.
type Kind string

// Benchmark kinds.
const (
	MMLUPro   Kind = "mmlu-pro"
	SuperGPQA Kind = "supergpqa"
	Math      Kind = "math" // MATH-500, Minerva, OlympiadBench: problem + answer
	GSM8K     Kind = "gsm8k"
	AIME      Kind = "aime" // AMC/AIME: integer answers
)

// Kinds lists every kind in help order.
var kindNames = []Kind{MMLUPro, SuperGPQA, Math, GSM8K, AIME}

// ParseKind validates a --bench value.
func ParseKind(s string) (Kind, error) {
	for _, k := range kindNames {
		if string(k) == strings.ToLower(s) {
			return k, nil
		}
	}
	names := make([]string, len(kindNames))
	for i, k := range kindNames {
		names[i] = string(k)
	}
	return "", fmt.Errorf("--bench %q: want one of %s", s, strings.Join(names, ", "))
}

// MultipleChoice reports whether the kind is scored by option letter.
func (k Kind) MultipleChoice() bool { return k == MMLUPro || k == SuperGPQA }

// MaxOptions is the most options a multiple-choice row may have: both
// MMLU-Pro and SuperGPQA publish up to ten (A–J), and both harnesses
// extract letters A–J only.
const MaxOptions = 10

// Item is one benchmark question.
type Item struct {
	ID       string   `json:"id"`
	Question string   `json:"question"`
	Options  []string `json:"options,omitempty"` // multiple choice only
	// Answer is the reference: an option letter (multiple choice) or the
	// final answer (math; GSM8K's text after ####).
	Answer   string `json:"answer"`
	Category string `json:"category,omitempty"`
	// Completions come from a predictions file (the row's completion or
	// completions column); nil otherwise.
	Completions []string `json:"-"`
	// Where the row came from, for messages.
	Source string `json:"-"`
	Row    int    `json:"-"`
}

// Letter is the option letter of index i (0 → "A").
func Letter(i int) string { return string(rune('A' + i)) }

// LetterIndex is the option index of a letter ("C" → 2), -1 for anything
// that is not one capital letter.
func LetterIndex(s string) int {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) != 1 || s[0] < 'A' || s[0] > 'Z' {
		return -1
	}
	return int(s[0] - 'A')
}
