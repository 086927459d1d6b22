// Package synth generates corpora whose ground truth is known: synthetic
// biographies of people drawn from fixed pools (the setting of Allen-Zhu &
// Li's "Physics of Language Models" knowledge studies). Each paragraph
// holds, side by side, spans a model can learn (a person's attributes,
// repeated across that person's paragraphs), spans it cannot (random
// serials drawn afresh per sentence) and trivial ones (stock filler
// sentences), every one labelled with its kind and byte range. Held-out
// paragraphs render one attribute with a template no train paragraph uses,
// and masks.jsonl asks for that attribute: answering needs the fact
// stored from training, not the template.
package synth

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"pz/data"
	"pz/internal/atomicfile"
)

// Files of a synth directory, besides the prepared passage files.
const (
	WorldFile      = "world.json"  // [{"name", "pronoun", "attributes": {...}}]
	MasksFile      = "masks.jsonl" // held-out questions for pz eval --masks
	TrainTextFile  = "train.jsonl" // {"text"} per train paragraph, for pz tokenizer train
	TrainShardFile = "passages-00000-of-00001.parquet"
)

// Options configure Generate.
type Options struct {
	People int
	Seed   uint64
	// Paragraphs is the number of train paragraphs per person (default 4).
	Paragraphs int
	// HeldoutParagraphs is the number of held-out paragraphs (and masks)
	// per person (default 1).
	HeldoutParagraphs int
	// Noise and Filler sentences per paragraph (defaults 1 and 1; -1 for
	// none).
	Noise, Filler int
	// NameRepeat is the chance a later sentence names the person instead
	// of using the pronoun (default 0.25).
	NameRepeat float64
	// QuestionLast ends each held-out paragraph with the sentence its
	// question asks about, so the blank sits just before the answer cue:
	// a small model trained from scratch then needs no long-range lookup
	// of the blank to answer, only the fact.
	QuestionLast bool
	// MaxChars caps a paragraph's length in characters (0: no cap).
	MaxChars int
	// BudgetTokens, when > 0, is the training budget the train paragraphs
	// must fit MinExposures times (estimated at CharsPerToken characters
	// per token, default 4): a world the base cannot see often enough to
	// store its facts is an error, not a silent null result.
	BudgetTokens  int64
	MinExposures  float64
	CharsPerToken float64
}

func (o *Options) defaults() {
	if o.Paragraphs == 0 {
		o.Paragraphs = 4
	}
	if o.HeldoutParagraphs == 0 {
		o.HeldoutParagraphs = 1
	}
	if o.Noise == 0 {
		o.Noise = 1
	}
	if o.Filler == 0 {
		o.Filler = 1
	}
	o.Noise, o.Filler = max(o.Noise, 0), max(o.Filler, 0)
	if o.NameRepeat == 0 {
		o.NameRepeat = 0.25
	}
	if o.MinExposures == 0 {
		o.MinExposures = 1
	}
	if o.CharsPerToken <= 0 {
		o.CharsPerToken = 4
	}
}

// Person is one member of the world.
type Person struct {
	Name       string            `json:"name"`
	Pronoun    string            `json:"pronoun"`
	Attributes map[string]string `json:"attributes"`
}

// Mask is one held-out question, in the format pz eval --masks reads:
// the paragraph, the span to predict (Field's value) and the kind (Field).
type Mask struct {
	ID     string `json:"id"`
	Text   string `json:"text"`
	Span   string `json:"span"`
	Kind   string `json:"kind"`
	Person string `json:"person"`
}

// Corpus is a generated world and its rendering.
type Corpus struct {
	World   []Person
	Train   []data.Passage
	Heldout []data.Passage
	Labels  data.SpanLabels // both splits, by passage id
	Masks   []Mask
}

