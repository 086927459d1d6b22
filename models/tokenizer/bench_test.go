package tokenizer

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
)

// benchText is every "text" of data/sample/heldout.jsonl joined with "\n\n",
// the same text scripts/tokenizer-golden/bench.mjs times Hugging Face on.
func benchText(b *testing.B) string {
	f, err := os.Open("../../data/sample/heldout.jsonl")
	if err != nil {
		b.Skip("no sample corpus:", err)
	}
	defer f.Close()
	var texts []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var r struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			b.Fatal(err)
		}
		texts = append(texts, r.Text)
	}
	return strings.Join(texts, "\n\n")
}

// BenchmarkEncode encodes long English text whole with the Qwen3 tokenizer
// (a warm cache, as in steady use).
func BenchmarkEncode(b *testing.B) {
	tok := loadQwen(b)
	text := benchText(b)
	n := len(tok.Encode(text))
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		tok.Encode(text)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkEncodeCold is BenchmarkEncode with an empty word cache each time.
func BenchmarkEncodeCold(b *testing.B) {
	tok := loadQwen(b)
	text := benchText(b)
	n := len(tok.Encode(text))
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		tok.cacheMu.Lock()
		clear(tok.cache)
		tok.cacheMu.Unlock()
		tok.Encode(text)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

func BenchmarkDecode(b *testing.B) {
	tok := loadQwen(b)
	text := benchText(b)
	ids := tok.Encode(text)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := tok.Decode(ids); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeParagraphs encodes the same text one paragraph per call.
func BenchmarkEncodeParagraphs(b *testing.B) {
	tok := loadQwen(b)
	text := benchText(b)
	paras := strings.Split(text, "\n\n")
	n := len(tok.Encode(text))
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		for _, p := range paras {
			tok.Encode(p)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkTrain2048 trains the tiny preset's tokenizer (2,048 ids) on the
// sample corpus (about 3 MB).
func BenchmarkTrain2048(b *testing.B) {
	var texts []string
	for s, err := range CorpusTexts([]string{"../../data/sample/train.jsonl"}) {
		if err != nil {
			b.Skip("no sample corpus:", err)
		}
		texts = append(texts, s)
	}
	opts := TrainOptions{VocabSize: 2048, Logger: slog.New(slog.DiscardHandler),
		AddedTokens: []AddedToken{{Content: "<|endoftext|>", Special: true}, {Content: "[mask]"}}}
	for b.Loop() {
		if _, err := Train(context.Background(), slices.Values(texts), opts); err != nil {
			b.Fatal(err)
		}
	}
}
