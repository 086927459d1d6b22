package tokenizer

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"pz/internal/atomicfile"
)

// jsonString encodes s as a JSON string without HTML escaping.
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// Marshal returns the tokenizer as Hugging Face tokenizer.json: vocab in id
// order, merges as pairs, added tokens with their flags.
func (t *Tokenizer) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [")
	for i, a := range t.added {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "\n    {\"id\": %d, \"content\": %s, \"single_word\": %t, \"lstrip\": %t, \"rstrip\": %t, \"normalized\": %t, \"special\": %t}",
			a.ID, jsonString(a.Content), a.SingleWord, a.LStrip, a.RStrip, a.Normalized, a.Special)
	}
	if len(t.added) > 0 {
		b.WriteString("\n  ")
	}
	b.WriteString("],\n")
	fmt.Fprintf(&b, "  \"normalizer\": %s,\n  \"pre_tokenizer\": %s,\n  \"post_processor\": %s,\n  \"decoder\": %s,\n",
		t.rawNorm, t.rawPre, t.rawPost, t.rawDec)
	unk := "null"
	if t.unkToken != "" {
		unk = jsonString(t.unkToken)
	}
	fmt.Fprintf(&b, "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": %s,\n"+
		"    \"continuing_subword_prefix\": \"\",\n    \"end_of_word_suffix\": \"\",\n    \"fuse_unk\": %t,\n"+
		"    \"byte_fallback\": false,\n    \"ignore_merges\": %t,\n    \"vocab\": {", unk, t.fuseUnk, t.ignoreMerges)
	first := true
	inVocab := make([]string, len(t.tokens))
	for s, id := range t.vocab {
		inVocab[id] = s
	}
	for id, s := range inVocab {
		if _, ok := t.vocab[s]; !ok || t.vocab[s] != int32(id) {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString("\n      ")
		b.WriteString(jsonString(s))
		b.WriteString(": ")
		b.WriteString(strconv.Itoa(id))
	}
	b.WriteString("\n    },\n    \"merges\": [")
	for i, m := range t.mergeList {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n      [")
		b.WriteString(jsonString(m[0]))
		b.WriteString(", ")
		b.WriteString(jsonString(m[1]))
		b.WriteByte(']')
	}
	b.WriteString("\n    ]\n  }\n}\n")
	return b.Bytes()
}

// Save writes the tokenizer.json to path atomically (a temporary file in the
// same folder, then a rename); a path ending in .gz is gzip-compressed.
func (t *Tokenizer) Save(path string) error {
	data := t.Marshal()
	if strings.HasSuffix(path, ".gz") {
		var zb bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&zb, gzip.BestCompression)
		zw.Write(data)
		if err := zw.Close(); err != nil {
			return fmt.Errorf("save tokenizer %s: %w", path, err)
		}
		data = zb.Bytes()
	}
	if err := atomicfile.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("save tokenizer %w", err)
	}
	return nil
}
