package data

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"  hello   world  ", "hello world"},
		{"caf\u0065\u0301 au lait", "caf\u00e9 au lait"}, // NFC composes e + combining acute
		{"a\u00a0b\u2009c", "a b c"},                     // no-break and thin spaces
		{"line one\nline two\r\n\tthree", "line one line two three"},
		{"zero\u200bwidth\ufeff", "zero width"},
		{"keep punctuation: (a), \"b\" — c!", "keep punctuation: (a), \"b\" — c!"},
		{"", ""},
		{"\n\n", ""},
	}
	for _, c := range cases {
		if got := Normalize(c.in); got != c.want {
			t.Errorf("Normalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSplitParagraphs(t *testing.T) {
	got := splitParagraphs("a\nb\n\n\n  \nc\r\n\r\nd")
	want := [][]string{{"a", "b"}, {"c"}, {"d"}}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("paragraph %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestResidue(t *testing.T) {
	cases := []struct {
		name  string
		lines []string
		want  string
	}{
		{"prose", []string{"The cat sat on the mat, and it was happy there."}, ""},
		{"list", []string{"* one item", "* two item", "plain"}, DropList},
		{"numbered", []string{"1. first", "2. second"}, DropList},
		{"table", []string{"{| class=wikitable", "| a || b", "|-"}, DropTable},
		{"pipes", []string{"a | b | c", "d | e | f"}, DropTable},
		{"wikilink", []string{"See [[Paris]] for more."}, DropMarkup},
		{"template", []string{"Born {{birth date|1900}} in town."}, DropMarkup},
		{"html", []string{"Some <b>bold</b> text."}, DropMarkup},
		{"entity", []string{"Fish &amp; chips."}, DropMarkup},
		{"math less-than is fine", []string{"If x < 3 and y > 2 then fine."}, ""},
		{"url", []string{"See https://example.org for details."}, DropReference},
		{"retrieved", []string{"Smith, J. (2001). Title. Retrieved 3 May 2010."}, DropReference},
		{"citations", []string{"A claim.[1] Another claim.[23]"}, DropReference},
		{"caret", []string{"^ Smith 2001, p. 4."}, DropReference},
	}
	for _, c := range cases {
		if got := residue(c.lines, nil); got != c.want {
			t.Errorf("%s: residue = %q, want %q", c.name, got, c.want)
		}
	}
	counts := map[string]int{"Share this page": 3, "Unique line.": 1}
	if got := residue([]string{"Share this page"}, counts); got != DropBoilerplate {
		t.Errorf("repeated line: %q, want %q", got, DropBoilerplate)
	}
	if got := residue([]string{"Unique line."}, counts); got != "" {
		t.Errorf("unique line: %q, want clean", got)
	}
}

func TestQualityDrop(t *testing.T) {
	prose := "The river flows through the old town and past the mill, where the miller and his sons worked for many years before the war came to the valley."
	f := FilterOptions{}.withDefaults()
	cases := []struct {
		name, text string
		want       string
	}{
		{"prose", prose, ""},
		{"few words", "Too short to keep here.", DropFewWords},
		{"digits", "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 a b c", DropLetterRatio},
		{"cyrillic", strings.Repeat("Москва является столицей России и крупнейшим городом страны. ", 3), DropLanguage},
		{"no function words", strings.Repeat("Lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor. ", 3), DropLanguage},
	}
	for _, c := range cases {
		if got := qualityDrop(c.text, f); got != c.want {
			t.Errorf("%s: qualityDrop = %q, want %q", c.name, got, c.want)
		}
	}
	if got := qualityDrop(cases[3].text, FilterOptions{Lang: "none"}.withDefaults()); got != "" {
		t.Errorf("lang none: %q, want kept", got)
	}
}

func TestSplitToBudget(t *testing.T) {
	sent := "This is sentence number one. "
	text := strings.TrimSpace(strings.Repeat(sent, 10)) // 289 chars
	b := BudgetOptions{Min: 10, Max: 100}
	pieces := splitToBudget(text, b)
	// 29-char sentences (28 without the trailing space): 3 per piece = 28*3+2 = 86.
	if len(pieces) != 4 {
		t.Fatalf("got %d pieces %q, want 4", len(pieces), pieces)
	}
	if strings.Join(pieces, " ") != text {
		t.Errorf("pieces do not rejoin to the text")
	}
	for _, p := range pieces {
		if n := utf8.RuneCountInString(p); n > b.Max {
			t.Errorf("piece of %d chars > max %d", n, b.Max)
		}
	}
	// Just over budget: two balanced pieces (3 + 2 sentences), no scrap.
	five := strings.TrimSpace(strings.Repeat(sent, 5)) // 144 chars
	if pieces := splitToBudget(five, b); len(pieces) != 2 || len(pieces[0]) != 86 || len(pieces[1]) != 57 {
		t.Errorf("balanced split: %q", pieces)
	}
	// A single unbreakable word gets hard-cut at rune boundaries.
	word := strings.Repeat("é", 250)
	pieces = splitToBudget(word, b)
	if len(pieces) != 3 || strings.Join(pieces, "") != word {
		t.Fatalf("hard cut: %d pieces", len(pieces))
	}
	for _, p := range pieces {
		if !utf8.ValidString(p) || utf8.RuneCountInString(p) > 100 {
			t.Errorf("bad piece %q", p)
		}
	}
}

func TestSentences(t *testing.T) {
	got := sentences(`He said "Go." Then left! Did he? Yes (really.) End`)
	want := []string{`He said "Go."`, "Then left!", "Did he?", "Yes (really.)", "End"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("sentences = %q, want %q", got, want)
	}
}

// wordTokenizer is a test TokenCounter: one token per space-separated word.
type wordTokenizer struct{}

func (wordTokenizer) Encode(s string) []int32 { return make([]int32, len(strings.Fields(s))) }

func TestTokenBudget(t *testing.T) {
	words := make([]string, 250)
	for i := range words {
		words[i] = "the"
	}
	doc := Document{ID: "d", Title: "T", Text: strings.Join(words, " ") + "."}
	pr := processor{budget: BudgetOptions{Tokenizer: wordTokenizer{}, Min: 50, Max: 100}.withDefaults(), filter: FilterOptions{Lang: "none"}.withDefaults()}
	var out []candidate
	var cnt counts
	pr.document(doc, &out, &cnt)
	// 250 words, no sentence break: 3 pieces balanced to ceil(250/3) = 84.
	if len(out) != 3 {
		t.Fatalf("got %d candidates, want 3", len(out))
	}
	wantTok := []int{84, 84, 82}
	for i, c := range out {
		if c.drop != "" {
			t.Fatalf("piece %d dropped: %s", i, c.drop)
		}
		if c.p.NTokens != wantTok[i] || c.p.ID != passageID("d", 0, i, true) {
			t.Errorf("piece %d: id %s tokens %d, want %d", i, c.p.ID, c.p.NTokens, wantTok[i])
		}
	}
}

// A huge paragraph with no break at all is cut in linear time and its
// pieces counted (here as too few words), never crashing.
func TestHugeUnbreakableParagraph(t *testing.T) {
	for _, tok := range []TokenCounter{nil, charTokenizer{}} {
		pr := processor{budget: BudgetOptions{Tokenizer: tok, Min: 10, Max: 4000}.withDefaults(), filter: FilterOptions{}.withDefaults()}
		var out []candidate
		var cnt counts
		pr.document(Document{ID: "big", Text: strings.Repeat("x", 2<<20)}, &out, &cnt)
		if want := (2<<20)/4000 + 1; len(out) != want {
			t.Fatalf("tokenizer %v: %d pieces, want %d", tok, len(out), want)
		}
		for _, c := range out {
			if c.drop != DropFewWords {
				t.Fatalf("piece kept or dropped as %q", c.drop)
			}
		}
	}
}

// charTokenizer: one token per byte.
type charTokenizer struct{}

func (charTokenizer) Encode(s string) []int32 { return make([]int32, len(s)) }

func TestPackShortParagraphs(t *testing.T) {
	// Paragraph lengths 40, 40, 40, 150, 40 with min 100, max 200: the first
	// three pack into one passage of 40+2+40+2+40 = 124 chars at index 0;
	// 150 stands alone at index 3; the last 40 stays too short.
	p40 := strings.Repeat("abcd ", 8)[:39] + "."
	p150 := strings.Repeat("wxyz ", 30)[:149] + "."
	doc := Document{ID: "d", Text: strings.Join([]string{p40, p40, p40, p150, p40}, "\n\n")}
	pr := processor{budget: BudgetOptions{Min: 100, Max: 200, Pack: true}.withDefaults(), filter: FilterOptions{MinWords: -1, MinLetterRatio: -1, Lang: "none", KeepMarkup: true}}
	var out []candidate
	var cnt counts
	pr.document(doc, &out, &cnt)
	if len(out) != 3 || cnt.paragraphs != 5 {
		t.Fatalf("got %d candidates, %d paragraphs: %+v", len(out), cnt.paragraphs, out)
	}
	want := []struct {
		id     string
		nchars int
		drop   string
	}{{"d#0", 124, ""}, {"d#3", 150, ""}, {"", 0, DropTooShort}}
	for i, w := range want {
		c := out[i]
		if c.p.ID != w.id || c.p.NChars != w.nchars || c.drop != w.drop {
			t.Errorf("candidate %d: id %q chars %d drop %q, want %q %d %q", i, c.p.ID, c.p.NChars, c.drop, w.id, w.nchars, w.drop)
		}
	}
	if !strings.Contains(out[0].p.Text, p40+"\n\n"+p40) {
		t.Errorf("packed text %q", out[0].p.Text)
	}
}

func TestDedupKey(t *testing.T) {
	// Case-folded FNV-1a: equal to Hash64 of the lower-cased text.
	for _, s := range []string{"", "Hello World", "ÉCOLE Normale", "ΣΊΣΥΦΟΣ", "mixed ASCII and Ünïcödé"} {
		if got, want := dedupKey(s), Hash64(strings.ToLower(s)); got != want {
			t.Errorf("dedupKey(%q) = %#x, want %#x", s, got, want)
		}
	}
	if dedupKey("The cat.") != dedupKey("the CAT.") || dedupKey("the cat.") == dedupKey("the cat!") {
		t.Error("case folding or punctuation sensitivity wrong")
	}
}
