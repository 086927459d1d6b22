package data

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
)

// Document is one record of a corpus: a JSONL line, a Parquet row, or (for
// plain text files, which are streamed) one paragraph of the file, which is
// the document.
type Document struct {
	ID    string // from the id field/column; "<file>:<row>" when absent
	Title string
	Text  string
	// FirstPara is the paragraph index of Text's first paragraph inside the
	// document (non-zero only for streamed plain text).
	FirstPara int
	Source    string // the file it came from
	Row       int64  // line, row or paragraph number inside Source, from 0
	// raw holds an undecoded JSONL line when decoding is deferred to
	// Process's workers (ReadOptions.deferJSON).
	raw    []byte
	fields Fields
	// Oversize is set (and Text left empty) when the record's text was over
	// ReadOptions.MaxDocBytes; it is counted as a drop, not read.
	Oversize bool
	// BadUTF8 is set when Text held invalid UTF-8 (it is then dropped).
	BadUTF8 bool
}

// Fields names the fields (JSONL) or columns (Parquet) to read.
type Fields struct {
	Text  string // default "text"
	Title string // default "title"; absent is fine
	ID    string // default "id"; absent is fine
}

func (f Fields) withDefaults() Fields {
	if f.Text == "" {
		f.Text = "text"
	}
	if f.Title == "" {
		f.Title = "title"
	}
	if f.ID == "" {
		f.ID = "id"
	}
	return f
}

// Formats of input files, detected from the name after stripping .gz/.zst.
const (
	FormatJSONL   = "jsonl"
	FormatParquet = "parquet"
	FormatText    = "text"
)

// ReadOptions configures ReadDocuments.
type ReadOptions struct {
	Fields Fields
	// MaxDocBytes bounds the text of one record (default 16 MiB). Larger
	// records are skipped without being held in memory (JSONL, text) and
	// reported with Document.Oversize.
	MaxDocBytes int
	// SkipBadFiles counts unreadable files (corrupt Parquet or gzip, a
	// missing text column) in FileStats.Bad and goes on instead of failing.
	SkipBadFiles bool
	// Progress, when set, receives the input bytes read.
	Progress Progress
	// deferJSON leaves JSONL lines undecoded in Document.raw for Process's
	// workers to decode in parallel.
	deferJSON bool
}

// FileStats counts what ReadDocuments saw of the files themselves.
type FileStats struct {
	Files      int      `json:"files"`
	EmptyFiles int      `json:"empty_files"`
	Bytes      int64    `json:"bytes"` // on-disk bytes of all input files
	Bad        []string `json:"bad_files,omitempty"`
}

// ErrNoInput is returned when the inputs match no readable file.
var ErrNoInput = errors.New("no input files")

// ErrMissingColumn is returned for a Parquet file without the text column.
var ErrMissingColumn = errors.New("missing text column")

// inputExts are the extensions picked when walking a directory. ".json"
// is not among them (a directory's .json files are usually metadata, such
// as a prepared directory's stats.json), but a .json file named directly
// is read as JSONL.
var inputExts = []string{".jsonl", ".ndjson", ".parquet", ".txt", ".text", ".xml"}

func stripCompression(name string) (base, comp string) {
	lower := strings.ToLower(name)
	for _, c := range []string{".gz", ".zst", ".zstd", ".bz2"} {
		if strings.HasSuffix(lower, c) {
			return name[:len(name)-len(c)], c
		}
	}
	return name, ""
}

// FormatOf returns the format of a file from its name.
func FormatOf(name string) string {
	base, _ := stripCompression(name)
	switch strings.ToLower(filepath.Ext(base)) {
	case ".parquet":
		return FormatParquet
	case ".jsonl", ".ndjson", ".json":
		return FormatJSONL
	case ".xml":
		return FormatWikiXML
	}
	return FormatText
}

func knownInput(name string) bool {
	base, _ := stripCompression(name)
	ext := strings.ToLower(filepath.Ext(base))
	for _, e := range inputExts {
		if ext == e {
			return true
		}
	}
	return false
}

