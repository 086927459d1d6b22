package tokenizer

import (
	"unicode/utf8"
)

// byteLevel is GPT-2's reversible byte↔char table: printable bytes map to
// themselves, the other 68 bytes to U+0100 upward in byte order (space → Ġ,
// LF → Ċ).
type byteLevel struct {
	toChar [256]rune
	toByte map[rune]byte
}

func newByteLevel() *byteLevel {
	bl := &byteLevel{toByte: make(map[rune]byte, 256)}
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			bl.toChar[b] = rune(b)
		} else {
			bl.toChar[b] = rune(256 + n)
			n++
		}
		bl.toByte[bl.toChar[b]] = byte(b)
	}
	return bl
}

// encode maps raw bytes to their byte-level string.
func (bl *byteLevel) encode(raw []byte) string {
	out := make([]rune, len(raw))
	for i, b := range raw {
		out[i] = bl.toChar[b]
	}
	return string(out)
}

// decode maps a token string back to bytes. A char outside the table is
// taken as its own UTF-8 (as Hugging Face's ByteLevel decoder does). ok is
// false when that happened.
func (bl *byteLevel) decode(tok string) (raw []byte, ok bool) {
	ok = true
	raw = make([]byte, 0, len(tok))
	for _, r := range tok {
		if b, in := bl.toByte[r]; in {
			raw = append(raw, b)
		} else {
			raw = utf8.AppendRune(raw, r)
			ok = false
		}
	}
	return raw, ok
}

// appendLossy appends b to dst as valid UTF-8 the way Rust's
// String::from_utf8_lossy does: each maximal subpart of an ill-formed
// sequence (Unicode §3.9, "U+FFFD substitution of maximal subparts")
// becomes one U+FFFD.
func appendLossy(dst []byte, b []byte) []byte {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		n := validPrefix(b[i:])
		if n < 0 { // a complete valid sequence of -n bytes
			dst = append(dst, b[i:i-n]...)
			i += -n
			continue
		}
		dst = append(dst, "\uFFFD"...)
		i += n
	}
	return dst
}

// validPrefix inspects the sequence starting at a non-ASCII byte b[0]. It
// returns -size when b starts with a complete valid sequence of size bytes,
// or else the length (≥1) of the maximal subpart to replace.
func validPrefix(b []byte) int {
	c := b[0]
	var size int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		size = 2
	case c == 0xE0:
		size, lo = 3, 0xA0
	case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
		size = 3
	case c == 0xED:
		size, hi = 3, 0x9F
	case c == 0xF0:
		size, lo = 4, 0x90
	case c >= 0xF1 && c <= 0xF3:
		size = 4
	case c == 0xF4:
		size, hi = 4, 0x8F
	default:
		return 1
	}
	k := 1
	for ; k < size; k++ {
		if k >= len(b) {
			return k
		}
		x := b[k]
		if k == 1 {
			if x < lo || x > hi {
				return k
			}
		} else if x < 0x80 || x > 0xBF {
			return k
		}
	}
	return -size
}

// incompleteTail returns the length of the trailing bytes of b that form a
// valid but unfinished UTF-8 sequence (0 when there is none): a streaming
// decoder holds them back until more bytes come.
func incompleteTail(b []byte) int {
	for back := 1; back <= 3 && back <= len(b); back++ {
		c := b[len(b)-back]
		if c >= 0x80 && c < 0xC0 {
			continue // continuation byte: look further back
		}
		if c < 0xC2 {
			return 0
		}
		n := validPrefix(b[len(b)-back:])
		if n == back { // the whole tail is a proper prefix of a valid sequence
			return back
		}
		return 0
	}
	return 0
}
