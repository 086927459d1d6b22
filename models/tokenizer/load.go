package tokenizer

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// Load reads a tokenizer.json file (gzip-compressed when it ends in .gz), or
// a folder holding tokenizer.json; tokenizer_config.json next to it, when
// present, names the eos/bos tokens.
func Load(path string) (*Tokenizer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if st.IsDir() {
		path = filepath.Join(path, "tokenizer.json")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("tokenizer %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	t, err := Parse(r, path)
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(filepath.Dir(path), "tokenizer_config.json")
	if b, err := os.ReadFile(cfgPath); err == nil {
		if err := t.readConfig(b, cfgPath); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (t *Tokenizer) readConfig(b []byte, name string) error {
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("tokenizer config %s: %w", name, err)
	}
	tokName := func(field string) (string, error) {
		raw, ok := cfg[field]
		if !ok || string(raw) == "null" {
			return "", nil
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s, nil
		}
		var obj struct {
			Content string `json:"content"`
		}
		if err := json.Unmarshal(raw, &obj); err != nil {
			return "", fmt.Errorf("tokenizer config %s: field %s: %w", name, field, err)
		}
		return obj.Content, nil
	}
	var err error
	if t.eos, err = tokName("eos_token"); err != nil {
		return err
	}
	if t.bos, err = tokName("bos_token"); err != nil {
		return err
	}
	for _, n := range []string{t.eos, t.bos} {
		if n != "" {
			if _, ok := t.TokenID(n); !ok {
				return fmt.Errorf("tokenizer config %s: token %q is not in the vocabulary", name, n)
			}
		}
	}
	return nil
}

type fileJSON struct {
	Version       string          `json:"version"`
	AddedTokens   []addedJSON     `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         *modelJSON      `json:"model"`
}

type addedJSON struct {
	ID         int32  `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

type modelJSON struct {
	Type                    string           `json:"type"`
	Dropout                 *float64         `json:"dropout"`
	UnkToken                *string          `json:"unk_token"`
	ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string          `json:"end_of_word_suffix"`
	FuseUnk                 bool             `json:"fuse_unk"`
	ByteFallback            bool             `json:"byte_fallback"`
	IgnoreMerges            bool             `json:"ignore_merges"`
	Vocab                   map[string]int32 `json:"vocab"`
	Merges                  json.RawMessage  `json:"merges"`
}

type typed struct {
	Type string `json:"type"`
}

// Parse reads a tokenizer.json from r; name (the file) is used in errors.
func Parse(r io.Reader, name string) (*Tokenizer, error) {
	var f fileJSON
	dec := json.NewDecoder(r)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", name, err)
	}
	bad := func(field, format string, a ...any) error {
		return fmt.Errorf("tokenizer %s: field %s: %s", name, field, fmt.Sprintf(format, a...))
	}
	if f.Model == nil {
		return nil, bad("model", "missing")
	}
	m := f.Model
	if m.Type != "" && m.Type != "BPE" {
		return nil, bad("model.type", "%q is not supported (only BPE)", m.Type)
	}
	if m.Vocab == nil {
		return nil, bad("model.vocab", "missing")
	}
	if m.Dropout != nil && *m.Dropout != 0 {
		return nil, bad("model.dropout", "%v is not supported", *m.Dropout)
	}
	if m.ByteFallback {
		return nil, bad("model.byte_fallback", "true is not supported")
	}
	if m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "" {
		return nil, bad("model.continuing_subword_prefix", "%q is not supported", *m.ContinuingSubwordPrefix)
	}
	if m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "" {
		return nil, bad("model.end_of_word_suffix", "%q is not supported", *m.EndOfWordSuffix)
	}
	merges, err := parseMerges(m.Merges)
	if err != nil {
		return nil, bad("model.merges", "%v", err)
	}
	cfg := buildConfig{
		name: name, vocab: m.Vocab, merges: merges, ignoreMerges: m.IgnoreMerges, fuseUnk: m.FuseUnk,
	}
	if m.UnkToken != nil {
		cfg.unkToken = *m.UnkToken
	}
	for i, a := range f.AddedTokens {
		if a.Content == "" {
			return nil, bad(fmt.Sprintf("added_tokens[%d].content", i), "empty")
		}
		cfg.added = append(cfg.added, AddedToken{ID: a.ID, Content: a.Content, Special: a.Special,
			Normalized: a.Normalized, LStrip: a.LStrip, RStrip: a.RStrip, SingleWord: a.SingleWord})
	}
	if cfg.nfc, err = parseNormalizer(f.Normalizer); err != nil {
		return nil, bad("normalizer", "%v", err)
	}
	if cfg.pre, err = parsePreTokenizer(f.PreTokenizer); err != nil {
		return nil, bad("pre_tokenizer", "%v", err)
	}
	if err := checkDecoder(f.Decoder); err != nil {
		return nil, bad("decoder", "%v", err)
	}
	cfg.rawNorm, cfg.rawPre, cfg.rawPost, cfg.rawDec = rawOrNull(f.Normalizer), rawOrNull(f.PreTokenizer),
		rawOrNull(f.PostProcessor), rawOrNull(f.Decoder)
	return build(cfg)
}

func rawOrNull(r json.RawMessage) string {
	if len(r) == 0 {
		return "null"
	}
	return string(r)
}

func parseMerges(raw json.RawMessage) ([][2]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var pairs [][2]string
	if err := json.Unmarshal(raw, &pairs); err == nil {
		return pairs, nil
	}
	var lines []string
	if err := json.Unmarshal(raw, &lines); err != nil {
		return nil, fmt.Errorf("neither [[a, b], ...] nor [\"a b\", ...]: %w", err)
	}
	pairs = make([][2]string, len(lines))
	for i, l := range lines {
		parts := strings.Split(l, " ")
		if len(parts) != 2 {
			return nil, fmt.Errorf("[%d] %q is not two tokens separated by a space", i, l)
		}
		pairs[i] = [2]string{parts[0], parts[1]}
	}
	return pairs, nil
}

func parseNormalizer(raw json.RawMessage) (bool, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return false, nil
	}
	var n struct {
		Type        string            `json:"type"`
		Normalizers []json.RawMessage `json:"normalizers"`
	}
	if err := json.Unmarshal(raw, &n); err != nil {
		return false, err
	}
	switch n.Type {
	case "NFC":
		return true, nil
	case "Sequence":
		nfc := false
		for _, sub := range n.Normalizers {
			v, err := parseNormalizer(sub)
			if err != nil {
				return false, err
			}
			if v && nfc {
				continue
			}
			nfc = nfc || v
		}
		return nfc, nil
	}
	return false, fmt.Errorf("type %q is not supported (only NFC or none)", n.Type)
}

func parsePreTokenizer(raw json.RawMessage) ([]preStep, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, fmt.Errorf("missing: a byte-level BPE needs the ByteLevel pre-tokenizer")
	}
	var steps []preStep
	var walk func(raw json.RawMessage) error
	walk = func(raw json.RawMessage) error {
		var p struct {
			Type           string            `json:"type"`
			PreTokenizers  []json.RawMessage `json:"pretokenizers"`
			Pattern        map[string]string `json:"pattern"`
			Behavior       string            `json:"behavior"`
			Invert         bool              `json:"invert"`
			AddPrefixSpace bool              `json:"add_prefix_space"`
			UseRegex       *bool             `json:"use_regex"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return err
		}
		switch p.Type {
		case "Sequence":
			for _, sub := range p.PreTokenizers {
				if err := walk(sub); err != nil {
					return err
				}
			}
		case "Split":
			re, ok := p.Pattern["Regex"]
			if !ok {
				return fmt.Errorf("Split pattern %v is not supported (only Regex)", p.Pattern)
			}
			kind, ok := patternKind(re)
			if !ok {
				return fmt.Errorf("Split regex %q is not supported (Qwen2, Llama-3 and GPT-2 patterns are)", re)
			}
			if p.Behavior != "Isolated" || p.Invert {
				return fmt.Errorf("Split behavior %q invert %v is not supported (only Isolated, false)", p.Behavior, p.Invert)
			}
			steps = append(steps, preStep{split: kind})
		case "ByteLevel":
			useRegex := p.UseRegex == nil || *p.UseRegex
			s := preStep{byteLevel: true, addPrefixSpace: p.AddPrefixSpace}
			if useRegex {
				s.split = splitGPT2
			}
			steps = append(steps, s)
		default:
			return fmt.Errorf("type %q is not supported", p.Type)
		}
		return nil
	}
	if err := walk(raw); err != nil {
		return nil, err
	}
	if len(steps) == 0 || !steps[len(steps)-1].byteLevel {
		return nil, fmt.Errorf("must end with ByteLevel")
	}
	for _, s := range steps[:len(steps)-1] {
		if s.byteLevel {
			return nil, fmt.Errorf("ByteLevel must come last")
		}
	}
	// A ByteLevel step that neither splits nor adds a space is a no-op here
	// (the byte mapping is part of the model step).
	if last := steps[len(steps)-1]; last.split == 0 && !last.addPrefixSpace {
		steps = steps[:len(steps)-1]
	}
	return steps, nil
}

func checkDecoder(raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return fmt.Errorf("missing: a byte-level BPE needs the ByteLevel decoder")
	}
	var d struct {
		Type     string            `json:"type"`
		Decoders []json.RawMessage `json:"decoders"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return err
	}
	switch d.Type {
	case "ByteLevel":
		return nil
	case "Sequence":
		if len(d.Decoders) == 1 {
			return checkDecoder(d.Decoders[0])
		}
	}
	return fmt.Errorf("type %q is not supported (only ByteLevel)", d.Type)
}

type buildConfig struct {
	name         string
	vocab        map[string]int32
	merges       [][2]string
	added        []AddedToken
	ignoreMerges bool
	unkToken     string
	fuseUnk      bool
	nfc          bool
	pre          []preStep

	rawNorm, rawPre, rawPost, rawDec string
}

// build makes a Tokenizer. Added tokens are numbered as Hugging Face does
// when it loads a file: a content already in the vocabulary takes that id,
// others take the next id from the vocabulary size on, in list order; a
// file whose ids differ is logged.
func build(c buildConfig) (*Tokenizer, error) {
	bad := func(field, format string, a ...any) error {
		return fmt.Errorf("tokenizer %s: field %s: %s", c.name, field, fmt.Sprintf(format, a...))
	}
	t := &Tokenizer{
		name: c.name, vocab: c.vocab, ignoreMerges: c.ignoreMerges, fuseUnk: c.fuseUnk, unkID: -1,
		nfc: c.nfc, pre: c.pre, bl: newByteLevel(),
		rawNorm: c.rawNorm, rawPre: c.rawPre, rawPost: c.rawPost, rawDec: c.rawDec,
		special: map[int32]bool{}, cache: map[string][]int32{}, cacheLimit: 1 << 16,
		rawVocab: map[string]int32{}, mergeList: c.merges, unkToken: c.unkToken,
	}
	maxID := int32(-1)
	for tok, id := range c.vocab {
		if id < 0 {
			return nil, bad("model.vocab", "token %q has negative id %d", tok, id)
		}
		maxID = max(maxID, id)
	}
	// Added token ids as Hugging Face assigns them.
	nextID := int32(len(c.vocab))
	addedIDs := map[string]int32{}
	for i := range c.added {
		a := &c.added[i]
		id, ok := addedIDs[a.Content]
		if !ok {
			id, ok = c.vocab[a.Content]
		}
		if !ok {
			id = nextID
			nextID++
		}
		if id != a.ID {
			slog.Warn("tokenizer: added token id differs from the file; using Hugging Face's numbering",
				"file", c.name, "token", a.Content, "file_id", a.ID, "id", id)
			a.ID = id
		}
		addedIDs[a.Content] = id
		maxID = max(maxID, id)
	}
	n := int(maxID) + 1
	t.tokens = make([]string, n)
	t.valid = make([]bool, n)
	t.tokBytes = make([][]byte, n)
	for tok, id := range c.vocab {
		if t.valid[id] {
			return nil, bad("model.vocab", "id %d is given to both %q and %q", id, t.tokens[id], tok)
		}
		t.tokens[id], t.valid[id] = tok, true
		raw, inTable := t.bl.decode(tok)
		t.tokBytes[id] = raw
		if inTable {
			if old, dup := t.rawVocab[string(raw)]; !dup || id < old {
				t.rawVocab[string(raw)] = id
			}
		}
	}
	for i := range t.byteID {
		t.byteID[i] = -1
		if id, ok := c.vocab[string(t.bl.toChar[i])]; ok {
			t.byteID[i] = id
		}
	}
	// Hugging Face decodes a normalized added token by its normalized content
	// (TokenString gives that too), and skip_special_tokens drops a token
	// when its string is the content of a special added token.
	var rawAdded, normAdded []AddedToken
	specialContent := map[string]bool{}
	for _, a := range c.added {
		t.added = append(t.added, a)
		if a.Special {
			specialContent[a.Content] = true
		}
		if a.Normalized {
			if t.nfc {
				a.Content = nfc(a.Content)
			}
			normAdded = append(normAdded, a)
		} else {
			rawAdded = append(rawAdded, a)
		}
		if !t.valid[a.ID] || t.tokens[a.ID] != a.Content {
			t.tokens[a.ID], t.valid[a.ID] = a.Content, true
			raw, _ := t.bl.decode(a.Content)
			t.tokBytes[a.ID] = raw
		}
	}
	for content := range specialContent {
		if id, ok := c.vocab[content]; ok && t.tokens[id] == content {
			t.special[id] = true
		}
	}
	for _, a := range t.added {
		if specialContent[t.tokens[a.ID]] {
			t.special[a.ID] = true
		}
	}
	t.rawMatch, t.normMatch = newAddedMatcher(rawAdded), newAddedMatcher(normAdded)
	if c.unkToken != "" {
		id, ok := c.vocab[c.unkToken]
		if !ok {
			return nil, bad("model.unk_token", "%q is not in model.vocab", c.unkToken)
		}
		t.unkID = id
	}
	t.merges = make(map[uint64]uint64, len(c.merges))
	var buf bytes.Buffer
	for rank, p := range c.merges {
		a, okA := c.vocab[p[0]]
		b, okB := c.vocab[p[1]]
		if !okA || !okB {
			return nil, bad(fmt.Sprintf("model.merges[%d]", rank), "token of %q %q is not in model.vocab", p[0], p[1])
		}
		buf.Reset()
		buf.WriteString(p[0])
		buf.WriteString(p[1])
		m, ok := c.vocab[buf.String()]
		if !ok {
			return nil, bad(fmt.Sprintf("model.merges[%d]", rank), "merged token %q is not in model.vocab", buf.String())
		}
		t.merges[pairKey(a, b)] = uint64(rank)<<32 | uint64(uint32(m))
	}
	return t, nil
}
