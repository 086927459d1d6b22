package data

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Passage is one training unit: a paragraph (or a piece of one, or several
// short ones packed together) of one document, normalised and filtered.
type Passage struct {
	ID     string // DocID + "#" + paragraph index (+ "." + piece for split paragraphs)
	DocID  string // the document's id, from the id field, or "<file>:<row>" when absent
	Title  string // the document's title, "" when the corpus has none
	Text   string // normalised text (NFC, whitespace collapsed)
	Index  int    // index of the (first) paragraph inside the document
	NChars int    // characters (runes) of Text
	// NTokens is the token count of Text with the tokenizer given to
	// prepare, 0 when budgets were in characters.
	NTokens int
}

// Hash64 is the stable hash used for every deterministic choice in this
// package: 64-bit FNV-1a of the UTF-8 bytes of s (offset basis
// 14695981039346656037, prime 1099511628211).
func Hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// ShardOf returns the shard of a passage id among n shards:
// Hash64(id) mod n. "--shard i/N" means exactly ShardOf(id, N) == i
// everywhere in pz.
func ShardOf(id string, n int) int {
	if n <= 1 {
		return 0
	}
	return int(Hash64(id) % uint64(n))
}

// IsHeldout reports whether a document goes to the held-out split for a
// held-out fraction frac: Hash64("heldout:" + key) / 2^64 < frac, where key
// is the document id (or title, see PrepareOptions.HeldoutBy). Every passage
// of a document is on the same side.
func IsHeldout(key string, frac float64) bool {
	if frac <= 0 {
		return false
	}
	if frac >= 1 {
		return true
	}
	u := float64(Hash64("heldout:"+key)>>11) / (1 << 53)
	return u < frac
}

// ShardSpec is a "--shard i/N" selection: passages with ShardOf(id, N) == I.
// The zero value (N == 0) selects everything.
type ShardSpec struct {
	I, N int
}

// ErrBadShard reports a malformed --shard value.
var ErrBadShard = errors.New("bad shard spec")

// ParseShard parses "i/N" with 0 <= i < N. An empty string is the zero
// ShardSpec (all passages).
func ParseShard(s string) (ShardSpec, error) {
	if s == "" {
		return ShardSpec{}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return ShardSpec{}, fmt.Errorf("%w: %q: want i/N", ErrBadShard, s)
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return ShardSpec{}, fmt.Errorf("%w: %q: want i/N with 0 <= i < N", ErrBadShard, s)
	}
	return ShardSpec{I: i, N: n}, nil
}

// Contains reports whether the passage id belongs to the shard.
func (s ShardSpec) Contains(id string) bool {
	if s.N <= 1 {
		return true
	}
	return ShardOf(id, s.N) == s.I
}

// String formats the spec as "i/N" ("" for all passages).
func (s ShardSpec) String() string {
	if s.N == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.I, s.N)
}

func passageID(docID string, para, piece int, split bool) string {
	id := docID + "#" + strconv.Itoa(para)
	if split {
		id += "." + strconv.Itoa(piece)
	}
	return id
}
