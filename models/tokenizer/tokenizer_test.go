package tokenizer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The pre-token splits TOKENIZER.md describes (hand-derived from the regex).
func TestSplitQwen2(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"x'sun", []string{"x", "'s", "un"}},
		{" 'sun", []string{" '", "sun"}},
		{"I'LL go", []string{"I", "'LL", " go"}},
		{"don’t", []string{"don", "’t"}},
		{"a   b", []string{"a", "  ", " b"}},
		{"a \t b", []string{"a", " \t", " b"}},
		{"2024", []string{"2", "0", "2", "4"}},
		{"x 1", []string{"x", " ", "1"}},
		{"end.\n\nNext", []string{"end", ".\n\n", "Next"}},
		{"a  \n  b", []string{"a", "  \n", " ", " b"}},
		{"a\n\n", []string{"a", "\n\n"}},
		{"x   ", []string{"x", "   "}},
		{"(foo) $bar", []string{"(foo", ")", " $", "bar"}},
		{"(foo) bar", []string{"(foo", ")", " bar"}},
		{"\tword", []string{"\tword"}},
		{"\u00a0word", []string{"\u00a0word"}},
		{"\rword", []string{"\r", "word"}},
		{"½²", []string{"½", "²"}},
		{" ...", []string{" ..."}},
		{"  ...", []string{" ", " ..."}},
		{"नमस्ते", []string{"नमस", "्त", "े"}}, // marks are not letters
		{"", nil},
	}
	for _, c := range cases {
		if got := splitWords(c.in, splitQwen2); !slices.Equal(got, c.want) {
			t.Errorf("split(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got, want := splitWords("12345 abc", splitLlama3), []string{"123", "45", " abc"}; !slices.Equal(got, want) {
		t.Errorf("llama3 split = %q, want %q", got, want)
	}
	if got, want := splitWords("I'LL  go 123!!", splitGPT2), []string{"I", "'", "LL", " ", " go", " 123", "!!"}; !slices.Equal(got, want) {
		t.Errorf("gpt2 split = %q, want %q", got, want)
	}
}

func TestLossyUTF8(t *testing.T) {
	cases := []struct{ in, want string }{
		{"abc", "abc"},
		{"\xf0\x9f\x98", "\ufffd"},
		{"\xf0\x9f\x98A", "\ufffdA"},
		{"\xed\xa0\x80", "\ufffd\ufffd\ufffd"},
		{"\xe4\xbd\xa0\xe5", "你\ufffd"},
		{"\xc0\xaf", "\ufffd\ufffd"},
		{"\xe0\x80\x80", "\ufffd\ufffd\ufffd"},
		{"\xf4\x90\x80\x80", "\ufffd\ufffd\ufffd\ufffd"},
		{"\xe2\x28\xa1", "\ufffd(\ufffd"},
		{"€", "€"},
	}
	for _, c := range cases {
		if got := string(appendLossy(nil, []byte(c.in))); got != c.want {
			t.Errorf("lossy(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, c := range []struct {
		in   string
		want int
	}{{"a\xf0\x9f\x98", 3}, {"a\xf0\x9f", 2}, {"a\xe2", 1}, {"a\xf0\x9f\x98\x80", 0}, {"a\xed\xa0", 0}, {"a", 0}, {"\x80", 0}} {
		if got := incompleteTail([]byte(c.in)); got != c.want {
			t.Errorf("incompleteTail(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

// handTokenizer is a tiny byte-level BPE whose merges are ranked so that the
// token "abc" is not what BPE makes of "abc" (b+c merges first).
const handTokenizer = `{
 "added_tokens": [
  {"id": 9, "content": "<s>", "special": true, "normalized": false},
  {"id": 10, "content": "[m]", "special": false, "normalized": false, "lstrip": true, "rstrip": true}
 ],
 "normalizer": null,
 "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
 "decoder": {"type": "ByteLevel"},
 "model": {"type": "BPE", "ignore_merges": %s,
  "vocab": {"a": 0, "b": 1, "c": 2, "bc": 3, "ab": 4, "abc": 5, "Ġ": 6, "Ġa": 7, "cc": 8},
  "merges": ["b c", "a b", "ab c", "Ġ a", "c c"]}
}`

func TestHandBPE(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		tok, err := Parse(strings.NewReader(fmt.Sprintf(handTokenizer, fmt.Sprint(ignore))), "hand.json")
		if err != nil {
			t.Fatal(err)
		}
		abc := []int32{0, 3} // a, bc: "b c" has the lower rank
		if ignore {
			abc = []int32{5}
		}
		cases := []struct {
			in      string
			special bool
			want    []int32
		}{
			{"abc", false, abc},
			{"ab", false, []int32{4}},
			{"ccc", false, []int32{8, 2}}, // leftmost pair first
			{"cccc", false, []int32{8, 8}},
			{"a a", false, []int32{0, 7}},
			{"axb", false, []int32{4}},        // x has no token: dropped, then a+b merge
			{"ab<s>ab", false, []int32{4, 4}}, // <, s, > have no token
			{"ab<s>ab", true, []int32{4, 9, 4}},
			{"a [m] a", true, []int32{0, 10, 0}}, // lstrip and rstrip eat the spaces
			{"<s><s>", true, []int32{9, 9}},
		}
		for _, c := range cases {
			got := tok.Encode(c.in)
			if c.special {
				got = tok.EncodeSpecial(c.in)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("ignore_merges=%v: encode(%q, special=%v) = %v, want %v", ignore, c.in, c.special, got, c.want)
			}
		}
		// The heap BPE (long words) agrees with the array BPE.
		long := strings.Repeat("abcc", 100)
		var want []int32
		for range 100 {
			want = append(want, 0, 3, 2)
		}
		if got := tok.bpe(nil, long); !slices.Equal(got, want) {
			t.Errorf("long BPE = %v..., want %v...", got[:6], want[:6])
		}
		if tok.VocabSize() != 11 {
			t.Errorf("VocabSize = %d, want 11", tok.VocabSize())
		}
		if s, _ := tok.Decode([]int32{7, 3, 9, 10}); s != " abc<s>[m]" {
			t.Errorf("decode = %q", s)
		}
		if s, _ := tok.DecodeWith([]int32{7, 3, 9, 10}, DecodeOptions{SkipSpecialTokens: true}); s != " abc[m]" {
			t.Errorf("decode skip special = %q", s)
		}
	}
}

func TestParseErrors(t *testing.T) {
	valid := fmt.Sprintf(handTokenizer, "false")
	cases := []struct {
		name, json, want string
	}{
		{"syntax", `{"model": `, "tokenizer bad.json"},
		{"no model", `{}`, "field model: missing"},
		{"type", strings.Replace(valid, `"type": "BPE"`, `"type": "Unigram"`, 1), "field model.type"},
		{"merge token", strings.Replace(valid, `"c c"`, `"c d"`, 1), "field model.merges[4]"},
		{"merged token", strings.Replace(valid, `"cc": 8`, `"dd": 8`, 1), "field model.merges[4]: merged token \"cc\""},
		{"merge format", strings.Replace(valid, `"c c"`, `"c c c"`, 1), "field model.merges"},
		{"negative id", strings.Replace(valid, `"cc": 8`, `"cc": -8`, 1), "field model.vocab"},
		{"duplicate id", strings.Replace(valid, `"cc": 8`, `"cc": 7`, 1), "field model.vocab: id 7"},
		{"pre_tokenizer", strings.Replace(valid, `"type": "ByteLevel", "add_prefix_space"`, `"type": "Whitespace", "add_prefix_space"`, 1), "field pre_tokenizer"},
		{"regex", strings.Replace(valid, `{"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}`,
			`{"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\w+"}, "behavior": "Isolated"}, {"type": "ByteLevel"}]}`, 1), "field pre_tokenizer: Split regex"},
		{"decoder", strings.Replace(valid, `"decoder": {"type": "ByteLevel"}`, `"decoder": {"type": "WordPiece"}`, 1), "field decoder"},
		{"normalizer", strings.Replace(valid, `"normalizer": null`, `"normalizer": {"type": "Lowercase"}`, 1), "field normalizer"},
		{"added", strings.Replace(valid, `"content": "<s>"`, `"content": ""`, 1), "field added_tokens[0].content"},
	}
	for _, c := range cases {
		_, err := Parse(strings.NewReader(c.json), "bad.json")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "bad.json") {
			t.Errorf("%s: err = %v, want it to name bad.json and contain %q", c.name, err, c.want)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("Load of a missing file: no error")
	}
}

func TestDecodeUnknownID(t *testing.T) {
	tok := loadQwen(t)
	for _, id := range []int32{-1, 151669, 151935, 1 << 30} {
		_, err := tok.Decode([]int32{9707, id})
		if !errors.Is(err, ErrUnknownID) || !strings.Contains(err.Error(), fmt.Sprint(id)) || !strings.Contains(err.Error(), "ids[1]") {
			t.Errorf("Decode with id %d: err = %v", id, err)
		}
		if s, err := tok.DecodeWith([]int32{9707, id}, DecodeOptions{DropUnknown: true}); err != nil || s != "Hello" {
			t.Errorf("DecodeWith drop unknown: %q, %v", s, err)
		}
	}
}

func TestTokenLookups(t *testing.T) {
	tok := loadQwen(t)
	for _, c := range []struct {
		tok string
		id  int32
	}{{"<|im_end|>", 151645}, {"<think>", 151667}, {"Ġthe", 279}, {"Hello", 9707}, {"!", 0}} {
		if id, ok := tok.TokenID(c.tok); !ok || id != c.id {
			t.Errorf("TokenID(%q) = %d, %v; want %d", c.tok, id, ok, c.id)
		}
		if s := tok.TokenString(c.id); s != c.tok {
			t.Errorf("TokenString(%d) = %q, want %q", c.id, s, c.tok)
		}
	}
	if _, ok := tok.TokenID("no such token"); ok {
		t.Error("TokenID of a missing token: ok")
	}
	if !tok.IsSpecial(151645) || tok.IsSpecial(151667) || tok.IsSpecial(279) {
		t.Error("IsSpecial wrong")
	}
	if id, ok := tok.EOS(); !ok || id != 151643 {
		t.Errorf("EOS without a config = %d, %v; want <|endoftext|> 151643", id, ok)
	}
	// tokenizer_config.json next to the file names eos.
	dir := t.TempDir()
	if err := tok.Save(filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"eos_token": "<|im_end|>", "bos_token": null}`), 0o644)
	tok2, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := tok2.EOS(); !ok || id != 151645 {
		t.Errorf("EOS from config = %d, %v; want 151645", id, ok)
	}
	if _, ok := tok2.BOS(); ok {
		t.Error("BOS: ok with a null bos_token")
	}
	// Saved and reloaded, the tokenizer encodes the same.
	lines := readGolden(t, "testdata/qwen3-golden.jsonl")
	for _, g := range lines[:200] {
		if g.Text != nil && !slices.Equal(tok2.EncodeSpecial(*g.Text), g.Special) {
			t.Errorf("after Save/Load: EncodeSpecial(%q) differs", *g.Text)
		}
	}
}

func TestStreamDecoder(t *testing.T) {
	tok := loadQwen(t)
	text := "Hi 😀 你好 👨‍👩‍👧 <|im_end|> é"
	ids := tok.EncodeSpecial(text)
	d := tok.NewStreamDecoder(DecodeOptions{})
	var parts []string
	for _, id := range ids {
		s, err := d.Push(id)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.ContainsRune(s, '\ufffd') && s != "" {
			parts = append(parts, s)
		} else if s != "" {
			t.Errorf("stream piece %q has U+FFFD", s)
		}
	}
	if rest := d.Flush(); rest != "" {
		t.Errorf("Flush = %q, want nothing held", rest)
	}
	if got := strings.Join(parts, ""); got != text {
		t.Errorf("stream = %q, want %q", got, text)
	}
	if _, err := d.Push(-5); !errors.Is(err, ErrUnknownID) {
		t.Errorf("Push(-5) err = %v", err)
	}
}

func TestConcurrentEncode(t *testing.T) {
	tok := loadQwen(t)
	lines := readGolden(t, "testdata/qwen3-golden.jsonl")
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(lines); i += 2 {
				g := lines[i]
				if g.Text != nil && !slices.Equal(tok.Encode(*g.Text), g.Plain) {
					t.Errorf("concurrent Encode(%q) differs", *g.Text)
				}
			}
		}()
	}
	wg.Wait()
}

func TestInvalidUTF8(t *testing.T) {
	tok := loadQwen(t)
	// Each invalid byte reads as U+FFFD.
	if got, want := tok.Encode("a\xffb\xf0\x9f"), tok.Encode("a\ufffdb\ufffd\ufffd"); !slices.Equal(got, want) {
		t.Errorf("Encode of invalid UTF-8 = %v, want %v", got, want)
	}
}

func TestNFCLongMarks(t *testing.T) {
	// More than 30 combining marks: no U+034F is inserted (x/text would).
	s := "a" + strings.Repeat("\u0301", 40) + "\u0323"
	got := nfc(s)
	if strings.ContainsRune(got, '\u034f') {
		t.Fatalf("nfc inserted U+034F")
	}
	// ạ (a + dot below) composes first: dot below (class 220) sorts before acute (230).
	want := "\u1ea1" + strings.Repeat("\u0301", 40)
	if got != want {
		t.Errorf("nfc = %+q, want %+q", got, want)
	}
}

func TestTrain(t *testing.T) {
	texts := []string{
		"the cat sat on the mat. the cat ate.",
		"The [mask] sat on the mat<|endoftext|>the dog ran",
		"\\boxed{42} and \\mask{cat} 12345",
	}
	var corpus []string
	for range 50 {
		corpus = append(corpus, texts...)
	}
	opts := TrainOptions{VocabSize: 300, Logger: slog.New(slog.DiscardHandler), AddedTokens: []AddedToken{
		{Content: "<|endoftext|>", Special: true}, {Content: "[mask]"}, {Content: `\mask{`}, {Content: `\boxed{`},
	}}
	tok, err := Train(context.Background(), slices.Values(corpus), opts)
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() > 300 || tok.VocabSize() < 270 {
		t.Errorf("VocabSize = %d", tok.VocabSize())
	}
	for i, s := range []string{"<|endoftext|>", "[mask]", `\mask{`, `\boxed{`} {
		if id, ok := tok.TokenID(s); !ok || id != int32(i) {
			t.Errorf("TokenID(%q) = %d, %v; want %d", s, id, ok, i)
		}
	}
	// Frequent words became single tokens.
	if got := tok.Encode(" the cat"); len(got) != 2 {
		t.Errorf("Encode(\" the cat\") = %v, want 2 tokens", got)
	}
	in := "The [mask] is \\boxed{x}<|endoftext|>"
	ids := tok.EncodeSpecial(in)
	if !slices.Contains(ids, 0) || !slices.Contains(ids, 1) || !slices.Contains(ids, 3) {
		t.Errorf("EncodeSpecial(%q) = %v: added tokens not single ids", in, ids)
	}
	if s, _ := tok.Decode(ids); s != in {
		t.Errorf("round trip = %q", s)
	}
	if s, _ := tok.DecodeWith(ids, DecodeOptions{SkipSpecialTokens: true}); s != "The [mask] is \\boxed{x}" {
		t.Errorf("skip special = %q", s)
	}
	// Deterministic, and Save/Load keeps it.
	tok2, err := Train(context.Background(), slices.Values(corpus), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tok.Marshal(), tok2.Marshal()) {
		t.Error("training twice gave different files")
	}
	path := filepath.Join(t.TempDir(), "tok.json")
	if err := tok.Save(path); err != nil {
		t.Fatal(err)
	}
	tok3, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tok.Marshal(), tok3.Marshal()) || !slices.Equal(tok3.EncodeSpecial(in), ids) {
		t.Error("Save/Load changed the tokenizer")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, slices.Values(corpus), opts); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Train: err = %v", err)
	}
	if _, err := Train(context.Background(), slices.Values(corpus), TrainOptions{VocabSize: 100, Logger: opts.Logger}); err == nil {
		t.Error("vocab below 256: no error")
	}
}

// TestPresetTokenizers retrains the preset tokenizers on the sample corpus
// and checks that the shipped files are what scripts/make-preset-tokenizers.sh
// makes (deterministic training, presets up to date).
func TestPresetTokenizers(t *testing.T) {
	if testing.Short() {
		t.Skip("retrains on the sample corpus")
	}
	if _, err := os.Stat("../../data/sample/train.jsonl"); err != nil {
		t.Skip("no sample corpus")
	}
	for name, vocab := range map[string]int{"tiny": 2048, "small": 32768} {
		want, err := os.ReadFile("../presets/tokenizers/" + name + ".json.gz")
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), name+".json.gz")
		err = RunTrain(context.Background(), TrainRunOptions{In: "../../data/sample/train.jsonl", Out: out, VocabSize: vocab,
			Special: []string{"<|endoftext|>", "<|pad|>"}, Added: []string{"[mask]", `\mask{`, `\boxed{`}, MinFrequency: 2,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(out)
		if !bytes.Equal(got, want) {
			t.Errorf("preset %s differs from a fresh training: run scripts/make-preset-tokenizers.sh", name)
		}
		tok, err := Load(out)
		if err != nil {
			t.Fatal(err)
		}
		if tok.VocabSize() != vocab {
			t.Errorf("preset %s: VocabSize = %d, want %d", name, tok.VocabSize(), vocab)
		}
	}
}

// The heap BPE (used for pieces over smallWord bytes) agrees with the array
// BPE on every piece of the golden texts.
func TestHeapBPEAgrees(t *testing.T) {
	tok := loadQwen(t)
	n := 0
	for _, g := range readGolden(t, "testdata/qwen3-golden.jsonl") {
		if g.Text == nil {
			continue
		}
		splitPieces(nfc(*g.Text), splitQwen2, func(p string) {
			if len(p) > smallWord {
				return
			}
			n++
			if a, h := tok.bpe(nil, p), tok.bpeHeap(nil, p); !slices.Equal(a, h) {
				t.Errorf("piece %q: array BPE %v, heap BPE %v", p, a, h)
			}
		})
	}
	if n < 1000 {
		t.Fatalf("only %d pieces", n)
	}
}

// FuzzEncode checks properties that hold for any input: decoding the ids
// gives back the NFC text (with invalid UTF-8 read as U+FFFD), with and
// without added tokens, and the streaming decoder agrees.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"Hello world", "a   b\n\n", "<|im_end|>x", "😀 你好", "e\u0301\u0301", "x'LL'sun 2024", "\xff\xfe"} {
		f.Add(s)
	}
	tok := loadQwen(f)
	f.Fuzz(func(t *testing.T, s string) {
		want := nfc(validUTF8(s))
		ids := tok.Encode(s)
		if got, err := tok.Decode(ids); err != nil || got != want {
			t.Fatalf("Decode(Encode(%q)) = %q, %v; want %q", s, got, err, want)
		}
		d := tok.NewStreamDecoder(DecodeOptions{})
		var sb strings.Builder
		for _, id := range ids {
			p, err := d.Push(id)
			if err != nil {
				t.Fatal(err)
			}
			sb.WriteString(p)
		}
		if sb.WriteString(d.Flush()); sb.String() != want {
			t.Fatalf("stream decode of %q = %q", s, sb.String())
		}
		if _, err := tok.Decode(tok.EncodeSpecial(s)); err != nil {
			t.Fatal(err)
		}
	})
}
