package data

import (
	"compress/bzip2"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWikiProse(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"links", "An [[English language|English]] [[mathematician]]s work.", "An English mathematicians work."},
		{"templates nested", "Born {{birth date|{{nowrap|1912}}|6}}in London.", "Born in London."},
		{"refs", `Fact.<ref name="a">{{cite|x}}</ref> More.<ref name="b"/> End.`, "Fact. More. End."},
		{"file link with nested link", "A [[File:X.jpg|thumb|At [[Sherborne]]]] B", "A B"},
		{"category and interlanguage", "Text.\n[[Category:People]]\n[[de:Person]]", "Text."},
		{"bold italic", "'''Bold''' and ''italic'' and '''''both'''''.", "Bold and italic and both."},
		{"external link", "See [https://x.org/a the site] or [https://y.org].", "See the site or."},
		{"headings split paragraphs", "One.\n== H ==\nTwo.", "One.\n\nTwo."},
		{"lines join within a paragraph", "First line\nsecond line.\n\nNext.", "First line second line.\n\nNext."},
		{"lists and tables dropped", "* item\n# item\n{|\n| a || b\n|}\n: indent\nProse.", "Prose."},
		{"reference sections dropped", "Prose.\n== See also ==\nNot prose.\n== Life ==\nMore.", "Prose.\n\nMore."},
		{"comments and entities", "A<!-- hidden -->&nbsp;B &amp; C &ndash; D", "A B & C – D"},
		{"math dropped", "Let <math>x^2</math> be.", "Let be."},
		{"empty parentheses left by templates", "Turing ({{IPA|t}}) was.", "Turing was."},
		{"unclosed template", "Text {{broken", "Text"},
	} {
		if got := wikiProse(c.in); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// TestWikiXMLMultistreamBz2: testdata/wiki-multistream.xml.bz2
// (make-wiki-fixture.sh, two concatenated bzip2 streams as in a
// multistream dump) gives its two articles — the redirect and the talk
// page are left out — as prose, the second stream's included.
func TestWikiXMLMultistreamBz2(t *testing.T) {
	path := filepath.Join("testdata", "wiki-multistream.xml.bz2")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(bzip2.NewReader(f))
	f.Close()
	if err != nil || !strings.Contains(string(raw), "</mediawiki>") {
		t.Fatalf("compress/bzip2 stopped before the second stream (%d bytes, %v)", len(raw), err)
	}
	files, err := ExpandInputs([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	var docs []Document
	if _, err := ReadDocuments(context.Background(), files, ReadOptions{}, func(d Document) error {
		docs = append(docs, d)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 {
		t.Fatalf("%d documents, want 2: %+v", len(docs), docs)
	}
	turing := "Alan Mathison Turing (23 June 1912 – 7 June 1954) was an English mathematician, computer scientist and logician. " +
		"He was highly influential in the development of theoretical computer science.\n\n" +
		"Turing was born in Maida Vale, London. His father was in the Indian Civil Service.\n\n" +
		"See the archive for more."
	lovelace := "Augusta Ada King, Countess of Lovelace was an English mathematician and writer, chiefly known for her work on " +
		"Charles Babbage's proposed mechanical general-purpose computer, the Analytical Engine.\n\n" +
		"She was the first to recognise that the machine had applications beyond pure calculation & published the first algorithm."
	for i, want := range []struct{ id, title, text string }{{"1208", "Alan Turing", turing}, {"974", "Ada Lovelace", lovelace}} {
		d := docs[i]
		if d.ID != want.id || d.Title != want.title || d.Text != want.text {
			t.Errorf("document %d: id %q title %q text\n%q\nwant id %q title %q text\n%q", i, d.ID, d.Title, d.Text, want.id, want.title, want.text)
		}
	}
}

func TestWikiXMLBadInputNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broken.xml")
	if err := os.WriteFile(path, []byte("<mediawiki><page><title>A</title><ns>0</ns><revision><text>x</text></page>"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadDocuments(context.Background(), []string{path}, ReadOptions{}, func(Document) error { return nil })
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "page 1") {
		t.Errorf("err %v, want one naming %s and the page", err, path)
	}
}