// Generate draws opts.People people with distinct names from pools and
// renders their paragraphs. The same pools, options and seed give the same
// corpus, byte for byte.
func Generate(p *Pools, opts Options) (*Corpus, error) {
	opts.defaults()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if opts.People < 1 {
		return nil, fmt.Errorf("synth: --people %d: want >= 1", opts.People)
	}
	if n := p.UniqueNames(); opts.People > n {
		return nil, fmt.Errorf("synth: --people %d: the name pools make only %d unique people (%d first names × %d last names)",
			opts.People, n, len(p.FemaleFirstNames)+len(p.MaleFirstNames), len(p.LastNames))
	}
	if opts.Paragraphs < 1 || opts.HeldoutParagraphs < 0 {
		return nil, fmt.Errorf("synth: %d train and %d held-out paragraphs per person: want >= 1 and >= 0", opts.Paragraphs, opts.HeldoutParagraphs)
	}
	c := &Corpus{Labels: data.SpanLabels{}}
	c.World = drawWorld(p, opts)
	g := &renderer{p: p, o: opts}
	for i, per := range c.World {
		doc := fmt.Sprintf("bio-%05d", i)
		for k := range opts.Paragraphs {
			rng := rand.New(rand.NewPCG(opts.Seed, uint64(i)<<20|uint64(k)<<1))
			text, labels := g.paragraph(rng, per, "")
			ps, err := g.passage(doc, fmt.Sprintf("%s#%d", doc, k), k, per, text)
			if err != nil {
				return nil, err
			}
			c.Train = append(c.Train, ps)
			c.Labels[ps.ID] = labels
		}
		for k := range opts.HeldoutParagraphs {
			field, ok := askable(p, per, i*opts.HeldoutParagraphs+k)
			if !ok {
				return nil, fmt.Errorf("synth: person %d (%s): every attribute value also occurs in another attribute or the name; no question has one answer", i, per.Name)
			}
			value := per.Attributes[field]
			var text string
			var labels []data.SpanLabel
			// The answer must occur once, or masking it would hide (or
			// reveal) other text; redraw the rendering until it does.
			for try := 0; ; try++ {
				rng := rand.New(rand.NewPCG(opts.Seed, uint64(i)<<20|uint64(k)<<1|1|uint64(try)<<40))
				text, labels = g.paragraph(rng, per, field)
				if strings.Count(text, value) == 1 {
					break
				}
				if try == 64 {
					return nil, fmt.Errorf("synth: person %d (%s): %s %q occurs more than once in every rendering", i, per.Name, field, value)
				}
			}
			ps, err := g.passage(doc, fmt.Sprintf("%s#h%d", doc, k), opts.Paragraphs+k, per, text)
			if err != nil {
				return nil, err
			}
			c.Heldout = append(c.Heldout, ps)
			c.Labels[ps.ID] = labels
			c.Masks = append(c.Masks, Mask{ID: ps.ID, Text: text, Span: value, Kind: field, Person: per.Name})
		}
	}
	if opts.BudgetTokens > 0 {
		var chars int
		for _, ps := range c.Train {
			chars += ps.NChars
		}
		need := float64(chars) / opts.CharsPerToken * opts.MinExposures
		if need > float64(opts.BudgetTokens) {
			return nil, fmt.Errorf("synth: --people %d: the train paragraphs are ~%.0f tokens (%d characters at %g per token); %g exposures need ~%.0f, over the budget of %d tokens: fewer people or paragraphs, or a larger budget",
				opts.People, float64(chars)/opts.CharsPerToken, chars, opts.CharsPerToken, opts.MinExposures, need, opts.BudgetTokens)
		}
	}
	return c, nil
}

// askable picks the attribute a held-out question asks for: the k-th in
// rotation (so questions spread evenly over attributes), skipping those
// whose value also occurs in another of the person's values or the name
// (born and working in the same city), which masking would hide too.
func askable(p *Pools, per Person, k int) (string, bool) {
	n := len(p.Attributes)
	for d := range n {
		a := p.Attributes[(k+d)%n].Name
		v, clash := per.Attributes[a], strings.Contains(per.Name, per.Attributes[a])
		for b, w := range per.Attributes {
			clash = clash || (b != a && strings.Contains(w, v))
		}
		if !clash {
			return a, true
		}
	}
	return "", false
}

