package synth

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"pz/data"
)

// tiny is a one-person, one-attribute world whose renderings can be
// written out by hand.
func tiny() *Pools {
	return &Pools{
		FemaleFirstNames: []string{"Ann"}, LastNames: []string{"Lee"}, HeldoutTemplates: 1,
		Attributes: []Attribute{{Name: "city", Values: []string{"Oslo"},
			Templates: []string{"{subj} was born in {value}.", "In {value}, {subj} grew up."}}},
		Noise:  []string{"Code {code}."},
		Filler: []string{"It rained."},
	}
}

func TestRenderLabelsByHand(t *testing.T) {
	p := tiny()
	cases := []struct {
		name    string
		opts    Options
		id      string
		text    string
		labels  []data.SpanLabel
		heldout bool
	}{
		{"train sentence, no noise or filler", Options{People: 1, Paragraphs: 1, Noise: -1, Filler: -1}, "bio-00000#0",
			"Ann Lee was born in Oslo.",
			[]data.SpanLabel{{Start: 0, End: 7, Kind: data.KindName}, {Start: 20, End: 24, Kind: data.KindAttribute, Field: "city"}}, false},
		{"held-out template, subject after the value", Options{People: 1, Paragraphs: 1, Noise: -1, Filler: -1}, "bio-00000#h0",
			"In Oslo, Ann Lee grew up.",
			[]data.SpanLabel{{Start: 3, End: 7, Kind: data.KindAttribute, Field: "city"}, {Start: 9, End: 16, Kind: data.KindName}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Generate(p, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			ps := c.Train
			if tc.heldout {
				ps = c.Heldout
			}
			i := slices.IndexFunc(ps, func(p data.Passage) bool { return p.ID == tc.id })
			if i < 0 {
				t.Fatalf("no passage %s", tc.id)
			}
			if ps[i].Text != tc.text {
				t.Errorf("text %q, want %q", ps[i].Text, tc.text)
			}
			if got := c.Labels[tc.id]; !reflect.DeepEqual(got, tc.labels) {
				t.Errorf("labels %+v, want %+v", got, tc.labels)
			}
		})
	}
}

var codeRe = regexp.MustCompile(`^[A-Z]{2}[0-9]-[0-9]{5}$`)

// TestLabelsMatchWorld checks every label of a default world against the
// world itself: an attribute label covers exactly that person's value of
// its field (each field once per paragraph), a name label the name, a
// noise label a serial, a filler label a pool sentence; labels are sorted
// and disjoint.
func TestLabelsMatchWorld(t *testing.T) {
	p := DefaultPools()
	c, err := Generate(p, Options{People: 60, Seed: 3, Paragraphs: 3, HeldoutParagraphs: 2, Noise: 2, Filler: 2})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Person{}
	for _, per := range c.World {
		byName[per.Name] = per
	}
	for _, ps := range append(append([]data.Passage(nil), c.Train...), c.Heldout...) {
		per := byName[ps.Title]
		fields := map[string]int{}
		kinds := map[string]int{}
		prev := 0
		for _, l := range c.Labels[ps.ID] {
			if l.Start < prev || l.End <= l.Start || l.End > len(ps.Text) {
				t.Fatalf("%s: label %+v out of order or range", ps.ID, l)
			}
			prev = l.End
			got := ps.Text[l.Start:l.End]
			kinds[l.Kind]++
			switch l.Kind {
			case data.KindAttribute:
				fields[l.Field]++
				if want := per.Attributes[l.Field]; got != want {
					t.Errorf("%s: %s label covers %q, want %q", ps.ID, l.Field, got, want)
				}
			case data.KindName:
				if got != per.Name {
					t.Errorf("%s: name label covers %q, want %q", ps.ID, got, per.Name)
				}
			case data.KindNoise:
				if !codeRe.MatchString(got) {
					t.Errorf("%s: noise label covers %q, not a serial", ps.ID, got)
				}
			case data.KindFiller:
				if !slices.Contains(p.Filler, got) {
					t.Errorf("%s: filler label covers %q, not a pool sentence", ps.ID, got)
				}
			default:
				t.Errorf("%s: label kind %q", ps.ID, l.Kind)
			}
		}
		for _, a := range p.Attributes {
			if fields[a.Name] != 1 {
				t.Errorf("%s: %d labels of %s, want 1", ps.ID, fields[a.Name], a.Name)
			}
		}
		if kinds[data.KindNoise] != 2 || kinds[data.KindFiller] != 2 || kinds[data.KindName] < 1 {
			t.Errorf("%s: kinds %v, want 2 noise, 2 filler and the name", ps.ID, kinds)
		}
		if !strings.Contains(ps.Text, per.Name) {
			t.Errorf("%s: the name never appears: %q", ps.ID, ps.Text)
		}
	}
}

// literal is a template's longest piece of fixed text.
func literal(tmpl string) string {
	best := ""
	for _, piece := range regexp.MustCompile(`\{[a-z]+\}`).Split(tmpl, -1) {
		if len(piece) > len(best) {
			best = piece
		}
	}
	return best
}

// TestSplitByTemplate: no train paragraph uses a held-out template, every
// held-out paragraph uses exactly one, for the attribute its mask asks
// about, and the mask's answer is the person's value, once in the text.
func TestSplitByTemplate(t *testing.T) {
	p := DefaultPools()
	c, err := Generate(p, Options{People: 200, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	held := map[string][]string{} // attribute → literals of its held-out templates
	for _, a := range p.Attributes {
		for _, tm := range a.Templates[len(a.Templates)-p.HeldoutTemplates:] {
			held[a.Name] = append(held[a.Name], literal(tm))
		}
	}
	for _, ps := range c.Train {
		for a, lits := range held {
			for _, l := range lits {
				if strings.Contains(ps.Text, l) {
					t.Fatalf("train %s uses held-out template %q of %s: %q", ps.ID, l, a, ps.Text)
				}
			}
		}
	}
	if len(c.Masks) != len(c.Heldout) || len(c.Masks) != 200 {
		t.Fatalf("%d masks for %d held-out passages, want 200", len(c.Masks), len(c.Heldout))
	}
	world := map[string]Person{}
	for _, per := range c.World {
		world[per.Name] = per
	}
	for i, m := range c.Masks {
		uses := map[string]int{}
		for a, lits := range held {
			for _, l := range lits {
				if strings.Contains(m.Text, l) {
					uses[a]++
				}
			}
		}
		if len(uses) != 1 || uses[m.Kind] != 1 {
			t.Errorf("mask %d (%s): held-out templates used %v, want one of %s", i, m.ID, uses, m.Kind)
		}
		if m.Text != c.Heldout[i].Text || m.ID != c.Heldout[i].ID {
			t.Errorf("mask %d is not held-out passage %d", i, i)
		}
		if want := world[m.Person].Attributes[m.Kind]; m.Span != want || strings.Count(m.Text, m.Span) != 1 {
			t.Errorf("mask %d: span %q (%d times), want %q once", i, m.Span, strings.Count(m.Text, m.Span), want)
		}
	}
}

func TestDeterministic(t *testing.T) {
	p := DefaultPools()
	o := Options{People: 50, Seed: 9}
	a, err := Generate(p, o)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Generate(p, o)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two corpora of one seed differ")
	}
	o.Seed = 10
	d, _ := Generate(p, o)
	if reflect.DeepEqual(a.World, d.World) || reflect.DeepEqual(a.Train, d.Train) {
		t.Fatal("seeds 9 and 10 give the same corpus")
	}
	// The written files are identical too, and read back as a data path.
	dir := t.TempDir()
	for _, sub := range []string{"x", "y"} {
		if err := Write(filepath.Join(dir, sub), a); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{WorldFile, MasksFile, data.SpanLabelsFile, TrainTextFile} {
		x, _ := os.ReadFile(filepath.Join(dir, "x", f))
		y, _ := os.ReadFile(filepath.Join(dir, "y", f))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s: %d and %d bytes, want equal and non-empty", f, len(x), len(y))
		}
	}
	for split, want := range map[string][]data.Passage{data.SplitTrain: a.Train, data.SplitHeldout: a.Heldout} {
		s, err := data.Open(t.Context(), filepath.Join(dir, "x"), data.OpenOptions{Split: split, NoShuffle: true})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(s.Passages(), want) {
			t.Errorf("%s split read back differs", split)
		}
	}
	labels, err := data.ReadSpanLabels(filepath.Join(dir, "x"))
	if err != nil || !reflect.DeepEqual(labels, a.Labels) {
		t.Errorf("labels read back differ (err %v)", err)
	}
}

func TestBadInput(t *testing.T) {
	cases := []struct {
		name   string
		pools  func(p *Pools)
		opts   Options
		errHas string
	}{
		{"pools too small", nil, Options{People: 3601}, "only 3600 unique people"},
		{"template without the value slot", func(p *Pools) { p.Attributes[2].Templates[3] = "{subj} studied somewhere." },
			Options{People: 5}, `attribute "university": template 3 "{subj} studied somewhere."`},
		{"template with the slot twice", func(p *Pools) { p.Attributes[0].Templates[0] = "{value} or {value}." },
			Options{People: 5}, "{value} 2 times"},
		{"unknown slot", func(p *Pools) { p.Attributes[1].Templates[0] = "{subj} was born in {value} {year}." },
			Options{People: 5}, "unknown slot"},
		{"noise without a code", func(p *Pools) { p.Noise[1] = "No code here." }, Options{People: 5}, "noise template 1"},
		{"no held-out template left", func(p *Pools) { p.HeldoutTemplates = 8 }, Options{People: 5}, "want more than heldout_templates"},
		{"derived attribute misses a value", func(p *Pools) { delete(p.Attributes[5].Map, "Juniper Energy") },
			Options{People: 5}, `map has no value for employer "Juniper Energy"`},
		{"budget too small", nil, Options{People: 500, BudgetTokens: 100_000, MinExposures: 10}, "over the budget of 100000 tokens"},
		{"paragraph over the cap", nil, Options{People: 5, MaxChars: 100}, "over --max-chars 100"},
		{"no people", nil, Options{People: 0}, "--people 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultPools()
			if tc.pools != nil {
				tc.pools(p)
			}
			_, err := Generate(p, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("error %v, want one containing %q", err, tc.errHas)
			}
		})
	}
}
