package data

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestKindOf(t *testing.T) {
	// "Ann Lee was born in Oslo. Code QX7-30918." with its labels.
	l := SpanLabels{"p": {
		{Start: 0, End: 7, Kind: KindName},
		{Start: 20, End: 24, Kind: KindAttribute, Field: "city"},
		{Start: 31, End: 40, Kind: KindNoise},
	}}
	cases := []struct {
		name       string
		id         string
		start, end int
		want       string
	}{
		{"exactly the attribute", "p", 20, 24, KindAttribute},
		{"part of the attribute", "p", 21, 23, KindAttributePart},
		{"attribute and its full stop", "p", 20, 25, KindAttribute},
		{"mostly template words", "p", 8, 24, KindOther},
		{"the name", "p", 0, 3, KindName},
		{"from the name to the attribute, mostly template words", "p", 2, 21, KindOther},
		{"a serial", "p", 31, 40, KindNoise},
		{"template word", "p", 8, 11, KindOther},
		{"unlabelled passage", "q", 0, 7, KindOther},
	}
	for _, tc := range cases {
		if got := l.KindOf(tc.id, tc.start, tc.end); got != tc.want {
			t.Errorf("%s: KindOf(%d, %d) = %s, want %s", tc.name, tc.start, tc.end, got, tc.want)
		}
	}
}

func TestSpanLabelsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if l, err := ReadSpanLabels(dir); err != nil || l != nil {
		t.Fatalf("no file: %v, %v; want nil, nil", l, err)
	}
	if l, err := ReadSpanLabels(filepath.Join(dir, "*.jsonl")); err != nil || l != nil {
		t.Fatalf("a glob: %v, %v; want nil, nil", l, err)
	}
	want := SpanLabels{"b#0": {{Start: 1, End: 4, Kind: KindFiller}}, "a#1": {{Start: 0, End: 2, Kind: KindAttribute, Field: "x"}}}
	if err := WriteSpanLabels(filepath.Join(dir, SpanLabelsFile), want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSpanLabels(dir)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("read back %v (%v), want %v", got, err, want)
	}
	os.WriteFile(filepath.Join(dir, SpanLabelsFile), []byte(`{"id":"a","spans":[{"start":3,"end":3,"kind":"noise"}]}`+"\n"), 0o644)
	if _, err := ReadSpanLabels(dir); err == nil || !strings.Contains(err.Error(), "spans.jsonl:1: span 0") {
		t.Fatalf("empty span: error %v, want one naming the line and span", err)
	}
}
