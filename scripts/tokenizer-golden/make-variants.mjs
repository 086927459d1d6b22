// Writes variants of a pz-trained tokenizer.json that exercise the other
// supported configurations, for golden tests:
//   OUT_DIR/trained-gpt2.json:   no normalizer, ByteLevel pre-tokenizer with
//                                use_regex true (GPT-2 regex) and add_prefix_space true
//   OUT_DIR/trained-llama3.json: Split with the Llama-3 regex (digit runs of
//                                up to three), ignore_merges true
//   OUT_DIR/trained-flags.json:  added-token flags: [mask] lstrip+rstrip,
//                                \mask{ single_word, \boxed{ normalized, and
//                                new normalized tokens "café" and "Å!" (given
//                                decomposed: matched after NFC)
//   node make-variants.mjs TRAINED_JSON LLAMA3_TRAINED_JSON OUT_DIR
// (LLAMA3_TRAINED_JSON: trained by pz with --pattern llama3, so that digit
// merges exist.)
import fs from 'node:fs';
import path from 'node:path';

const [src, llamaSrc, outDir] = process.argv.slice(2);
const base = fs.readFileSync(src, 'utf8');
const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };

const gpt2 = JSON.parse(base);
gpt2.normalizer = null;
gpt2.pre_tokenizer = { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true };
fs.writeFileSync(path.join(outDir, 'trained-gpt2.json'), JSON.stringify(gpt2));

const llama = JSON.parse(fs.readFileSync(llamaSrc, 'utf8'));
llama.pre_tokenizer = {
  type: 'Sequence',
  pretokenizers: [
    {
      type: 'Split',
      pattern: { Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" },
      behavior: 'Isolated',
      invert: false,
    },
    byteLevel,
  ],
};
llama.model.ignore_merges = true;
fs.writeFileSync(path.join(outDir, 'trained-llama3.json'), JSON.stringify(llama));

const flags = JSON.parse(base);
for (const a of flags.added_tokens) {
  if (a.content === '[mask]') { a.lstrip = true; a.rstrip = true; }
  if (a.content === '\\mask{') a.single_word = true;
  if (a.content === '\\boxed{') a.normalized = true;
}
const next = Object.keys(flags.model.vocab).length;
flags.added_tokens.push({ id: next, content: 'caf\u00e9', single_word: false, lstrip: false, rstrip: false, normalized: true, special: false });
flags.added_tokens.push({ id: next + 1, content: 'A\u030a!', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true });
fs.writeFileSync(path.join(outDir, 'trained-flags.json'), JSON.stringify(flags));
