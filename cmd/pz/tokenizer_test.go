package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runPz runs the CLI with stdin and returns stdout.
func runPz(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	app := newApp()
	var out bytes.Buffer
	app.Reader, app.Writer = strings.NewReader(stdin), &out
	err := app.RunContext(context.Background(), append([]string{"pz"}, args...))
	return out.String(), err
}

func TestTokenizeCLI(t *testing.T) {
	tok := "../../models/tokenizer/testdata/qwen3-tokenizer.json.gz"
	in := `{"text": "Hello world"}` + "\n" + `{"text": "<|im_end|>x"}` + "\n"
	out, err := runPz(t, in, "tokenize", "--tokenizer", tok, "--special")
	if err != nil {
		t.Fatal(err)
	}
	// Ids from Hugging Face's tokenizers (testdata/qwen3-golden.jsonl).
	if want := "{\"ids\": [9707, 1879]}\n{\"ids\": [151645, 87]}\n"; out != want {
		t.Errorf("tokenize --special:\n%s\nwant\n%s", out, want)
	}
	out, err = runPz(t, in, "tokenize", "--tokenizer", tok, "--plain")
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\"ids\": [9707, 1879]}\n{\"ids\": [27, 91, 318, 6213, 91, 29, 87]}\n"; out != want {
		t.Errorf("tokenize --plain:\n%s\nwant\n%s", out, want)
	}
	out, err = runPz(t, "{\"ids\": [9707, 1879]}\n{\"ids\": [151645, 87]}\n", "detokenize", "--tokenizer", tok, "--skip-special")
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\"text\":\"Hello world\"}\n{\"text\":\"x\"}\n"; out != want {
		t.Errorf("detokenize:\n%s\nwant\n%s", out, want)
	}
	if _, err := runPz(t, "{\"ids\": [151700]}\n", "detokenize", "--tokenizer", tok); err == nil || !strings.Contains(err.Error(), "151700") {
		t.Errorf("detokenize of an unknown id: err = %v", err)
	}
	if _, err := runPz(t, "{\"txt\": 1}\n", "tokenize", "--tokenizer", tok); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("tokenize of a bad line: err = %v", err)
	}
}

func TestTokenizerTrainCLI(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "c.jsonl")
	var b strings.Builder
	for range 30 {
		b.WriteString(`{"text": "the cat sat on the mat [mask] \\boxed{cat}"}` + "\n")
	}
	os.WriteFile(corpus, []byte(b.String()), 0o644)
	out := filepath.Join(dir, "tok.json")
	if _, err := runPz(t, "", "tokenizer", "train", "--in", filepath.Join(dir, "*.jsonl"), "--vocab", "280", "--out", out); err != nil {
		t.Fatal(err)
	}
	got, err := runPz(t, `{"text": "the cat [mask]<|endoftext|>"}`+"\n", "tokenize", "--tokenizer", out)
	if err != nil {
		t.Fatal(err)
	}
	// [mask] is id 2 and <|endoftext|> id 0 (--special defaults, then --added).
	if !strings.HasSuffix(got, ", 2, 0]}\n") {
		t.Errorf("tokenize with the trained tokenizer = %q", got)
	}
}

// TestTokenizeDefaultIsHuggingFaces: on every golden text (made with
// Hugging Face's tokenizers, scripts/tokenizer-golden) pz tokenize with no
// flag gives the ids of tokenizer(text), added tokens matched, and --plain
// those of plain text.
func TestTokenizeDefaultIsHuggingFaces(t *testing.T) {
	tok := "../../models/tokenizer/testdata/qwen3-tokenizer.json.gz"
	b, err := os.ReadFile("../../models/tokenizer/testdata/qwen3-golden.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var in strings.Builder
	var special, plain []string
	matched := 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var g struct {
			Text           string
			Special, Plain []int32
		}
		if err := json.Unmarshal([]byte(line), &g); err != nil {
			t.Fatal(err)
		}
		if g.Special == nil {
			continue // a decode-only golden
		}
		tb, _ := json.Marshal(map[string]string{"text": g.Text})
		in.Write(append(tb, '\n'))
		sb, _ := json.Marshal(g.Special)
		pb, _ := json.Marshal(g.Plain)
		special, plain = append(special, string(sb)), append(plain, string(pb))
		if string(sb) != string(pb) {
			matched++
		}
	}
	if matched < 5 {
		t.Fatalf("only %d golden texts hold added tokens: the test would prove little", matched)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{{nil, special}, {[]string{"--plain"}, plain}} {
		out, err := runPz(t, in.String(), append([]string{"tokenize", "--tokenizer", tok}, tc.args...)...)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != len(tc.want) {
			t.Fatalf("%v: %d lines out, %d in", tc.args, len(lines), len(tc.want))
		}
		for i, l := range lines {
			var got struct{ IDs []int32 }
			if err := json.Unmarshal([]byte(l), &got); err != nil {
				t.Fatal(err)
			}
			if gb, _ := json.Marshal(got.IDs); string(gb) != tc.want[i] {
				t.Errorf("%v line %d: %s, Hugging Face %s", tc.args, i+1, gb, tc.want[i])
			}
		}
	}
}
