package task

import (
	"math/rand/v2"
	"strings"
	"unicode/utf8"

	"pz/orchestrator/stopwords"
)

// InvalidReason says why a generator completion gives no usable mask. The
// zero value, Valid, means the mask is usable. The names (String) are what
// trajectories store in invalid_reason.
type InvalidReason uint8

const (
	Valid                   InvalidReason = iota
	Missing                               // no \mask{...} in the completion
	Unbalanced                            // the last \mask{ is never closed
	Empty                                 // the span is empty or whitespace only
	InvalidUTF8                           // the span is not valid UTF-8 (a partial token)
	NotInParagraph                        // the span is not a substring of the paragraph (case-sensitive)
	TooManyOccurrences                    // the span occurs MaxOccurrences times or more
	NotWordAligned                        // word-aligned mode: no occurrence starts and ends at word boundaries
	StopWordsOnly                         // content-word guard: the span has no word outside the stop-word list
	TooLong                               // the span has more than MaxWords words
	DuplicateInGroup                      // guard: the same span was already proposed in this group
	RepeatedInBatch                       // guard: the span already reached the batch cap in this step
	PredictionPromptTooLong               // the rollout dropped the mask: its prediction prompt exceeds the prompt budget
	numReasons
)

var reasonNames = [numReasons]string{
	"", "missing", "unbalanced", "empty", "invalid_utf8", "not_in_paragraph",
	"too_many_occurrences", "not_word_aligned", "stop_words_only", "too_long",
	"duplicate_in_group", "repeated_in_batch", "prediction_prompt_too_long",
}

