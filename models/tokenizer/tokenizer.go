// Package tokenizer implements Hugging Face tokenizer.json byte-level BPE
// (as Qwen2/Qwen3, Llama-3 and GPT-2 use it) exactly: added tokens split out
// first, NFC, the Split pre-tokenizer regex (matched by hand), the GPT-2
// byte-to-char mapping, merges by rank and the ByteLevel decoder. It also
// trains such tokenizers and writes tokenizer.json files that Hugging Face
// loads.
//
// Behaviour worth knowing (see ../shared/design/TOKENIZER.md, from the repository root, for the
// Hugging Face facts; the goldens in testdata were made by Hugging Face's
// tokenizers 0.23.2 with scripts/tokenizer-golden):
//   - Encode is plain text: no added token is recognised. EncodeSpecial
//     matches every added token (special or not) first, as Hugging Face does
//     by default. Neither adds BOS/EOS; the post-processor is never applied.
//   - Added-token ids are numbered as Hugging Face numbers them on load (in
//     list order from the vocabulary size); a file that says otherwise is
//     logged, not rejected.
//   - NFC is Unicode's plain algorithm (no Stream-Safe U+034F insertion).
//     Letters and digits are Go's unicode tables (Unicode 15.0; Hugging Face
//     has 16.0).
//   - Invalid UTF-8 in the input reads as one U+FFFD per invalid byte.
//   - Decode fails on ids that have no token (Hugging Face drops them);
//     DecodeWith{DropUnknown} drops them too.
//   - Supported: model BPE (no dropout, byte_fallback, subword prefix or
//     suffix; ignore_merges, unk_token and fuse_unk honoured), normalizer NFC
//     or none, pre-tokenizer Split (the Qwen2, Llama-3 or GPT-2 regex,
//     Isolated) followed by ByteLevel (use_regex and add_prefix_space
//     honoured), decoder ByteLevel. Anything else is an error naming the
//     file and the field.
//
// A Tokenizer is safe for concurrent use.
package tokenizer

import (
	"errors"
	"strings"
	"sync"
	"unicode/utf8"
)

// ErrUnknownID is returned (wrapped) when an id has no token.
var ErrUnknownID = errors.New("token id has no token")

// AddedToken is one entry of tokenizer.json's added_tokens.
type AddedToken struct {
	ID         int32
	Content    string
	Special    bool
	Normalized bool
	LStrip     bool
	RStrip     bool
	SingleWord bool
}

// Tokenizer is a loaded byte-level BPE tokenizer.
type Tokenizer struct {
	name string

	vocab        map[string]int32 // base vocabulary: token string → id
	tokens       []string         // id → token string (base and added); "" where none
	valid        []bool           // id has a token
	tokBytes     [][]byte         // id → bytes the token decodes to
	byteID       [256]int32       // byte → id of its single-byte token, -1 if none
	rawVocab     map[string]int32 // raw bytes → id, for ignore_merges
	merges       map[uint64]uint64
	mergeList    [][2]string
	ignoreMerges bool
	unkID        int32
	unkToken     string
	fuseUnk      bool

	nfc bool
	pre []preStep
	bl  *byteLevel
	dec decoderKind
	// The file's normalizer, pre_tokenizer, post_processor and decoder JSON,
	// written back by Save. The post-processor is never applied: no BOS/EOS
	// is ever added.
	rawNorm, rawPre, rawPost, rawDec string

	added      []AddedToken
	special    map[int32]bool
	rawMatch   *addedMatcher // added tokens with normalized=false
	normMatch  *addedMatcher // added tokens with normalized=true
	eos, bos   string
	cacheMu    sync.RWMutex
	cache      map[string][]int32
	cacheLimit int
}

type decoderKind uint8

// preStep is one step of the pre-tokenizer: a Split regex, or ByteLevel
// (which may add a prefix space and split with the GPT-2 regex).
type preStep struct {
	split          splitKind // 0 for none
	byteLevel      bool
	addPrefixSpace bool
}

// Name is the file the tokenizer was loaded from (or "trained").
func (t *Tokenizer) Name() string { return t.name }

// VocabSize is the number of ids: one past the largest id of the base
// vocabulary and the added tokens (for a dense vocabulary, as Hugging Face's
// get_vocab_size(with_added_tokens=true)).
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// TokenID returns the id of a token string (the byte-level form for base
// tokens, the content for added tokens).
func (t *Tokenizer) TokenID(tok string) (int32, bool) {
	for _, a := range t.added {
		if a.Content == tok {
			return a.ID, true
		}
	}
	id, ok := t.vocab[tok]
	return id, ok
}

