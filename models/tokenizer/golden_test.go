package tokenizer

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
)

type goldenLine struct {
	Text        *string `json:"text"`
	Special     []int32 `json:"special"`
	Plain       []int32 `json:"plain"`
	Decode      string  `json:"decode"`
	DecodeSkip  string  `json:"decode_skip"`
	DecodePlain string  `json:"decode_plain"`
	IDs         []int32 `json:"ids"`
}

func readGolden(t testing.TB, path string) []goldenLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []goldenLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var g goldenLine
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatal(err)
		}
		out = append(out, g)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var qwen = sync.OnceValues(func() (*Tokenizer, error) { return Load("testdata/qwen3-tokenizer.json.gz") })

func loadQwen(t testing.TB) *Tokenizer {
	t.Helper()
	tok, err := qwen()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// checkGolden compares encode and decode against goldens made by Hugging
// Face's tokenizers (scripts/tokenizer-golden/make-golden.mjs).
func checkGolden(t *testing.T, tok *Tokenizer, path string) {
	lines := readGolden(t, path)
	nText, nIDs := 0, 0
	for i, g := range lines {
		if g.Text != nil {
			nText++
			text := *g.Text
			if got := tok.EncodeSpecial(text); !slices.Equal(got, g.Special) {
				t.Errorf("line %d EncodeSpecial(%q) =\n %v, want\n %v", i+1, text, got, g.Special)
			}
			if got := tok.Encode(text); !slices.Equal(got, g.Plain) {
				t.Errorf("line %d Encode(%q) =\n %v, want\n %v", i+1, text, got, g.Plain)
			}
			if got, err := tok.Decode(g.Special); err != nil || got != g.Decode {
				t.Errorf("line %d Decode(%v) = %q, %v; want %q", i+1, g.Special, got, err, g.Decode)
			}
			if got, err := tok.DecodeWith(g.Special, DecodeOptions{SkipSpecialTokens: true}); err != nil || got != g.DecodeSkip {
				t.Errorf("line %d Decode skip special (%v) = %q, %v; want %q", i+1, g.Special, got, err, g.DecodeSkip)
			}
			if got, err := tok.Decode(g.Plain); err != nil || got != g.DecodePlain {
				t.Errorf("line %d Decode(%v) = %q, %v; want %q", i+1, g.Plain, got, err, g.DecodePlain)
			}
			continue
		}
		nIDs++
		if got, err := tok.DecodeWith(g.IDs, DecodeOptions{DropUnknown: true}); err != nil || got != g.Decode {
			t.Errorf("line %d Decode(%v) = %q, %v; want %q", i+1, g.IDs, got, err, g.Decode)
		}
		if got, err := tok.DecodeWith(g.IDs, DecodeOptions{DropUnknown: true, SkipSpecialTokens: true}); err != nil || got != g.DecodeSkip {
			t.Errorf("line %d Decode skip special (%v) = %q, %v; want %q", i+1, g.IDs, got, err, g.DecodeSkip)
		}
		// The streaming decoder agrees with the whole-sequence decode.
		sd := tok.NewStreamDecoder(DecodeOptions{DropUnknown: true})
		var sb strings.Builder
		for _, id := range g.IDs {
			s, err := sd.Push(id)
			if err != nil {
				t.Fatal(err)
			}
			sb.WriteString(s)
		}
		sb.WriteString(sd.Flush())
		if sb.String() != g.Decode {
			t.Errorf("line %d stream decode(%v) = %q, want %q", i+1, g.IDs, sb.String(), g.Decode)
		}
		// Without DropUnknown an id with no token is an error.
		hole := slices.ContainsFunc(g.IDs, func(id int32) bool { return int(id) >= tok.VocabSize() })
		if _, err := tok.Decode(g.IDs); hole != (err != nil) || (hole && !errors.Is(err, ErrUnknownID)) {
			t.Errorf("line %d Decode(%v): err %v, want error %v", i+1, g.IDs, err, hole)
		}
	}
	if nText < 100 || nIDs < 10 {
		t.Fatalf("golden %s has %d texts, %d id sequences: too few", path, nText, nIDs)
	}
}

func TestQwen3Golden(t *testing.T) {
	tok := loadQwen(t)
	if tok.VocabSize() != 151669 {
		t.Errorf("VocabSize = %d, want 151669", tok.VocabSize())
	}
	checkGolden(t, tok, "testdata/qwen3-golden.jsonl")
}

// TestTrainedGolden checks tokenizers written by Train (and variants with the
// GPT-2 and Llama-3 pre-tokenizers) against Hugging Face: it loads them and
// gives the same ids.
func TestTrainedGolden(t *testing.T) {
	for _, name := range []string{"trained-2048", "trained-gpt2", "trained-llama3", "trained-flags"} {
		t.Run(name, func(t *testing.T) {
			tok, err := Load("testdata/" + name + ".json.gz")
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tok, "testdata/"+name+"-golden.jsonl")
		})
	}
}
