// Writes golden token ids made by Hugging Face's tokenizers (the Rust library
// through its official npm binding, tokenizers@0.23.2) for pz/models/tokenizer.
//
//   cd scripts/tokenizer-golden && npm install
//   node make-golden.mjs TOKENIZER_JSON STRINGS_JSONL OUT_JSONL [DECODE_ID_LIMIT]
//
// For every {"text"} line of STRINGS_JSONL it writes one line:
//   {"text", "special": ids with every added token matched (HF's default),
//    "plain": ids with no added token recognised (the tokenizer.json with its
//             added_tokens list emptied: nothing is split out, all text is
//             normalized, pre-tokenized and BPE-encoded),
//    "decode": decode(special, skip_special_tokens=false),
//    "decode_skip": decode(special, true), "decode_plain": decode(plain, false)}
// then decode-only lines {"ids", "decode", "decode_skip"} for seeded random id
// sequences in [0, DECODE_ID_LIMIT) (default: vocab size + 300, so some ids
// have no token and Hugging Face drops them) and byte-splitting sequences.
// No BOS/EOS: encode is called with addSpecialTokens false.
import fs from 'node:fs';
import { Tokenizer } from 'tokenizers';

const [tokPath, stringsPath, outPath, limitArg] = process.argv.slice(2);
if (!outPath) {
  console.error('usage: node make-golden.mjs TOKENIZER_JSON STRINGS_JSONL OUT_JSONL [DECODE_ID_LIMIT]');
  process.exit(2);
}
const json = fs.readFileSync(tokPath, 'utf8');
const special = Tokenizer.fromString(json);
const bare = JSON.parse(json);
bare.added_tokens = [];
const plain = Tokenizer.fromString(JSON.stringify(bare));

const opts = { addSpecialTokens: false };
const lines = fs.readFileSync(stringsPath, 'utf8').split('\n').filter((l) => l.trim() !== '');
const out = [];
for (const line of lines) {
  const { text } = JSON.parse(line);
  const s = (await special.encode(text, null, opts)).getIds();
  const p = (await plain.encode(text, null, opts)).getIds();
  out.push(JSON.stringify({
    text, special: s, plain: p,
    decode: await special.decode(s, false),
    decode_skip: await special.decode(s, true),
    decode_plain: await plain.decode(p, false),
  }));
}

const vocab = special.getVocabSize(true);
const limit = limitArg ? Number(limitArg) : vocab + 300;
let seed = 20261128;
const rand = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
const seqs = [];
for (let i = 0; i < 150; i++) {
  const len = 1 + rand(12);
  const ids = [];
  for (let j = 0; j < len; j++) ids.push(rand(limit));
  seqs.push(ids);
}
// Byte tokens that cut characters: each byte of a few UTF-8 strings as its own token.
const byteTok = (b) => special.tokenToId(byteChar(b));
function byteChar(b) {
  const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  if (printable) return String.fromCodePoint(b);
  let n = 0;
  for (let x = 0; x < b; x++) {
    const p = (x >= 0x21 && x <= 0x7e) || (x >= 0xa1 && x <= 0xac) || (x >= 0xae && x <= 0xff);
    if (!p) n++;
  }
  return String.fromCodePoint(256 + n);
}
for (const bytes of [[0xf0, 0x9f, 0x98], [0xf0, 0x9f, 0x98, 0x41], [0xed, 0xa0, 0x80], [0xe4, 0xbd], [0xe4, 0xbd, 0xa0, 0xe5],
  [0xc0, 0xaf], [0xff, 0xfe, 0x41], [0xe0, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0x80, 0x41, 0xbf], [0xe2, 0x82, 0xac], [0xc3], [0xe2, 0x28, 0xa1], [0xf0, 0x28, 0x8c, 0xbc], [0xf1, 0x80, 0x80]]) {
  seqs.push(bytes.map(byteTok));
}
for (const ids of seqs) {
  out.push(JSON.stringify({ ids, decode: await special.decode(ids, false), decode_skip: await special.decode(ids, true) }));
}
fs.writeFileSync(outPath, out.join('\n') + '\n');
console.error(`wrote ${out.length} lines to ${outPath} (vocab ${vocab}, decode id limit ${limit})`);
