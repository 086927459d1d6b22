package tokenizer

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// TokenizeOptions configure RunTokenize.
type TokenizeOptions struct {
	Tokenizer string // tokenizer.json, or a folder holding it
	// Special matches every added token as one id (Hugging Face's default);
	// otherwise no added token is recognised.
	Special bool
	In      io.Reader // JSONL {"text": "..."} lines
	Out     io.Writer // JSONL {"ids": [...]} lines, same order
}

// RunTokenize is `pz tokenize`: one {"ids": [...]} line per {"text": ...}
// line; never adds BOS/EOS.
func RunTokenize(ctx context.Context, o TokenizeOptions) error {
	t, err := Load(o.Tokenizer)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(o.In)
	sc.Buffer(nil, 1<<30)
	w := bufio.NewWriterSize(o.Out, 1<<16)
	var buf []byte
	for line := 1; sc.Scan(); line++ {
		if line%256 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var rec struct {
			Text *string `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return fmt.Errorf("tokenize: stdin line %d: %w", line, err)
		}
		if rec.Text == nil {
			return fmt.Errorf("tokenize: stdin line %d: field text is missing", line)
		}
		var ids []int32
		if o.Special {
			ids = t.EncodeSpecial(*rec.Text)
		} else {
			ids = t.Encode(*rec.Text)
		}
		buf = appendIDsLine(buf[:0], ids)
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("tokenize: %w", err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("tokenize: stdin: %w", err)
	}
	return w.Flush()
}

func appendIDsLine(b []byte, ids []int32) []byte {
	b = append(b, `{"ids": [`...)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = fmt.Appendf(b, "%d", id)
	}
	return append(b, "]}\n"...)
}

// DetokenizeOptions configure RunDetokenize.
type DetokenizeOptions struct {
	Tokenizer   string
	SkipSpecial bool      // drop special added tokens (skip_special_tokens)
	DropUnknown bool      // drop ids with no token instead of failing (Hugging Face's behaviour)
	In          io.Reader // JSONL {"ids": [...]} lines
	Out         io.Writer // JSONL {"text": "..."} lines, same order
}

// RunDetokenize is `pz detokenize`: the reverse of RunTokenize.
func RunDetokenize(ctx context.Context, o DetokenizeOptions) error {
	t, err := Load(o.Tokenizer)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(o.In)
	sc.Buffer(nil, 1<<30)
	w := bufio.NewWriterSize(o.Out, 1<<16)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for line := 1; sc.Scan(); line++ {
		if line%256 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var rec struct {
			IDs *[]int32 `json:"ids"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return fmt.Errorf("detokenize: stdin line %d: field ids: %w", line, err)
		}
		if rec.IDs == nil {
			return fmt.Errorf("detokenize: stdin line %d: field ids is missing", line)
		}
		text, err := t.DecodeWith(*rec.IDs, DecodeOptions{SkipSpecialTokens: o.SkipSpecial, DropUnknown: o.DropUnknown})
		if err != nil {
			return fmt.Errorf("detokenize: stdin line %d: field %w", line, err)
		}
		if err := enc.Encode(struct {
			Text string `json:"text"`
		}{text}); err != nil {
			return fmt.Errorf("detokenize: %w", err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("detokenize: stdin: %w", err)
	}
	return w.Flush()
}

// TrainRunOptions configure RunTrain.
type TrainRunOptions struct {
	In           string // glob of .jsonl (a "text" field per line) or plain text files; .gz allowed
	Out          string // tokenizer.json to write (.gz to compress)
	VocabSize    int
	Special      []string // added tokens with special: true (the first is end-of-text)
	Added        []string // added tokens with special: false
	MinFrequency int
	Pattern      string // qwen2 (default), llama3 or gpt2: the Split regex
	Logger       *slog.Logger
}

// PatternByName maps the names qwen2, llama3 and gpt2 to their regex.
func PatternByName(name string) (string, error) {
	switch name {
	case "", "qwen2", "qwen3":
		return PatternQwen2, nil
	case "llama3":
		return PatternLlama3, nil
	case "gpt2":
		return PatternGPT2, nil
	}
	return "", fmt.Errorf("pattern %q is not one of qwen2, llama3, gpt2", name)
}

// RunTrain is `pz tokenizer train`.
func RunTrain(ctx context.Context, o TrainRunOptions) error {
	pattern, err := PatternByName(o.Pattern)
	if err != nil {
		return fmt.Errorf("tokenizer train: --pattern: %w", err)
	}
	files, err := filepath.Glob(o.In)
	if err != nil {
		return fmt.Errorf("tokenizer train: --in %q: %w", o.In, err)
	}
	if len(files) == 0 {
		return fmt.Errorf("tokenizer train: --in %q matches no file", o.In)
	}
	slices.Sort(files)
	var added []AddedToken
	for _, s := range o.Special {
		added = append(added, AddedToken{Content: s, Special: true})
	}
	for _, s := range o.Added {
		added = append(added, AddedToken{Content: s})
	}
	var readErr error
	texts := func(yield func(string) bool) {
		for text, err := range CorpusTexts(files) {
			if err != nil {
				readErr = err
				return
			}
			if !yield(text) {
				return
			}
		}
	}
	t, err := Train(ctx, texts, TrainOptions{VocabSize: o.VocabSize, AddedTokens: added,
		MinFrequency: o.MinFrequency, Pattern: pattern, Logger: o.Logger})
	if readErr != nil {
		return fmt.Errorf("tokenizer train: %w", readErr)
	}
	if err != nil {
		return fmt.Errorf("tokenizer train: %w", err)
	}
	return t.Save(o.Out)
}

// CorpusTexts yields the texts of files in order: each line's "text" field
// for .jsonl files (blank lines skipped), the whole file otherwise; a .gz
// suffix is decompressed first.
func CorpusTexts(files []string) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for _, name := range files {
			if !corpusFile(name, yield) {
				return
			}
		}
	}
}

func corpusFile(name string, yield func(string, error) bool) bool {
	f, err := os.Open(name)
	if err != nil {
		return yield("", err)
	}
	defer f.Close()
	var r io.Reader = bufio.NewReaderSize(f, 1<<20)
	base := name
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return yield("", fmt.Errorf("%s: %w", name, err))
		}
		defer zr.Close()
		r, base = zr, strings.TrimSuffix(name, ".gz")
	}
	if !strings.HasSuffix(base, ".jsonl") {
		b, err := io.ReadAll(r)
		if err != nil {
			return yield("", fmt.Errorf("%s: %w", name, err))
		}
		return yield(string(b), nil)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<30)
	for line := 1; sc.Scan(); line++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var rec struct {
			Text *string `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return yield("", fmt.Errorf("%s line %d: %w", name, line, err))
		}
		if rec.Text == nil {
			return yield("", fmt.Errorf("%s line %d: field text: %w", name, line, errors.New("missing")))
		}
		if !yield(*rec.Text, nil) {
			return false
		}
	}
	if err := sc.Err(); err != nil {
		return yield("", fmt.Errorf("%s: %w", name, err))
	}
	return true
}
