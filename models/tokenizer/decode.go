package tokenizer

import "fmt"

// DecodeOptions change Decode's defaults.
type DecodeOptions struct {
	// SkipSpecialTokens drops added tokens marked special (as Hugging Face's
	// skip_special_tokens does); non-special added tokens stay.
	SkipSpecialTokens bool
	// DropUnknown silently drops ids that have no token (Hugging Face's
	// behaviour, e.g. for Qwen's padded embedding rows) instead of failing.
	DropUnknown bool
}

// Decode turns ids back into text as Hugging Face's ByteLevel decoder does:
// the bytes of all tokens are joined and decoded once, each ill-formed UTF-8
// subsequence becoming U+FFFD. Unlike Hugging Face, which silently drops ids
// that have no token, an id that is negative, ≥ VocabSize() or a hole in the
// vocabulary is an error (wrapping ErrUnknownID); use DecodeWith to drop
// them instead.
func (t *Tokenizer) Decode(ids []int32) (string, error) {
	return t.DecodeWith(ids, DecodeOptions{})
}

// DecodeWith is Decode with options.
func (t *Tokenizer) DecodeWith(ids []int32, o DecodeOptions) (string, error) {
	var raw []byte
	for i, id := range ids {
		b, ok, err := t.idBytes(id, o)
		if err != nil {
			return "", fmt.Errorf("ids[%d]: %w", i, err)
		}
		if ok {
			raw = append(raw, b...)
		}
	}
	return string(appendLossy(make([]byte, 0, len(raw)), raw)), nil
}

func (t *Tokenizer) idBytes(id int32, o DecodeOptions) ([]byte, bool, error) {
	if id < 0 || int(id) >= len(t.tokens) || !t.valid[id] {
		if o.DropUnknown {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("tokenizer %s: id %d: %w (vocabulary size %d)", t.name, id, ErrUnknownID, len(t.tokens))
	}
	if o.SkipSpecialTokens && t.special[id] {
		return nil, false, nil
	}
	return t.tokBytes[id], true, nil
}

// StreamDecoder decodes ids one at a time, holding back the bytes of an
// unfinished UTF-8 character; the concatenation of everything Push and
// Flush return equals DecodeWith of all the ids.
type StreamDecoder struct {
	t       *Tokenizer
	opts    DecodeOptions
	pending []byte
}

// NewStreamDecoder returns a streaming decoder over t.
func (t *Tokenizer) NewStreamDecoder(o DecodeOptions) *StreamDecoder {
	return &StreamDecoder{t: t, opts: o}
}

// Push adds one id and returns the text that is now complete (maybe "").
func (d *StreamDecoder) Push(id int32) (string, error) {
	b, ok, err := d.t.idBytes(id, d.opts)
	if err != nil || !ok {
		return "", err
	}
	d.pending = append(d.pending, b...)
	hold := incompleteTail(d.pending)
	done := d.pending[:len(d.pending)-hold]
	if len(done) == 0 {
		return "", nil
	}
	s := string(appendLossy(nil, done))
	d.pending = append(d.pending[:0], d.pending[len(done):]...)
	return s, nil
}

// Flush returns the held-back bytes (as U+FFFD) and resets the decoder.
func (d *StreamDecoder) Flush() string {
	s := string(appendLossy(nil, d.pending))
	d.pending = d.pending[:0]
	return s
}
