package data

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// StatsFile is the name of the stats JSON inside a prepared directory.
const StatsFile = "stats.json"

// Stats describes a Process or Prepare run; Prepare writes it as
// stats.json next to the shards.
type Stats struct {
	Format int `json:"format"` // 1
	FileStats
	Inputs          []string         `json:"inputs"`
	Records         int64            `json:"records_read"`   // JSONL lines, Parquet rows, text paragraphs
	Documents       int64            `json:"documents_read"` // records, counting a plain text file once
	Paragraphs      int64            `json:"paragraphs"`
	PassagesKept    int64            `json:"passages_kept"` // on the train side
	PassagesHeldout int64            `json:"passages_heldout"`
	Chars           int64            `json:"chars_kept"`  // both sides
	Tokens          int64            `json:"tokens_kept"` // both sides, 0 without a tokenizer
	Drops           map[string]int64 `json:"drops"`
	Unit            string           `json:"unit"` // "tokens" or "chars": the budget unit
	Min             int              `json:"min"`
	Max             int              `json:"max"`
	HeldoutFraction float64          `json:"heldout_fraction"`
	HeldoutBy       string           `json:"heldout_by"`
	// Histogram counts kept passages (both sides) by length in Unit.
	Histogram []Bucket `json:"histogram"`
	// Shards lists the train shard files in shard order (Prepare only).
	Shards      []ShardFile `json:"shards,omitempty"`
	Heldout     *ShardFile  `json:"heldout,omitempty"`
	Seconds     float64     `json:"seconds"`
	MBPerSecond float64     `json:"mb_per_second"` // input bytes on disk / wall time
}

// Bucket is one histogram bin: Lo <= length < Hi (Hi 0: no upper bound).
type Bucket struct {
	Lo    int   `json:"lo"`
	Hi    int   `json:"hi"`
	Count int64 `json:"count"`
}

// ShardFile is one output file and its passage count.
type ShardFile struct {
	File     string `json:"file"`
	Passages int64  `json:"passages"`
}

var histogramEdges = []int{0, 32, 64, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 8192}

func newStats(opts ProcessOptions) *Stats {
	st := &Stats{
		Format:          1,
		Inputs:          opts.Inputs,
		Drops:           map[string]int64{},
		Unit:            opts.Budget.Unit(),
		Min:             opts.Budget.Min,
		Max:             opts.Budget.Max,
		HeldoutFraction: opts.Heldout,
		HeldoutBy:       opts.HeldoutBy,
	}
	for _, r := range DropReasons() {
		st.Drops[r] = 0 // every filter shows in stats.json, even when it dropped nothing
	}
	for i, lo := range histogramEdges {
		hi := 0
		if i+1 < len(histogramEdges) {
			hi = histogramEdges[i+1]
		}
		st.Histogram = append(st.Histogram, Bucket{Lo: lo, Hi: hi})
	}
	return st
}

func (st *Stats) addCounts(c *counts) {
	st.Records += c.records
	st.Documents += c.documents
	st.Paragraphs += c.paragraphs
}

func (st *Stats) addPassage(p Passage, held bool) {
	if held {
		st.PassagesHeldout++
	} else {
		st.PassagesKept++
	}
	st.Chars += int64(p.NChars)
	st.Tokens += int64(p.NTokens)
	l := p.NChars
	if st.Unit == "tokens" {
		l = p.NTokens
	}
	i := sort.SearchInts(histogramEdges, l+1) - 1
	st.Histogram[i].Count++
}

// DroppedTotal sums Drops.
func (st *Stats) DroppedTotal() int64 {
	var n int64
	for _, v := range st.Drops {
		n += v
	}
	return n
}

// ReadStats reads dir/stats.json.
func ReadStats(dir string) (*Stats, error) {
	path := filepath.Join(dir, StatsFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read stats: %w", err)
	}
	var st Stats
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if st.Format != 1 {
		return nil, fmt.Errorf("%s: format %d: want 1", path, st.Format)
	}
	return &st, nil
}

// WriteText prints st for people.
func (st *Stats) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "inputs:            %s\n", strings.Join(st.Inputs, " "))
	fmt.Fprintf(&b, "files:             %d (%d empty, %d bad), %.1f MB\n", st.Files, st.EmptyFiles, len(st.Bad), float64(st.Bytes)/1e6)
	fmt.Fprintf(&b, "documents read:    %d (%d records, %d paragraphs)\n", st.Documents, st.Records, st.Paragraphs)
	fmt.Fprintf(&b, "passages kept:     %d train, %d held out (fraction %g by %s)\n", st.PassagesKept, st.PassagesHeldout, st.HeldoutFraction, st.HeldoutBy)
	fmt.Fprintf(&b, "budget:            %d..%d %s\n", st.Min, st.Max, st.Unit)
	fmt.Fprintf(&b, "kept:              %d chars, %d tokens\n", st.Chars, st.Tokens)
	fmt.Fprintf(&b, "dropped:           %d\n", st.DroppedTotal())
	keys := make([]string, 0, len(st.Drops))
	for k := range st.Drops {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return st.Drops[keys[i]] > st.Drops[keys[j]] || st.Drops[keys[i]] == st.Drops[keys[j]] && keys[i] < keys[j]
	})
	for _, k := range keys {
		if st.Drops[k] > 0 {
			fmt.Fprintf(&b, "  %-18s %d\n", k, st.Drops[k])
		}
	}
	for _, bad := range st.Bad {
		fmt.Fprintf(&b, "  bad file: %s\n", bad)
	}
	fmt.Fprintf(&b, "length histogram (%s):\n", st.Unit)
	var maxc int64
	for _, h := range st.Histogram {
		maxc = max(maxc, h.Count)
	}
	for _, h := range st.Histogram {
		if h.Count == 0 {
			continue
		}
		hi := "inf"
		if h.Hi > 0 {
			hi = fmt.Sprint(h.Hi)
		}
		bar := ""
		if maxc > 0 {
			bar = strings.Repeat("#", int(40*h.Count/maxc))
		}
		fmt.Fprintf(&b, "  [%5d, %5s) %8d %s\n", h.Lo, hi, h.Count, bar)
	}
	for _, s := range st.Shards {
		fmt.Fprintf(&b, "shard %s: %d passages\n", s.File, s.Passages)
	}
	if st.Heldout != nil {
		fmt.Fprintf(&b, "held out %s: %d passages\n", st.Heldout.File, st.Heldout.Passages)
	}
	fmt.Fprintf(&b, "time:              %.2f s, %.1f MB/s\n", st.Seconds, st.MBPerSecond)
	_, err := io.WriteString(w, b.String())
	return err
}