// String is the reason's stored name; "" for Valid.
func (r InvalidReason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// ParseInvalidReason is the inverse of String.
func ParseInvalidReason(s string) (InvalidReason, bool) {
	for i, n := range reasonNames {
		if n == s {
			return InvalidReason(i), true
		}
	}
	return 0, false
}

// Reasons lists every invalid reason (Valid excluded), in order.
func Reasons() []InvalidReason {
	out := make([]InvalidReason, 0, numReasons-1)
	for r := Missing; r < numReasons; r++ {
		out = append(out, r)
	}
	return out
}

// MaskOptions configure ValidateMask. The zero value is not the default: use
// DefaultMaskOptions.
type MaskOptions struct {
	// MaxOccurrences: a span occurring this many times or more in the
	// paragraph is invalid (the paper keeps spans occurring fewer than 8
	// times). 0 or less disables the check.
	MaxOccurrences int `json:"max_occurrences"`
	// WordAligned keeps only occurrences whose both ends are word
	// boundaries (the paper's "Words" ablation); see WordAlignedAt.
	WordAligned bool `json:"word_aligned"`
	// RequireContentWord rejects spans made only of stop words (a guard
	// against the generator collapsing onto "of", TOY-SCALE.md).
	RequireContentWord bool `json:"require_content_word"`
	// MaxWords rejects spans of more words than this; 0 disables.
	MaxWords int `json:"max_words"`
	// StopWords is the list for RequireContentWord and the stop-word
	// statistics; nil means stopwords.English().
	StopWords *stopwords.Set `json:"-"`
}

// DefaultMaskOptions are the paper's: fewer than 8 occurrences, substring
// matching, no guards.
func DefaultMaskOptions() MaskOptions { return MaskOptions{MaxOccurrences: 8} }

// StopWordSet is o.StopWords or the committed English list.
func (o MaskOptions) StopWordSet() *stopwords.Set {
	if o.StopWords != nil {
		return o.StopWords
	}
	return stopwords.English()
}

// Mask is a validated span and where it occurs in its paragraph.
type Mask struct {
	Span   string // the proposed span, surrounding whitespace trimmed
	Starts []int  // byte offsets of the counted (non-overlapping) occurrences
	Words  int    // number of words in Span (stopwords.EachWord)
}

// Occurrences is len(m.Starts).
func (m Mask) Occurrences() int { return len(m.Starts) }

// ValidateCompletion parses the last \mask{...} of a generator completion
// and validates it with ValidateMask.
func ValidateCompletion(paragraph, completion string, o MaskOptions) (Mask, InvalidReason) {
	span, ok, why := ParseLastCommand(completion, MaskCommand)
	if !ok {
		if why == ParseUnbalanced {
			return Mask{}, Unbalanced
		}
		return Mask{}, Missing
	}
	return ValidateMask(paragraph, span, o)
}

// ValidateMask checks a proposed span against its paragraph. The span is
// first trimmed of surrounding whitespace; the checks run in the order of the
// InvalidReason constants and the first failure is returned (with the Mask
// filled as far as known). "Present in the paragraph" is a case-sensitive
// byte substring test; occurrences are counted without overlap, left to
// right (strings.Count), and in word-aligned mode only aligned occurrences
// count.
func ValidateMask(paragraph, span string, o MaskOptions) (Mask, InvalidReason) {
	span = strings.TrimSpace(span)
	m := Mask{Span: span}
	if span == "" {
		return m, Empty
	}
	// Invalid bytes (a partial token), or the U+FFFD they become once
	// sanitised, when the span is not in the paragraph as such.
	if !utf8.ValidString(span) || (strings.ContainsRune(span, utf8.RuneError) && !strings.Contains(paragraph, span)) {
		return m, InvalidUTF8
	}
	m.Words = stopwords.CountWords(span)
	found := false
	for i := 0; i <= len(paragraph)-len(span); {
		j := strings.Index(paragraph[i:], span)
		if j < 0 {
			break
		}
		found = true
		at := i + j
		if !o.WordAligned || WordAlignedAt(paragraph, at, at+len(span)) {
			m.Starts = append(m.Starts, at)
			i = at + len(span)
		} else {
			i = at + 1
		}
	}
	if !found {
		return m, NotInParagraph
	}
	if o.MaxOccurrences > 0 && len(m.Starts) >= o.MaxOccurrences {
		return m, TooManyOccurrences
	}
	if len(m.Starts) == 0 {
		return m, NotWordAligned
	}
	if o.RequireContentWord && o.StopWordSet().OnlyStopWords(span) {
		return m, StopWordsOnly
	}
	if o.MaxWords > 0 && m.Words > o.MaxWords {
		return m, TooLong
	}
	return m, Valid
}

// WordAlignedAt reports whether text[start:end] begins and ends on word
// boundaries. A position is a word boundary unless the runes on both sides of
// it are word runes (letters, digits, combining marks); the ends of text are
// boundaries. So "cat" is aligned in "a cat." but not in "cats", and "-of"
// is aligned in "state-of-the-art" only where a non-word rune precedes it.
func WordAlignedAt(text string, start, end int) bool {
	return boundary(text, start) && boundary(text, end)
}

func boundary(text string, i int) bool {
	if i <= 0 || i >= len(text) {
		return true
	}
	before, _ := utf8.DecodeLastRuneInString(text[:i])
	after, _ := utf8.DecodeRuneInString(text[i:])
	return !(stopwords.IsWordRune(before) && stopwords.IsWordRune(after))
}

// MaskParagraph replaces the mask's occurrences in paragraph with MaskToken:
// all of them, or (all=false, the paper's OneMask ablation) one chosen with
// rng (the first when rng is nil).
func MaskParagraph(paragraph string, m Mask, all bool, rng *rand.Rand) string {
	if len(m.Starts) == 0 {
		return paragraph
	}
	starts := m.Starts
	if !all {
		k := 0
		if rng != nil {
			k = rng.IntN(len(starts))
		}
		starts = starts[k : k+1]
	}
	var b strings.Builder
	b.Grow(len(paragraph) + len(starts)*(len(MaskToken)-len(m.Span)))
	prev := 0
	for _, s := range starts {
		b.WriteString(paragraph[prev:s])
		b.WriteString(MaskToken)
		prev = s + len(m.Span)
	}
	b.WriteString(paragraph[prev:])
	return b.String()
}