// ExpandInputs turns files, directories (walked recursively, keeping files
// with a known extension: .jsonl .ndjson .parquet .txt .text .xml,
// optionally + .gz/.zst/.bz2) and globs into a sorted, de-duplicated file list.
// A named file is kept whatever its extension (it is then plain text).
func ExpandInputs(inputs []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		p = filepath.Clean(p)
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, in := range inputs {
		matches := []string{in}
		if strings.ContainsAny(in, "*?[") {
			m, err := filepath.Glob(in)
			if err != nil {
				return nil, fmt.Errorf("input %q: %w", in, err)
			}
			if len(m) == 0 {
				return nil, fmt.Errorf("input %q: %w", in, ErrNoInput)
			}
			matches = m
		}
		for _, m := range matches {
			st, err := os.Stat(m)
			if err != nil {
				return nil, fmt.Errorf("input: %w", err)
			}
			if !st.IsDir() {
				add(m)
				continue
			}
			err = filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.IsDir() {
					if p != m && strings.HasPrefix(d.Name(), ".") {
						return filepath.SkipDir
					}
					return nil
				}
				if d.Type().IsRegular() && knownInput(d.Name()) && !strings.HasPrefix(d.Name(), ".") {
					add(p)
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("input %s: %w", m, err)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%v: %w", inputs, ErrNoInput)
	}
	sort.Strings(out)
	return out, nil
}

// ReadDocuments streams the documents of files (already expanded) to fn in
// file order, then row order. Memory is bounded by one record (at most
// MaxDocBytes) plus one Parquet page per column read. It returns fn's
// first error, or the first read error naming the file (unless
// SkipBadFiles).
func ReadDocuments(ctx context.Context, files []string, opts ReadOptions, fn func(Document) error) (FileStats, error) {
	opts.Fields = opts.Fields.withDefaults()
	if opts.MaxDocBytes <= 0 {
		opts.MaxDocBytes = 16 << 20
	}
	var fst FileStats
	var total int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			total += st.Size()
		}
	}
	if opts.Progress != nil {
		opts.Progress.SetTotal(total)
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return fst, err
		}
		fst.Files++
		n, err := readFile(ctx, f, opts, fn)
		if n == 0 && err == nil {
			fst.EmptyFiles++
		}
		if st, serr := os.Stat(f); serr == nil {
			fst.Bytes += st.Size()
		}
		if err != nil {
			var ue *userError
			if errors.As(err, &ue) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || !opts.SkipBadFiles {
				if errors.As(err, &ue) {
					err = ue.err
				}
				return fst, err
			}
			fst.Bad = append(fst.Bad, f+": "+err.Error())
		}
	}
	return fst, nil
}

// userError wraps an error returned by the callback so it is not mistaken
// for a bad file.
type userError struct{ err error }

func (e *userError) Error() string { return e.err.Error() }

type countingReader struct {
	r io.Reader
	p Progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if c.p != nil && n > 0 {
		c.p.Add(int64(n))
	}
	return n, err
}

type countingReaderAt struct {
	r io.ReaderAt
	p Progress
}

func (c *countingReaderAt) ReadAt(b []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(b, off)
	if c.p != nil && n > 0 {
		c.p.Add(int64(n))
	}
	return n, err
}

// readFile reads one file and returns how many documents it gave.
func readFile(ctx context.Context, path string, opts ReadOptions, fn func(Document) error) (int64, error) {
	fh, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open input: %w", err)
	}
	defer fh.Close()
	_, comp := stripCompression(path)
	format := FormatOf(path)
	if format == FormatParquet {
		if comp != "" {
			return 0, fmt.Errorf("%s: compressed parquet files are not supported (parquet compresses its pages itself)", path)
		}
		st, err := fh.Stat()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		return readParquet(ctx, path, &countingReaderAt{fh, opts.Progress}, st.Size(), opts, fn)
	}
	var r io.Reader = &countingReader{fh, opts.Progress}
	switch comp {
	case ".gz":
		zr, err := gzip.NewReader(r)
		if err == io.EOF {
			return 0, nil // empty file
		}
		if err != nil {
			return 0, fmt.Errorf("%s: gzip: %w", path, err)
		}
		defer zr.Close()
		r = zr
	case ".zst", ".zstd":
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return 0, fmt.Errorf("%s: zstd: %w", path, err)
		}
		defer zr.Close()
		r = zr
	case ".bz2":
		r = bzip2.NewReader(r)
	}
	if format == FormatWikiXML {
		n, err := readWikiXML(ctx, path, r, opts, fn)
		var ue *userError
		if err != nil && !errors.As(err, &ue) {
			err = fmt.Errorf("%s: %w", path, err)
		}
		return n, err
	}
	br := bufio.NewReaderSize(r, 1<<16)
	var n int64
	if format == FormatJSONL {
		n, err = readJSONL(ctx, path, br, opts, fn)
	} else {
		n, err = readText(ctx, path, br, opts, fn)
	}
	if err != nil {
		var ue *userError
		if !errors.As(err, &ue) && !strings.HasPrefix(err.Error(), path) {
			err = fmt.Errorf("%s: %w", path, err)
		}
	}
	return n, err
}

