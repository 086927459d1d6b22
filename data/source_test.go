package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
)

func writeFile(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zst(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w, err := zstd.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// customRow has non-default column names and an int64 id.
type customRow struct {
	Body  string `parquet:"body"`
	Name  string `parquet:"name,dict,optional"`
	DocNo int64  `parquet:"doc_no"`
	Extra string `parquet:"extra"`
}

func writeParquet(t *testing.T, path string, rows []customRow, rowGroup int64) string {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[customRow](&buf, parquet.MaxRowsPerRowGroup(rowGroup), parquet.Compression(&parquet.Zstd))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return writeFile(t, path, buf.Bytes())
}

func readAll(t *testing.T, files []string, opts ReadOptions) ([]Document, FileStats, error) {
	t.Helper()
	var docs []Document
	fst, err := ReadDocuments(context.Background(), files, opts, func(d Document) error {
		docs = append(docs, d)
		return nil
	})
	return docs, fst, err
}

func TestReadFormats(t *testing.T) {
	dir := t.TempDir()
	jsonl := []byte("\xef\xbb\xbf" + `{"id":"a","title":"A","text":"first"}` + "\n\n" + `{"id":7,"text":"second","other":[1,2]}` + "\n" + `{"text":"third"}`)
	text := []byte("para one\nstill one\n\n\npara two\r\n\r\npara three")
	rows := []customRow{{"b0", "n0", 10, "x"}, {"b1", "n1", 11, "y"}, {"b2", "n2", 12, "z"}, {"b3", "", 13, ""}, {"b4", "n4", 14, "w"}}
	cases := []struct {
		name   string
		path   string
		fields Fields
		want   []Document
	}{
		{"jsonl", writeFile(t, filepath.Join(dir, "a.jsonl"), jsonl), Fields{}, []Document{
			{ID: "a", Title: "A", Text: "first", Row: 0},
			{ID: "7", Text: "second", Row: 2},
			{ID: "JSONL:3", Text: "third", Row: 3},
		}},
		{"jsonl.gz", writeFile(t, filepath.Join(dir, "b.jsonl.gz"), gz(t, jsonl)), Fields{}, nil},
		{"jsonl.zst", writeFile(t, filepath.Join(dir, "c.ndjson.zst"), zst(t, jsonl)), Fields{}, nil},
		{"text", writeFile(t, filepath.Join(dir, "d.txt"), text), Fields{}, []Document{
			{ID: "TEXT", Text: "para one\nstill one\n", Row: 0},
			{ID: "TEXT", Text: "para two\r\n", Row: 1, FirstPara: 1},
			{ID: "TEXT", Text: "para three", Row: 2, FirstPara: 2},
		}},
		{"text.gz", writeFile(t, filepath.Join(dir, "e.txt.gz"), gz(t, text)), Fields{}, nil},
		{"parquet", writeParquet(t, filepath.Join(dir, "f.parquet"), rows, 2), Fields{Text: "body", Title: "name", ID: "doc_no"}, []Document{
			{ID: "10", Title: "n0", Text: "b0", Row: 0},
			{ID: "11", Title: "n1", Text: "b1", Row: 1},
			{ID: "12", Title: "n2", Text: "b2", Row: 2},
			{ID: "13", Title: "", Text: "b3", Row: 3},
			{ID: "14", Title: "n4", Text: "b4", Row: 4},
		}},
	}
	var last []Document
	for _, c := range cases {
		docs, fst, err := readAll(t, []string{c.path}, ReadOptions{Fields: c.fields})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if fst.Files != 1 || fst.EmptyFiles != 0 {
			t.Errorf("%s: file stats %+v", c.name, fst)
		}
		want := c.want
		if want == nil { // compressed twin of the previous case
			want = last
		}
		last = want
		if len(docs) != len(want) {
			t.Fatalf("%s: %d docs, want %d: %+v", c.name, len(docs), len(want), docs)
		}
		for i, w := range want {
			w.Source = c.path
			w.ID = strings.ReplaceAll(strings.ReplaceAll(w.ID, "JSONL", c.path), "TEXT", c.path)
			if !sameDoc(docs[i], w) {
				t.Errorf("%s: doc %d = %+v, want %+v", c.name, i, docs[i], w)
			}
		}
	}
}

func TestExpandInputs(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.jsonl", "sub/b.parquet", "sub/c.txt.gz", "README.md", "main.go", ".hidden/x.jsonl", "sub/.y.jsonl", "stats.json"} {
		writeFile(t, filepath.Join(dir, n), nil)
	}
	got, err := ExpandInputs([]string{dir, filepath.Join(dir, "*.jsonl"), filepath.Join(dir, "README.md")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"README.md", "a.jsonl", "sub/b.parquet", "sub/c.txt.gz"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != filepath.Join(dir, want[i]) {
			t.Errorf("got[%d] = %q, want %q", i, got[i], want[i])
		}
	}
	if _, err := ExpandInputs([]string{filepath.Join(dir, "*.none")}); !errors.Is(err, ErrNoInput) {
		t.Errorf("empty glob: %v, want ErrNoInput", err)
	}
}

func TestReadBadInput(t *testing.T) {
	dir := t.TempDir()
	good := gz(t, []byte(strings.Repeat(`{"text":"x"}`+"\n", 2000)))
	goodZst := zst(t, []byte(strings.Repeat(`{"text":"x"}`+"\n", 2000)))
	var pq bytes.Buffer
	{
		w := parquet.NewGenericWriter[customRow](&pq)
		w.Write([]customRow{{"b", "n", 1, ""}})
		w.Close()
	}
	cases := []struct {
		name    string
		file    string
		content []byte
		fields  Fields
		errHas  string // "" = no error
		is      error
	}{
		{"truncated gzip", "t.jsonl.gz", good[:len(good)/2], Fields{}, "t.jsonl.gz", nil},
		{"truncated zstd", "t.jsonl.zst", goodZst[:len(goodZst)/2], Fields{}, "t.jsonl.zst", nil},
		{"not gzip", "n.jsonl.gz", []byte("plain"), Fields{}, "gzip", nil},
		{"truncated parquet", "t.parquet", pq.Bytes()[:pq.Len()/2], Fields{}, "t.parquet", nil},
		{"garbage parquet", "g.parquet", []byte("PAR1 nonsense PAR1"), Fields{}, "g.parquet", nil},
		{"missing column", "m.parquet", pq.Bytes(), Fields{}, `no column "text"`, ErrMissingColumn},
		{"missing field", "m.jsonl", []byte(`{"body":"x"}`), Fields{}, `line 1`, ErrMissingColumn},
		{"bad json", "b.jsonl", []byte("{\"text\": \"x\"}\n{oops\n"), Fields{}, "line 2", nil},
		{"empty jsonl", "e.jsonl", nil, Fields{}, "", nil},
		{"empty gz", "e.txt.gz", nil, Fields{}, "", nil},
		{"empty parquet", "e.parquet", nil, Fields{}, "", nil},
	}
	for _, c := range cases {
		path := writeFile(t, filepath.Join(dir, c.file), c.content)
		_, fst, err := readAll(t, []string{path}, ReadOptions{Fields: c.fields})
		if c.errHas == "" {
			if err != nil || fst.EmptyFiles != 1 {
				t.Errorf("%s: err %v, stats %+v; want no error, 1 empty file", c.name, err, fst)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.errHas) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.errHas)
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s: error %v is not %v", c.name, err, c.is)
		}
		// With SkipBadFiles the file is counted instead.
		_, fst, err = readAll(t, []string{path}, ReadOptions{Fields: c.fields, SkipBadFiles: true})
		if err != nil || len(fst.Bad) != 1 {
			t.Errorf("%s: skip: err %v, bad %v", c.name, err, fst.Bad)
		}
	}
}

func TestReadOversizeAndInvalidUTF8(t *testing.T) {
	dir := t.TempDir()
	// A 100 MB single-line JSONL "paragraph" and a 100 MB text paragraph,
	// between two normal records; streamed, never held whole in memory.
	big := filepath.Join(dir, "big.jsonl")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	bw.WriteString(`{"text":"before"}` + "\n" + `{"text":"`)
	chunk := []byte(strings.Repeat("word ", 1<<14))
	for range (100 << 20) / len(chunk) {
		bw.Write(chunk)
	}
	bw.WriteString(`"}` + "\n" + `{"text":"after"}` + "\n")
	bw.WriteString("{\"text\":\"bad \xff utf8\"}\n")
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	docs, _, err := readAll(t, []string{big}, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 4 || docs[0].Text != "before" || !docs[1].Oversize || docs[1].Text != "" || docs[2].Text != "after" || !docs[3].BadUTF8 {
		t.Fatalf("got %d docs: %+v", len(docs), docs[:min(len(docs), 4)])
	}
	txt := writeFile(t, filepath.Join(dir, "big.txt"), []byte("small one\n\n"+strings.Repeat("x", 3<<20)+"\n\nlast one"))
	docs, _, err = readAll(t, []string{txt}, ReadOptions{MaxDocBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 3 || docs[0].Text != "small one\n" || !docs[1].Oversize || docs[2].Text != "last one" || docs[2].FirstPara != 2 {
		t.Fatalf("text: %d docs %+v", len(docs), docs)
	}
}

func sameDoc(a, b Document) bool {
	return a.ID == b.ID && a.Title == b.Title && a.Text == b.Text && a.FirstPara == b.FirstPara &&
		a.Source == b.Source && a.Row == b.Row && a.Oversize == b.Oversize && a.BadUTF8 == b.BadUTF8
}
