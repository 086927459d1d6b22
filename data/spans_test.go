package data

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestWords(t *testing.T) {
	cases := []struct {
		text string
		want []string
	}{
		{"Hello, world!", []string{"Hello", "world"}},
		{"don't stop state-of-the-art", []string{"don't", "stop", "state-of-the-art"}},
		{"  (Café) 1,800 years—ago ", []string{"Café", "1", "800", "years", "ago"}},
		{"-- ''", nil},
		{"end-", []string{"end"}},
	}
	for _, c := range cases {
		var got []string
		for _, w := range Words(c.text) {
			got = append(got, c.text[w.Start:w.End])
		}
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("Words(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}

// The truncated geometric with p = 0.2, max 10 has mean
// sum_l l p q^(l-1) / (1 - q^10) = 3.7971 (computed in Python; SpanBERT quotes 3.8), and
// P(1) = 0.2 / (1 - 0.8^10) = 0.22406.
func TestSpanLength(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 200000
	sum, ones := 0, 0
	for range n {
		l := SpanLength(r, 0.2, 10)
		if l < 1 || l > 10 {
			t.Fatalf("length %d out of [1,10]", l)
		}
		sum += l
		if l == 1 {
			ones++
		}
	}
	mean := float64(sum) / n
	if math.Abs(mean-3.7971) > 0.02 {
		t.Errorf("mean %.4f, want 3.7971", mean)
	}
	if p1 := float64(ones) / n; math.Abs(p1-0.22406) > 0.003 {
		t.Errorf("P(1) = %.4f, want 0.22406", p1)
	}
}

func TestRandomWordSpan(t *testing.T) {
	text := "In 1718, Edmond Halley discovered the proper motion of the hitherto presumed \"fixed\" stars."
	ws := Words(text)
	r := rand.New(rand.NewPCG(3, 4))
	starts, ends := map[int]bool{}, map[int]bool{}
	for _, w := range ws {
		starts[w.Start], ends[w.End] = true, true
	}
	for range 2000 {
		s, ok := RandomWordSpan(r, text, WordSpanOptions{})
		if !ok {
			t.Fatal("no span")
		}
		if text[s.Start:s.End] != s.Text || !starts[s.Start] || !ends[s.End] {
			t.Fatalf("span %+v not word aligned", s)
		}
		if n := len(Words(s.Text)); n < 1 || n > 10 {
			t.Fatalf("span of %d words", n)
		}
	}
	if _, ok := RandomWordSpan(r, " -- ", WordSpanOptions{}); ok {
		t.Error("span in a text without words")
	}
	s, _ := RandomWordSpan(r, "single", WordSpanOptions{})
	if s.Text != "single" {
		t.Errorf("one-word text: %+v", s)
	}
}

func TestRandomTruncation(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	hit := map[int]bool{}
	for range 1000 {
		i, ok := RandomTruncation(r, 8, 3)
		if !ok || i < 3 || i > 7 {
			t.Fatalf("index %d ok=%v", i, ok)
		}
		hit[i] = true
	}
	if len(hit) != 5 {
		t.Errorf("hit %v, want all of 3..7", hit)
	}
	if _, ok := RandomTruncation(r, 3, 3); ok {
		t.Error("truncation with no target")
	}
}

func TestEntropyPosition(t *testing.T) {
	// Positions >= 2 are 2..11 (10 of them); top 20% = 2 positions:
	// 9 (entropy 5) and 4 (entropy 4). Position 0 has the highest entropy
	// but is inside the minimum prefix.
	ent := []float32{9, 1, 0.5, 2, 4, 1, 1, 3, 0, 5, 1, float32(math.NaN())}
	r := rand.New(rand.NewPCG(7, 8))
	hit := map[int]int{}
	for range 1000 {
		i, ok := EntropyPosition(r, ent, 0.2, 2)
		if !ok {
			t.Fatal("no position")
		}
		hit[i]++
	}
	// NaN is skipped, so 9 valid positions: ceil(0.2*9) = 2.
	if len(hit) != 2 || hit[9] == 0 || hit[4] == 0 {
		t.Errorf("picked %v, want only 9 and 4", hit)
	}
	if _, ok := EntropyPosition(r, ent[:2], 0.2, 2); ok {
		t.Error("position with none eligible")
	}
}
