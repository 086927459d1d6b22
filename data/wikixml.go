package data

import (
	"bufio"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Raw MediaWiki XML dumps (enwiki-*-pages-articles.xml, usually .bz2):
// each article page (namespace 0, not a redirect) is one Document whose
// Text is its wikitext reduced to prose paragraphs (wikiProse), separated
// by blank lines. The file is streamed one page at a time; a .bz2 file is
// decompressed on the fly by compress/bzip2, which reads the concatenated
// streams of a multistream dump as one.

// FormatWikiXML is a MediaWiki XML dump.
const FormatWikiXML = "wikixml"

// wikiPage is the part of a <page> element that is read.
type wikiPage struct {
	Title    string `xml:"title"`
	NS       int    `xml:"ns"`
	ID       string `xml:"id"`
	Redirect *struct {
		Title string `xml:"title,attr"`
	} `xml:"redirect"`
	Text string `xml:"revision>text"`
}

// readWikiXML streams the article pages of a MediaWiki XML dump.
func readWikiXML(ctx context.Context, path string, r io.Reader, opts ReadOptions, fn func(Document) error) (int64, error) {
	dec := xml.NewDecoder(bufio.NewReaderSize(r, 1<<16))
	var n, pages int64
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("xml after %d pages (offset %d): %w", pages, dec.InputOffset(), err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "page" {
			continue
		}
		if pages%256 == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
		var p wikiPage
		if err := dec.DecodeElement(&p, &se); err != nil {
			return n, fmt.Errorf("page %d (offset %d): %w", pages+1, dec.InputOffset(), err)
		}
		pages++
		if p.NS != 0 || p.Redirect != nil {
			continue
		}
		doc := Document{ID: p.ID, Title: p.Title, Source: path, Row: pages - 1}
		if doc.ID == "" {
			doc.ID = path + ":" + strconv.FormatInt(pages-1, 10)
		}
		if len(p.Text) > opts.MaxDocBytes {
			doc.Oversize = true
		} else {
			doc.Text = wikiProse(p.Text)
			if doc.Text == "" {
				continue
			}
			doc.BadUTF8 = !validUTF8(doc.Text)
		}
		n++
		if err := fn(doc); err != nil {
			return n, &userError{err}
		}
	}
}

var (
	wikiComment = regexp.MustCompile(`(?s)<!--.*?(-->|$)`)
	// Elements dropped with their content.
	wikiDropElem = regexp.MustCompile(`(?is)<(ref|math|gallery|timeline|score|syntaxhighlight|source|chem|ce|imagemap|mapframe|graph|templatedata|hiero)\b[^>]*?(/>|>.*?</\s*(?:ref|math|gallery|timeline|score|syntaxhighlight|source|chem|ce|imagemap|mapframe|graph|templatedata|hiero)\s*>)`)
	wikiTag      = regexp.MustCompile(`</?[a-zA-Z][a-zA-Z0-9]*\b[^<>]*?/?>`)
	wikiExtLink  = regexp.MustCompile(`\[(?:https?:|ftp:)?//[^\s\]]*\s*([^\]]*)\]`)
	wikiBareURL  = regexp.MustCompile(`https?://\S+`)
	wikiQuotes   = regexp.MustCompile(`'{2,}`)
	wikiMagic    = regexp.MustCompile(`__[A-Z]+__`)
	wikiSpaces   = regexp.MustCompile(`[ \t\x{00A0}]+`)
	wikiEmptyPar = regexp.MustCompile(`\(\s*[,;]?\s*\)`)
	wikiSpacePct = regexp.MustCompile(` ([,.;:!?])`)
)

// wikiSkipSections are headings whose sections are not prose.
var wikiSkipSections = map[string]bool{
	"see also": true, "references": true, "external links": true, "further reading": true,
	"notes": true, "bibliography": true, "sources": true, "footnotes": true, "citations": true,
	"notes and references": true, "works cited": true, "gallery": true,
}

// wikiProse reduces wikitext to its prose: comments, references, math and
// similar elements, templates ({{…}}), tables ({|…|}), file, category and
// interlanguage links are dropped; internal links keep their label,
// external links their text; bold and italic quotes and HTML tags go;
// headings, list items, indented lines and table rows are dropped, as are
// the reference-like sections (See also, References, …). Lines of one
// paragraph are joined with a space; paragraphs are separated by a blank
// line.
func wikiProse(s string) string {
	s = wikiComment.ReplaceAllString(s, "")
	s = wikiDropElem.ReplaceAllString(s, "")
	s = removeNested(s, "{{", "}}")
	s = removeNested(s, "{|", "|}")
	s = wikiLinks(s)
	s = wikiExtLink.ReplaceAllString(s, "$1")
	s = wikiTag.ReplaceAllString(s, "")
	s = wikiQuotes.ReplaceAllString(s, "")
	s = wikiMagic.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	var out []string
	var para []string
	flush := func() {
		if len(para) > 0 {
			p := strings.TrimSpace(wikiSpaces.ReplaceAllString(strings.Join(para, " "), " "))
			p = wikiEmptyPar.ReplaceAllString(p, "")
			p = wikiSpacePct.ReplaceAllString(wikiSpaces.ReplaceAllString(p, " "), "$1")
			if p != "" {
				out = append(out, p)
			}
		}
		para = para[:0]
	}
	skip := false
	for line := range strings.SplitSeq(s, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case t == "":
			flush()
		case strings.HasPrefix(t, "=") && strings.HasSuffix(t, "="):
			flush()
			skip = wikiSkipSections[strings.ToLower(strings.TrimSpace(strings.Trim(t, "=")))]
		case skip:
		case strings.ContainsAny(t[:1], "*#:;|!") || strings.HasPrefix(t, "----"):
			flush()
		default:
			para = append(para, t)
		}
	}
	flush()
	return strings.Join(out, "\n\n")
}

// removeNested removes every balanced open…close region (nested ones
// included); an unclosed region runs to the end of s.
func removeNested(s, open, close string) string {
	if !strings.Contains(s, open) {
		return s
	}
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], open):
			depth++
			i += len(open)
		case depth > 0 && strings.HasPrefix(s[i:], close):
			depth--
			i += len(close)
		default:
			if depth == 0 {
				b.WriteByte(s[i])
			}
			i++
		}
	}
	return b.String()
}

// wikiLinkDrop are link namespaces that are not prose.
var wikiLinkDrop = regexp.MustCompile(`(?i)^\s*:?\s*(file|image|media|category|wikipedia|wp|template|help|portal|special|draft|module|user|talk|[a-z]{2,3}(-[a-z]+)?)\s*:`)

// wikiLinks replaces [[target|label]] by label and [[target]] by target,
// and drops file, category and interlanguage links (captions included).
func wikiLinks(s string) string {
	if !strings.Contains(s, "[[") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "[[")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		// Find the matching ]] (captions of file links nest links).
		depth, j := 0, i
		for j < len(s) {
			if strings.HasPrefix(s[j:], "[[") {
				depth++
				j += 2
				continue
			}
			if strings.HasPrefix(s[j:], "]]") {
				depth--
				j += 2
				if depth == 0 {
					break
				}
				continue
			}
			j++
		}
		inner := s[i+2 : max(i+2, j-2)]
		if depth != 0 {
			inner = s[i+2:]
		}
		s = s[j:]
		if wikiLinkDrop.MatchString(inner) {
			continue
		}
		if k := strings.LastIndexByte(inner, '|'); k >= 0 {
			inner = inner[k+1:]
		}
		b.WriteString(inner)
	}
}