// TokenString returns the token string of id ("" when it has none): the
// byte-level form for base tokens, the content for added tokens (NFC-normalized
// for added tokens with normalized true, as Hugging Face's id_to_token).
func (t *Tokenizer) TokenString(id int32) string {
	if id < 0 || int(id) >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// AddedTokens returns the added tokens in id order.
func (t *Tokenizer) AddedTokens() []AddedToken { return append([]AddedToken(nil), t.added...) }

// IsSpecial reports whether decoding with SkipSpecialTokens drops id: its
// token string is the content of an added token marked special.
func (t *Tokenizer) IsSpecial(id int32) bool { return t.special[id] }

// EOS returns the end-of-sequence token: tokenizer_config.json's eos_token
// when it was read, else the added token <|endoftext|> if there is one.
func (t *Tokenizer) EOS() (int32, bool) {
	if t.eos != "" {
		return t.TokenID(t.eos)
	}
	return t.TokenID("<|endoftext|>")
}

// BOS returns tokenizer_config.json's bos_token, if any.
func (t *Tokenizer) BOS() (int32, bool) {
	if t.bos == "" {
		return 0, false
	}
	return t.TokenID(t.bos)
}

// Encode encodes plain text: no added token is recognised (their text is
// tokenized like any other), and no BOS/EOS is added. Invalid UTF-8 bytes
// are read as U+FFFD each.
func (t *Tokenizer) Encode(text string) []int32 {
	text = validUTF8(text)
	out := make([]int32, 0, len(text)/4+4)
	return t.encodeSegment(out, t.normalize(text))
}

// EncodeSpecial encodes text matching every added token (special or not) as
// its single id first, leftmost-longest on the raw text, as Hugging Face
// does by default; the text between them is encoded as by Encode. No
// BOS/EOS is added.
func (t *Tokenizer) EncodeSpecial(text string) []int32 {
	text = validUTF8(text)
	out := make([]int32, 0, len(text)/4+4)
	if t.rawMatch == nil && t.normMatch == nil {
		return t.encodeSegment(out, t.normalize(text))
	}
	t.rawMatch.split(text, func(seg string, id int32) {
		if id >= 0 {
			out = append(out, id)
			return
		}
		seg = t.normalize(seg)
		t.normMatch.split(seg, func(s2 string, id2 int32) {
			if id2 >= 0 {
				out = append(out, id2)
				return
			}
			out = t.encodeSegment(out, s2)
		})
	})
	return out
}

func (t *Tokenizer) normalize(s string) string {
	if !t.nfc {
		return s
	}
	return nfc(s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// validUTF8 replaces each invalid byte by U+FFFD (as encoding/json does).
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r)
		i += n
	}
	return b.String()
}

// encodeSegment pre-tokenizes a normalized segment and appends the BPE ids
// of each piece.
func (t *Tokenizer) encodeSegment(out []int32, s string) []int32 {
	return t.preFrom(out, s, 0)
}

// preFrom applies the pre-tokenizer steps from step on to s.
func (t *Tokenizer) preFrom(out []int32, s string, step int) []int32 {
	if s == "" {
		return out
	}
	if step == len(t.pre) {
		return t.encodePiece(out, s)
	}
	p := t.pre[step]
	if p.addPrefixSpace && s[0] != ' ' {
		s = " " + s
	}
	kind := p.split
	if kind == 0 {
		return t.preFrom(out, s, step+1)
	}
	if step+1 == len(t.pre) {
		splitPieces(s, kind, func(piece string) { out = t.encodePiece(out, piece) })
		return out
	}
	splitPieces(s, kind, func(piece string) { out = t.preFrom(out, piece, step+1) })
	return out
}

// maxCachedPiece is the longest piece (in bytes) whose ids are cached.
const maxCachedPiece = 48

// encodePiece appends the ids of one pre-token (raw bytes).
func (t *Tokenizer) encodePiece(out []int32, piece string) []int32 {
	if len(piece) == 1 {
		if id := t.byteID[piece[0]]; id >= 0 {
			return append(out, id)
		}
	}
	if t.ignoreMerges {
		if id, ok := t.rawVocab[piece]; ok {
			return append(out, id)
		}
	}
	if len(piece) > maxCachedPiece {
		return t.bpe(out, piece)
	}
	t.cacheMu.RLock()
	ids, ok := t.cache[piece]
	t.cacheMu.RUnlock()
	if ok {
		return append(out, ids...)
	}
	n := len(out)
	out = t.bpe(out, piece)
	t.cacheMu.Lock()
	if len(t.cache) < t.cacheLimit {
		t.cache[strings.Clone(piece)] = append([]int32(nil), out[n:]...)
	}
	t.cacheMu.Unlock()
	return out
}
