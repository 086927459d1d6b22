// Prints, as JSON {"L": [[lo, hi], ...], "N": [...]}, the code points that
// Hugging Face's tokenizers (Oniguruma inside, Unicode 16) treats as \p{L}
// and \p{N}, among those node's own regex (ICU) calls letters or numbers. The
// classes are probed through the Qwen3 pre-tokenizer itself:
// "a"+c is one piece iff c is a letter; "1"+c+c is three iff c is a number.
//   node hf-classes.mjs QWEN3_TOKENIZER_JSON > classes.json
// models/tokenizer/internal/gentables turns it into unicode16.go.
import { Tokenizer } from 'tokenizers';

const pt = Tokenizer.fromFile(process.argv[2]).getPreTokenizer();
const L = /^\p{L}$/u, N = /^\p{N}$/u;
const out = { L: [], N: [] };
const add = (k, c) => {
  const r = out[k];
  if (r.length && r[r.length - 1][1] === c - 1) r[r.length - 1][1] = c;
  else r.push([c, c]);
};
for (let c = 0x80; c <= 0x10ffff; c++) {
  if (c >= 0xd800 && c <= 0xdfff) continue;
  const s = String.fromCodePoint(c);
  if (!L.test(s) && !N.test(s)) continue;
  if (pt.preTokenizeString('a' + s).length === 1) add('L', c);
  else if (pt.preTokenizeString('1' + s + s).length === 3) add('N', c);
}
console.log(JSON.stringify(out));
