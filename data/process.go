package data

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"
)

// ProcessOptions configure Process: which files, how documents become
// passages, and which are held out.
type ProcessOptions struct {
	Inputs []string // files, directories or globs
	Read   ReadOptions
	Budget BudgetOptions
	Filter FilterOptions
	// Heldout is the fraction of documents held out (see IsHeldout).
	Heldout float64
	// HeldoutBy is the document key hashed for the held-out split: "doc"
	// (the document id, default) or "title" (for corpora with one record
	// per paragraph, such as the shipped sample, where the title names the
	// article).
	HeldoutBy string
	NoDedup   bool // keep exact duplicates
	NearDedup bool // also drop MinHash/LSH near duplicates (Jaccard of word 5-shingles >~ 0.8)
	Workers   int  // parallel workers; default GOMAXPROCS
	Logger    *slog.Logger
}

// Process reads, splits, normalises, filters and deduplicates the inputs,
// calling fn for every kept passage in input order with whether it is held
// out. Memory is bounded by a few batches per worker plus the dedup sets
// (hashSet: 11-21 bytes per kept passage, 8 keys more per passage with
// NearDedup).
func Process(ctx context.Context, opts ProcessOptions, fn func(p Passage, heldout bool) error) (*Stats, error) {
	start := time.Now()
	opts.Budget = opts.Budget.withDefaults()
	opts.Filter = opts.Filter.withDefaults()
	if opts.Budget.Max < opts.Budget.Min || opts.Budget.Max <= 0 {
		return nil, fmt.Errorf("budget: max %d must be positive and >= min %d", opts.Budget.Max, opts.Budget.Min)
	}
	if opts.Heldout < 0 || opts.Heldout >= 1 {
		return nil, fmt.Errorf("heldout fraction %g: want 0 <= f < 1", opts.Heldout)
	}
	switch opts.HeldoutBy {
	case "":
		opts.HeldoutBy = "doc"
	case "doc", "title":
	default:
		return nil, fmt.Errorf("heldout-by %q: want doc or title", opts.HeldoutBy)
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	files, err := ExpandInputs(opts.Inputs)
	if err != nil {
		return nil, err
	}
	st := newStats(opts)
	opts.Read.deferJSON = true

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type batch struct {
		seq  int
		docs []Document
		out  []candidate
		cnt  counts
	}
	inflight := 2*opts.Workers + 2
	sem := make(chan struct{}, inflight)
	jobs := make(chan *batch, inflight)
	results := make(chan *batch, inflight)

	var fst FileStats
	var readErr error
	go func() {
		defer close(jobs)
		cur := &batch{}
		size := 0
		send := func() bool {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return false
			}
			jobs <- cur
			cur = &batch{seq: cur.seq + 1}
			size = 0
			return true
		}
		fst, readErr = ReadDocuments(ctx, files, opts.Read, func(d Document) error {
			cur.docs = append(cur.docs, d)
			size += len(d.Text) + len(d.raw) + 64
			if size >= 1<<20 || len(cur.docs) >= 512 {
				if !send() {
					return ctx.Err()
				}
			}
			return nil
		})
		if readErr == nil && len(cur.docs) > 0 {
			send()
		}
	}()
	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pr := processor{budget: opts.Budget, filter: opts.Filter, near: opts.NearDedup}
			for b := range jobs {
				for _, d := range b.docs {
					if d.raw != nil {
						err := decodeJSONL(d.raw, d.fields, &d)
						d.raw = nil
						if err != nil && opts.Read.SkipBadFiles {
							b.out = append(b.out, candidate{drop: DropBadRecord})
							continue
						}
						if err != nil {
							b.out = append(b.out, candidate{err: fmt.Errorf("%s: line %d: %w", d.Source, d.Row+1, err)})
							break
						}
					}
					pr.document(d, &b.out, &b.cnt)
				}
				b.docs = nil
				results <- b
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	var seen, bands hashSet
	pending := map[int]*batch{}
	next := 0
	var fnErr error
	handle := func(b *batch) {
		st.addCounts(&b.cnt)
		for i := range b.out {
			c := &b.out[i]
			if c.err != nil {
				if fnErr == nil {
					fnErr = c.err
					cancel()
				}
				return
			}
			if c.drop != "" {
				st.Drops[c.drop]++
				continue
			}
			if !opts.NoDedup {
				if !seen.add(c.key) {
					st.Drops[DropDuplicate]++
					continue
				}
			}
			if opts.NearDedup {
				dup := false
				for _, k := range c.bands {
					if bands.has(k) {
						dup = true
						break
					}
				}
				if dup {
					st.Drops[DropNearDuplicate]++
					continue
				}
				for _, k := range c.bands {
					bands.add(k)
				}
			}
			key := c.p.DocID
			if opts.HeldoutBy == "title" && c.p.Title != "" {
				key = c.p.Title
			}
			held := IsHeldout(key, opts.Heldout)
			st.addPassage(c.p, held)
			if fnErr == nil {
				if err := fn(c.p, held); err != nil {
					fnErr = err
					cancel()
				}
			}
		}
	}
	for b := range results {
		pending[b.seq] = b
		for {
			nb, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			if fnErr == nil {
				handle(nb)
			}
			<-sem
		}
	}
	if fnErr != nil {
		return nil, fnErr
	}
	if readErr != nil {
		return nil, readErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	st.FileStats = fst
	st.Seconds = time.Since(start).Seconds()
	if st.Seconds > 0 {
		st.MBPerSecond = float64(fst.Bytes) / 1e6 / st.Seconds
	}
	for _, b := range fst.Bad {
		log.Warn("skipped bad input file", "error", b)
	}
	return st, nil
}

// counts are per-batch tallies merged into Stats in order.
type counts struct {
	records, documents, paragraphs int64
}

type candidate struct {
	err   error // a record that could not be decoded: stops the run
	p     Passage
	drop  string
	key   uint64
	bands []uint64
}

type processor struct {
	budget BudgetOptions
	filter FilterOptions
	near   bool
}

func (pr *processor) document(d Document, out *[]candidate, cnt *counts) {
	cnt.records++
	if d.FirstPara == 0 {
		cnt.documents++
	}
	switch {
	case d.Oversize:
		*out = append(*out, candidate{drop: DropDocTooLarge})
		return
	case d.BadUTF8:
		*out = append(*out, candidate{drop: DropInvalidUTF8})
		return
	}
	paras := splitParagraphs(d.Text)
	if len(paras) == 0 {
		*out = append(*out, candidate{drop: DropEmpty})
		return
	}
	var lineCounts map[string]int
	if !pr.filter.KeepMarkup {
		nl := 0
		for _, p := range paras {
			nl += len(p)
		}
		if nl > 2 {
			lineCounts = make(map[string]int, nl)
			for _, p := range paras {
				for _, l := range p {
					lineCounts[strings.TrimSpace(l)]++
				}
			}
		}
	}
	title := Normalize(d.Title)
	pendText, pendIdx := "", 0
	flush := func() {
		if pendText != "" {
			pr.finish(d, title, pendText, pendIdx, out)
			pendText = ""
		}
	}
	for k, lines := range paras {
		cnt.paragraphs++
		idx := d.FirstPara + k
		if !pr.filter.KeepMarkup {
			if r := residue(lines, lineCounts); r != "" {
				*out = append(*out, candidate{drop: r})
				continue
			}
		}
		text := Normalize(strings.Join(lines, " "))
		if text == "" {
			*out = append(*out, candidate{drop: DropEmpty})
			continue
		}
		if !pr.budget.Pack {
			pr.finish(d, title, text, idx, out)
			continue
		}
		l := pr.budget.length(text)
		if l >= pr.budget.Min {
			flush()
			pr.finish(d, title, text, idx, out)
			continue
		}
		if pendText == "" {
			pendText, pendIdx = text, idx
		} else if joined := pendText + "\n\n" + text; pr.budget.length(joined) <= pr.budget.Max {
			pendText = joined
		} else {
			flush()
			pendText, pendIdx = text, idx
		}
		if pr.budget.length(pendText) >= pr.budget.Min {
			flush()
		}
	}
	flush()
}

// finish turns one normalised paragraph into passages within budget.
func (pr *processor) finish(d Document, title, text string, idx int, out *[]candidate) {
	b := pr.budget
	l := b.length(text)
	pieces := []string{text}
	lens := []int{l}
	split := false
	if l > b.Max {
		split = true
		pieces = splitToBudget(text, b)
		lens = lens[:0]
		for _, p := range pieces {
			lens = append(lens, b.length(p))
		}
	}
	for i, p := range pieces {
		c := candidate{}
		switch {
		case lens[i] < b.Min:
			c.drop = DropTooShort
		case lens[i] > b.Max:
			c.drop = DropTooLong
		default:
			c.drop = qualityDrop(p, pr.filter)
		}
		if c.drop == "" {
			c.p = Passage{
				ID:     passageID(d.ID, idx, i, split),
				DocID:  d.ID,
				Title:  title,
				Text:   p,
				Index:  idx,
				NChars: runeCount(p),
			}
			if b.Tokenizer != nil {
				c.p.NTokens = lens[i]
			}
			c.key = dedupKey(p)
			if pr.near {
				c.bands = minhashKeys(p)
			}
		}
		*out = append(*out, c)
	}
}

func runeCount(s string) int {
	n := 0
	for range s {
		n++
	}
	return n
}

// ErrNoPassages is returned when a data path yields no passage at all.
var ErrNoPassages = errors.New("no passages")
