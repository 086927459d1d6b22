// bench.mjs: llama.cpp's CPU speed now, on pz's benchmark shapes, so pz's
// ratios can be read against a same-moment anchor (this VM's speed drifts
// about 2x over a day; design/PERF-ANCHORS.md has the fixed anchors).
//
//   node bench.mjs MODEL.gguf [--threads 1,2] [--batches 1,8,32] [--prefill 256] [--new 128]
//
// Prints one JSON object per line per measurement on stdout:
//   {"what":"prefill"|"decode","threads":N,"batch":B,"tokens":T,"seconds":S,"tok_s":X}
// and the versions and settings on stderr. bench.sh builds the model and
// formats a table.
//
// Shapes follow orchestrator/engine/ort/bench_test.go: prompt ids
// (i*7919 + salt*104729 + 17) % vocab with salt 0; prefill is one prompt of
// --prefill tokens and one sampled token; decode is the same 8-token prompt
// in each of B sequences of one context, --new greedy tokens each, timed from
// the prompt's evaluation to the last token (as pz's Generate is), tok/s =
// B*new/seconds. The B sequences' generators are driven concurrently so that
// node-llama-cpp's "nextCycle" dispatch puts one token of every sequence in
// each llama_decode batch. End-of-generation tokens are yielded rather than
// ending a sequence early (pz's bench sets EOS to -1 for the same reason).
//
// Settings: CPU prebuilt binaries, F32 KV cache (experimentalKvCacheKeyType
// and experimentalKvCacheValueType "F32"; the default would be F16), no flash
// attention, temperature 0 (greedy), no token predictor. One warm-up run
// per measurement, then the median of 3 runs, or 1 run when a run takes
// longer than 20 s.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

function usage(msg) {
  if (msg) console.error(`bench.mjs: ${msg}`);
  console.error("usage: node bench.mjs MODEL.gguf [--threads 1,2] [--batches 1,8,32] [--prefill 256] [--new 128]");
  process.exit(2);
}

const opts = { threads: [1, 2], batches: [1, 8, 32], prefill: 256, new: 128, prompt: 8 };
let ggufPath;
{
  const args = process.argv.slice(2);
  const list = (s) => s.split(",").map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n) || n < 0) usage(`bad number ${x}`);
    return n;
  });
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("--")) {
      if (ggufPath) usage(`extra argument ${a}`);
      ggufPath = a;
      continue;
    }
    const v = args[++i];
    if (v == null) usage(`${a} needs a value`);
    switch (a) {
      case "--threads": opts.threads = list(v); break;
      case "--batches": opts.batches = list(v); break;
      case "--prefill": opts.prefill = list(v)[0]; break;
      case "--new": opts.new = list(v)[0]; break;
      default: usage(`unknown flag ${a}`);
    }
  }
  if (!ggufPath) usage();
  if (opts.threads.some((t) => t < 1)) usage("--threads must be >= 1");
  if (opts.new < 1) usage("--new must be >= 1");
}

const nlcDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "node_modules", "node-llama-cpp");
const readJSON = (p) => JSON.parse(fs.readFileSync(p, "utf8"));
const nlcVersion = readJSON(path.join(nlcDir, "package.json")).version;
const binMeta = readJSON(path.join(nlcDir, "..", "@node-llama-cpp", "linux-x64", "bins", "linux-x64", "_nlcBuildMetadata.json"));
const llamaInfo = binMeta.buildOptions.llamaCpp;

const llama = await getLlama({
  gpu: false,
  build: "never",
  usePrebuiltBinaries: true,
  skipDownload: true,
  progressLogs: false,
  logLevel: process.env.LLAMA_LOG === "debug" ? LlamaLogLevel.debug : LlamaLogLevel.warn,
  // The default cap is max(cores, 4); cap at what is asked so a context
  // never gets more threads than its label says.
  maxThreads: Math.max(...opts.threads),
});
const model = await llama.loadModel({ modelPath: ggufPath, gpuLayers: 0 });
// Prompt ids must be valid rows of the embedding (the tokenizer may list
// fewer tokens than the padded vocabulary).
const nVocab = Math.min(
  Number(model.fileInfo.tensorInfo.find((t) => t.name === "token_embd.weight").dimensions[1]),
  model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? Infinity,
);
console.error(`bench.mjs: node-llama-cpp ${nlcVersion}, llama.cpp ${llamaInfo.repo}@${llamaInfo.release}, ` +
  `${llama.buildType} cpu, vocab ${nVocab}, F32 KV cache, no flash attention, greedy`);

const prompt = (n, salt) => Array.from({ length: n }, (_, i) => (i * 7919 + salt * 104729 + 17) % nVocab);

// generate evaluates ids in seq and draws n tokens greedily; the generator
// returned by evaluate() queues the next single-token evaluation each time
// it is resumed, so breaking after the n-th token evaluates no more.
async function generate(seq, ids, n) {
  let got = 0;
  for await (const _ of seq.evaluate(ids, { temperature: 0, yieldEogToken: true })) {
    if (++got >= n) break;
  }
  if (got !== n) throw new Error(`got ${got} tokens, want ${n}`);
}

async function measure(what, threads, batch, promptLen, newTokens, tokens) {
  const context = await model.createContext({
    sequences: batch,
    contextSize: promptLen + newTokens + 8, // per sequence
    batchSize: Math.max(promptLen * batch, batch),
    threads: { ideal: threads, min: threads },
    flashAttention: false,
    experimentalKvCacheKeyType: "F32",
    experimentalKvCacheValueType: "F32",
  });
  try {
    const seqs = Array.from({ length: batch }, () => context.getSequence());
    const ids = prompt(promptLen, 0);
    const once = async () => {
      await Promise.all(seqs.map((s) => s.clearHistory()));
      const t0 = process.hrtime.bigint();
      await Promise.all(seqs.map((s) => generate(s, ids, newTokens)));
      return Number(process.hrtime.bigint() - t0) / 1e9;
    };
    await once(); // warm-up: first-touch of weights and KV cache, thread pool start
    const times = [await once()];
    if (times[0] <= 20) times.push(await once(), await once());
    times.sort((a, b) => a - b);
    const seconds = times[(times.length - 1) >> 1];
    const out = { what, threads, batch, tokens, seconds: +seconds.toFixed(4), tok_s: +(tokens / seconds).toFixed(1) };
    if (context.currentThreads !== threads) out.threads_used = context.currentThreads;
    console.log(JSON.stringify(out));
  } finally {
    await context.dispose();
  }
}

for (const threads of opts.threads) {
  if (opts.prefill > 0) await measure("prefill", threads, 1, opts.prefill, 1, opts.prefill);
  for (const batch of opts.batches) {
    await measure("decode", threads, batch, opts.prompt, opts.new, batch * opts.new);
  }
}
await model.dispose();