// drawWorld draws distinct names (a uniform sample of the name product
// without replacement) and each person's attributes.
func drawWorld(p *Pools, o Options) []Person {
	rng := rand.New(rand.NewPCG(o.Seed, 0x776f726c64))
	first := append(append([]string(nil), p.FemaleFirstNames...), p.MaleFirstNames...)
	perm := rng.Perm(p.UniqueNames())[:o.People]
	out := make([]Person, o.People)
	for i, k := range perm {
		fi, li := k/len(p.LastNames), k%len(p.LastNames)
		per := Person{Name: first[fi] + " " + p.LastNames[li], Pronoun: "she", Attributes: map[string]string{}}
		if fi >= len(p.FemaleFirstNames) {
			per.Pronoun = "he"
		}
		for _, a := range p.Attributes {
			if a.From != "" {
				per.Attributes[a.Name] = a.Map[per.Attributes[a.From]]
				continue
			}
			per.Attributes[a.Name] = a.Values[rng.IntN(len(a.Values))]
		}
		out[i] = per
	}
	return out
}

type renderer struct {
	p *Pools
	o Options
}

func (g *renderer) passage(doc, id string, index int, per Person, text string) (data.Passage, error) {
	n := utf8.RuneCountInString(text)
	if g.o.MaxChars > 0 && n > g.o.MaxChars {
		return data.Passage{}, fmt.Errorf("synth: passage %s (%s) is %d characters, over --max-chars %d: fewer noise/filler sentences or a larger cap", id, per.Name, n, g.o.MaxChars)
	}
	return data.Passage{ID: id, DocID: doc, Title: per.Name, Text: text, Index: index, NChars: n}, nil
}

// sentence is one sentence to render: a template and what fills it.
type sentence struct {
	tmpl  string
	kind  string // data.KindAttribute, KindNoise or KindFiller
	field string
	value string
}

// paragraph renders one paragraph about per: every attribute once, in a
// random order, with noise and filler sentences at random places.
// heldout names the attribute rendered with a held-out template (""
// for a train paragraph, whose templates are all train ones).
func (g *renderer) paragraph(rng *rand.Rand, per Person, heldout string) (string, []data.SpanLabel) {
	var ss []sentence
	nTrain := func(a Attribute) int { return len(a.Templates) - g.p.HeldoutTemplates }
	for _, ai := range rng.Perm(len(g.p.Attributes)) {
		a := g.p.Attributes[ai]
		var t string
		if a.Name == heldout {
			t = a.Templates[nTrain(a)+rng.IntN(g.p.HeldoutTemplates)]
		} else {
			t = a.Templates[rng.IntN(nTrain(a))]
		}
		ss = append(ss, sentence{tmpl: t, kind: data.KindAttribute, field: a.Name, value: per.Attributes[a.Name]})
	}
	insert := func(s sentence) {
		at := rng.IntN(len(ss) + 1)
		ss = append(ss[:at], append([]sentence{s}, ss[at:]...)...)
	}
	for range g.o.Noise {
		insert(sentence{tmpl: g.p.Noise[rng.IntN(len(g.p.Noise))], kind: data.KindNoise, value: code(rng)})
	}
	for range g.o.Filler {
		insert(sentence{tmpl: g.p.Filler[rng.IntN(len(g.p.Filler))], kind: data.KindFiller})
	}
	if heldout != "" && g.o.QuestionLast {
		i := slices.IndexFunc(ss, func(s sentence) bool { return s.field == heldout })
		ss = append(append(ss[:i:i], ss[i+1:]...), ss[i])
	}
	var b strings.Builder
	var labels []data.SpanLabel
	named := false
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(' ')
		}
		if s.kind == data.KindFiller {
			labels = append(labels, data.SpanLabel{Start: b.Len(), End: b.Len() + len(s.tmpl), Kind: data.KindFiller})
			b.WriteString(s.tmpl)
			continue
		}
		slot := SlotValue
		if s.kind == data.KindNoise {
			slot = SlotCode
		}
		for rest := s.tmpl; rest != ""; {
			j := strings.IndexByte(rest, '{')
			if j < 0 {
				b.WriteString(rest)
				break
			}
			b.WriteString(rest[:j])
			rest = rest[j:]
			switch {
			case strings.HasPrefix(rest, SlotSubject):
				subj, kind := per.Name, data.KindName
				if named && rng.Float64() >= g.o.NameRepeat {
					subj, kind = per.Pronoun, data.KindOther
					if strings.HasPrefix(s.tmpl, SlotSubject) {
						subj = capitalise(subj)
					}
				}
				named = true
				if kind == data.KindName {
					labels = append(labels, data.SpanLabel{Start: b.Len(), End: b.Len() + len(subj), Kind: kind})
				}
				b.WriteString(subj)
				rest = rest[len(SlotSubject):]
			case strings.HasPrefix(rest, slot):
				labels = append(labels, data.SpanLabel{Start: b.Len(), End: b.Len() + len(s.value), Kind: s.kind, Field: s.field})
				b.WriteString(s.value)
				rest = rest[len(slot):]
			default: // Validate allows no other slot
				b.WriteString(rest[:1])
				rest = rest[1:]
			}
		}
	}
	return b.String(), labels
}

