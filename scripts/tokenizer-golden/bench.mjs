// Times Hugging Face's tokenizers (Rust, via npm tokenizers@0.23.2) encoding
// long English text, for comparison with pz's BenchmarkEncode.
//
//   node bench.mjs TOKENIZER_JSON TEXT_JSONL [SECONDS]
//
// The text is every "text" field of TEXT_JSONL joined with "\n\n" (as the Go
// benchmark builds it), encoded whole with addSpecialTokens false, repeatedly
// for SECONDS (default 5) after one warm-up encode, then paragraph by
// paragraph (one encode call each). Reports MB/s and tokens/s.
// The Rust library may use threads internally; run under `taskset -c 0` to
// pin it to one core.
import fs from 'node:fs';
import { Tokenizer } from 'tokenizers';

const [tokPath, textPath, secArg] = process.argv.slice(2);
const tok = Tokenizer.fromFile(tokPath);
const text = fs.readFileSync(textPath, 'utf8').split('\n').filter((l) => l.trim())
  .map((l) => JSON.parse(l).text).join('\n\n');
const bytes = Buffer.byteLength(text, 'utf8');
const opts = { addSpecialTokens: false };
const ntok = (await tok.encode(text, null, opts)).getLength();
const seconds = Number(secArg || 5);
let n = 0;
const t0 = process.hrtime.bigint();
let el = 0;
while (el < seconds) {
  await tok.encode(text, null, opts);
  n++;
  el = Number(process.hrtime.bigint() - t0) / 1e9;
}
console.log(`hf-tokenizers encode (whole text): ${bytes} bytes, ${ntok} tokens, ${n} runs, ` +
  `${(bytes * n / el / 1e6).toFixed(2)} MB/s, ${(ntok * n / el / 1e6).toFixed(3)} M tokens/s, ${(el / n * 1e3).toFixed(1)} ms/encode`);

// Paragraph by paragraph, one encode call each (awaited in turn).
const paras = text.split('\n\n');
let pn = 0, pel = 0;
const p0 = process.hrtime.bigint();
while (pel < seconds) {
  for (const p of paras) await tok.encode(p, null, opts);
  pn++;
  pel = Number(process.hrtime.bigint() - p0) / 1e9;
}
console.log(`hf-tokenizers encode (${paras.length} paragraphs, one call each): ` +
  `${(bytes * pn / pel / 1e6).toFixed(2)} MB/s, ${(ntok * pn / pel / 1e6).toFixed(3)} M tokens/s`);