// readLine reads one line up to max bytes; a longer line is consumed and
// reported with over=true and no content. eof is true at end of input.
func readLine(br *bufio.Reader, max int, buf []byte) (line []byte, over, eof bool, err error) {
	buf = buf[:0]
	for {
		chunk, e := br.ReadSlice('\n')
		if !over {
			if len(buf)+len(chunk) > max+1 {
				over = true
				buf = buf[:0]
			} else {
				buf = append(buf, chunk...)
			}
		}
		switch {
		case e == nil:
			return buf, over, false, nil
		case errors.Is(e, bufio.ErrBufferFull):
			continue
		case e == io.EOF:
			return buf, over, true, nil
		default:
			return buf, over, true, e
		}
	}
}

func readJSONL(ctx context.Context, path string, br *bufio.Reader, opts ReadOptions, fn func(Document) error) (int64, error) {
	var buf []byte
	var row, n int64
	for {
		if row%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
		line, over, eof, err := readLine(br, opts.MaxDocBytes, buf)
		if err != nil {
			return n, fmt.Errorf("line %d: %w", row+1, err)
		}
		buf = line
		trimmed := bytes.TrimSpace(line)
		if row == 0 {
			trimmed = bytes.TrimPrefix(trimmed, []byte("\xef\xbb\xbf")) // UTF-8 byte order mark
		}
		if over || len(trimmed) > 0 {
			doc := Document{Source: path, Row: row}
			if over {
				doc.ID = path + ":" + strconv.FormatInt(row, 10)
				doc.Oversize = true
			} else if opts.deferJSON {
				doc.raw = append([]byte(nil), trimmed...)
				doc.fields = opts.Fields
			} else if err := decodeJSONL(trimmed, opts.Fields, &doc); err != nil {
				return n, fmt.Errorf("line %d: %w", row+1, err)
			}
			n++
			if err := fn(doc); err != nil {
				return n, &userError{err}
			}
		}
		row++
		if eof {
			return n, nil
		}
	}
}

func decodeJSONL(line []byte, f Fields, doc *Document) error {
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(line, &rec); err != nil {
		return fmt.Errorf("json: %w", err)
	}
	raw, ok := rec[f.Text]
	if !ok {
		return fmt.Errorf("no field %q: %w", f.Text, ErrMissingColumn)
	}
	text, err := jsonString(raw)
	if err != nil {
		return fmt.Errorf("field %q: %w", f.Text, err)
	}
	doc.Text = text
	if raw, ok := rec[f.Title]; ok {
		if doc.Title, err = jsonString(raw); err != nil {
			return fmt.Errorf("field %q: %w", f.Title, err)
		}
	}
	if raw, ok := rec[f.ID]; ok {
		if doc.ID, err = jsonString(raw); err != nil {
			return fmt.Errorf("field %q: %w", f.ID, err)
		}
	}
	if doc.ID == "" {
		doc.ID = doc.Source + ":" + strconv.FormatInt(doc.Row, 10)
	}
	// encoding/json silently replaces invalid UTF-8 with U+FFFD, so check
	// the raw line: a record with any invalid byte is flagged (and dropped).
	doc.BadUTF8 = !validUTF8Bytes(line)
	return nil
}

// jsonString decodes a string, number or null field as a string.
func jsonString(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	if raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9') {
		return string(raw), nil
	}
	return "", fmt.Errorf("want a string, got %.20s", raw)
}

// readText streams blank-line separated paragraphs of one text file, which
// is one document with id = path.
func readText(ctx context.Context, path string, br *bufio.Reader, opts ReadOptions, fn func(Document) error) (int64, error) {
	var para []byte
	var over bool
	var paraIdx, n int64
	var lineNo int64
	flush := func() error {
		if len(para) == 0 && !over {
			return nil
		}
		doc := Document{ID: path, Source: path, Row: paraIdx, FirstPara: int(paraIdx), Oversize: over}
		if !over {
			doc.Text = string(para)
			doc.BadUTF8 = !validUTF8(doc.Text)
		}
		para, over = para[:0], false
		paraIdx++
		n++
		if err := fn(doc); err != nil {
			return &userError{err}
		}
		return nil
	}
	var buf []byte
	for {
		if lineNo%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
		line, lover, eof, err := readLine(br, opts.MaxDocBytes, buf)
		if err != nil {
			return n, fmt.Errorf("line %d: %w", lineNo+1, err)
		}
		buf = line
		lineNo++
		if len(bytes.TrimSpace(line)) == 0 && !lover {
			if err := flush(); err != nil {
				return n, err
			}
		} else if !over {
			if lover || len(para)+len(line) > opts.MaxDocBytes {
				over, para = true, para[:0]
			} else {
				para = append(para, line...)
			}
		}
		if eof {
			return n, flush()
		}
	}
}