func capitalise(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// code is a random serial such as "QX7-30918": two letters, a digit, a
// dash and five digits, drawn afresh each time (about 2.3·10^8 codes), so
// no model can learn it.
func code(rng *rand.Rand) string {
	const letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	return fmt.Sprintf("%c%c%d-%05d", letters[rng.IntN(len(letters))], letters[rng.IntN(len(letters))], rng.IntN(10), rng.IntN(100000))
}

// Write writes the corpus to dir, replacing it atomically: world.json, the
// prepared passage files (train shard, heldout.parquet, stats.json) that
// every pz command reads as a data path, spans.jsonl, masks.jsonl and
// train.jsonl (the train text, for pz tokenizer train).
func Write(dir string, c *Corpus) error {
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(dir)), 0o755); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	return atomicfile.WriteDir(dir, 0o755, func(tmp string) error {
		if err := writeJSON(filepath.Join(tmp, WorldFile), c.World); err != nil {
			return err
		}
		if err := data.WritePassageFile(filepath.Join(tmp, TrainShardFile), c.Train); err != nil {
			return err
		}
		if err := data.WritePassageFile(filepath.Join(tmp, data.HeldoutFile), c.Heldout); err != nil {
			return err
		}
		if err := data.WriteSpanLabels(filepath.Join(tmp, data.SpanLabelsFile), c.Labels); err != nil {
			return err
		}
		if err := writeLines(filepath.Join(tmp, MasksFile), len(c.Masks), func(i int) any { return c.Masks[i] }); err != nil {
			return err
		}
		if err := writeLines(filepath.Join(tmp, TrainTextFile), len(c.Train), func(i int) any {
			return map[string]string{"id": c.Train[i].ID, "text": c.Train[i].Text}
		}); err != nil {
			return err
		}
		return writeJSON(filepath.Join(tmp, data.StatsFile), c.stats())
	})
}

// stats is the stats.json that makes dir a prepared data path.
func (c *Corpus) stats() *data.Stats {
	st := &data.Stats{Format: 1, Inputs: []string{"synth:bios"}, Drops: map[string]int64{}, Unit: "chars",
		HeldoutBy: "template", Documents: int64(len(c.World)),
		PassagesKept: int64(len(c.Train)), PassagesHeldout: int64(len(c.Heldout)),
		Shards:  []data.ShardFile{{File: TrainShardFile, Passages: int64(len(c.Train))}},
		Heldout: &data.ShardFile{File: data.HeldoutFile, Passages: int64(len(c.Heldout))}}
	st.Paragraphs = st.PassagesKept + st.PassagesHeldout
	st.Records = st.Paragraphs
	if st.Paragraphs > 0 {
		st.HeldoutFraction = float64(st.PassagesHeldout) / float64(st.Paragraphs)
	}
	for _, ps := range append(append([]data.Passage(nil), c.Train...), c.Heldout...) {
		st.Chars += int64(ps.NChars)
		if st.Min == 0 || ps.NChars < st.Min {
			st.Min = ps.NChars
		}
		st.Max = max(st.Max, ps.NChars)
	}
	return st
}

func writeJSON(path string, v any) error {
	return atomicfile.WriteFunc(path, 0o644, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}

func writeLines(path string, n int, item func(int) any) error {
	return atomicfile.WriteFunc(path, 0o644, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for i := range n {
			if err := enc.Encode(item(i)); err != nil {
				return err
			}
		}
		return nil
	})
}
