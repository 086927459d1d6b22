package stopwords

import (
	"slices"
	"strings"
	"testing"
)

func TestEnglishList(t *testing.T) {
	lines := strings.Split(strings.TrimRight(englishText, "\n"), "\n")
	if !slices.IsSorted(lines) {
		t.Error("english.txt is not sorted")
	}
	for i, l := range lines {
		if l != strings.ToLower(strings.TrimSpace(l)) || l == "" {
			t.Errorf("line %d %q: not a trimmed lower-case word", i+1, l)
		}
	}
	if got := English().Len(); got != len(lines) || got < 150 {
		t.Errorf("English().Len() = %d, lines %d", got, len(lines))
	}
}

func TestContainsAndOnly(t *testing.T) {
	s := English()
	for _, tc := range []struct {
		text       string
		contains   bool
		onlyStop   bool
		wordsCount int
	}{
		{"of", true, true, 1},
		{"Of", true, true, 1},
		{"THE", true, true, 1},
		{"Paris", false, false, 1},
		{"of the", false, true, 2},
		{"the Eiffel Tower", false, false, 3},
		{", .", false, true, 0},
		{"   ", false, true, 0},
		{"state-of-the-art", false, false, 1},
		{"don't", false, false, 1},
		{"Über", false, false, 1},
	} {
		if got := s.Contains(tc.text); got != tc.contains {
			t.Errorf("Contains(%q) = %v", tc.text, got)
		}
		if got := s.OnlyStopWords(tc.text); got != tc.onlyStop {
			t.Errorf("OnlyStopWords(%q) = %v", tc.text, got)
		}
		if got := CountWords(tc.text); got != tc.wordsCount {
			t.Errorf("CountWords(%q) = %d, want %d", tc.text, got, tc.wordsCount)
		}
	}
	var nilSet *Set
	if nilSet.Contains("of") {
		t.Error("nil set contains a word")
	}
}