// readParquet streams the text/title/id columns of a Parquet file row group
// by row group, page by page.
func readParquet(ctx context.Context, path string, ra io.ReaderAt, size int64, opts ReadOptions, fn func(Document) error) (n int64, err error) {
	if size == 0 {
		return 0, nil
	}
	defer func() {
		if r := recover(); r != nil { // parquet-go may panic on corrupt input
			err = fmt.Errorf("%s: corrupt parquet: %v", path, r)
		}
	}()
	pf, err := parquet.OpenFile(ra, size, parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true))
	if err != nil {
		return 0, fmt.Errorf("%s: parquet: %w", path, err)
	}
	schema := pf.Schema()
	textCol, ok := schema.Lookup(opts.Fields.Text)
	if !ok {
		var names []string
		for _, p := range schema.Columns() {
			names = append(names, strings.Join(p, "."))
		}
		return 0, fmt.Errorf("%s: no column %q (columns: %s): %w", path, opts.Fields.Text, strings.Join(names, ", "), ErrMissingColumn)
	}
	if textCol.MaxRepetitionLevel > 0 {
		return 0, fmt.Errorf("%s: column %q is repeated; want one string per row", path, opts.Fields.Text)
	}
	cols := []int{textCol.ColumnIndex}
	titleCol, hasTitle := schema.Lookup(opts.Fields.Title)
	hasTitle = hasTitle && titleCol.MaxRepetitionLevel == 0
	if hasTitle {
		cols = append(cols, titleCol.ColumnIndex)
	}
	idCol, hasID := schema.Lookup(opts.Fields.ID)
	hasID = hasID && idCol.MaxRepetitionLevel == 0
	if hasID {
		cols = append(cols, idCol.ColumnIndex)
	}
	var row int64
	for gi, rg := range pf.RowGroups() {
		chunks := rg.ColumnChunks()
		readers := make([]*columnValues, len(cols))
		for k, c := range cols {
			readers[k] = &columnValues{pages: chunks[c].Pages()}
		}
		nrows := rg.NumRows()
		for i := int64(0); i < nrows; i++ {
			if i%1024 == 0 {
				if err := ctx.Err(); err != nil {
					closeAll(readers)
					return n, err
				}
			}
			vals := make([]string, len(cols))
			for k, r := range readers {
				v, err := r.next()
				if err != nil {
					closeAll(readers)
					return n, fmt.Errorf("%s: row group %d, row %d, column %d: %w", path, gi, i, cols[k], err)
				}
				vals[k] = v
			}
			doc := Document{Text: vals[0], Source: path, Row: row}
			k := 1
			if hasTitle {
				doc.Title = vals[k]
				k++
			}
			if hasID {
				doc.ID = vals[k]
			}
			if doc.ID == "" {
				doc.ID = path + ":" + strconv.FormatInt(row, 10)
			}
			if len(doc.Text) > opts.MaxDocBytes {
				doc.Text, doc.Oversize = "", true
			}
			doc.BadUTF8 = !validUTF8(doc.Text) || !validUTF8(doc.Title)
			row++
			n++
			if err := fn(doc); err != nil {
				closeAll(readers)
				return n, &userError{err}
			}
		}
		closeAll(readers)
	}
	return n, nil
}

func closeAll(rs []*columnValues) {
	for _, r := range rs {
		r.close()
	}
}

// columnValues iterates the values of one flat column chunk page by page.
type columnValues struct {
	pages parquet.Pages
	page  parquet.Page
	vr    parquet.ValueReader
	buf   [64]parquet.Value
	vals  []parquet.Value
}

func (c *columnValues) next() (string, error) {
	for len(c.vals) == 0 {
		if c.vr != nil {
			m, err := c.vr.ReadValues(c.buf[:])
			if m > 0 {
				c.vals = c.buf[:m]
				break
			}
			if err != nil && err != io.EOF {
				return "", err
			}
			parquet.Release(c.page)
			c.page, c.vr = nil, nil
		}
		p, err := c.pages.ReadPage()
		if err == io.EOF {
			return "", fmt.Errorf("column ended early: %w", io.ErrUnexpectedEOF)
		}
		if err != nil {
			return "", err
		}
		c.page, c.vr = p, p.Values()
	}
	v := c.vals[0]
	c.vals = c.vals[1:]
	if v.IsNull() {
		return "", nil
	}
	switch v.Kind() {
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return string(v.ByteArray()), nil
	case parquet.Int32:
		return strconv.FormatInt(int64(v.Int32()), 10), nil
	case parquet.Int64:
		return strconv.FormatInt(v.Int64(), 10), nil
	}
	return v.String(), nil
}

func (c *columnValues) close() {
	if c.page != nil {
		parquet.Release(c.page)
		c.page = nil
	}
	c.pages.Close()
}
