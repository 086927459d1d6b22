// make-golden.mjs: llama.cpp's next-token log-probs for pz's Qwen3 golden
// test (models/qwen3/llamacpp_test.go).
//
//   node make-golden.mjs MODEL.gguf golden-meta.json OUT.json
//
// golden-meta.json is written by `go run ./scripts/llamacpp/mkmodel`; OUT.json
// is it plus, per sequence, "logprobs": log p(ids[t] | ids[<t]) for t ≥ 1, and
// the versions used. Each sequence is evaluated from an empty context on the
// CPU with 1 thread, an F32 KV cache and no flash attention. node-llama-cpp
// exposes no raw logits, only the full next-token distribution after the
// sampler chain; with temperature 0 that chain is greedy, which leaves the
// logits untouched, and the addon softmaxes them in float32 (exp(l - max) /
// Σ). Renormalising those probabilities in float64 (log p_i - log Σ_j p_j)
// removes the float32 sum's rounding, leaving only the per-token expf and
// division rounding (~1e-7 relative).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const [ggufPath, metaPath, outPath] = process.argv.slice(2);
if (!outPath) {
  console.error("usage: node make-golden.mjs MODEL.gguf golden-meta.json OUT.json");
  process.exit(2);
}
const nlcDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "node_modules", "node-llama-cpp");
const readJSON = (p) => JSON.parse(fs.readFileSync(p, "utf8"));
const nlcVersion = readJSON(path.join(nlcDir, "package.json")).version;
// The llama.cpp release the prebuilt CPU binaries were built from.
const binMeta = readJSON(path.join(nlcDir, "..", "@node-llama-cpp", "linux-x64", "bins", "linux-x64", "_nlcBuildMetadata.json"));
const llamaInfo = binMeta.buildOptions.llamaCpp;
const meta = readJSON(metaPath);

const llama = await getLlama({
  gpu: false,
  build: "never",
  usePrebuiltBinaries: true,
  skipDownload: true,
  progressLogs: false,
  logLevel: process.env.LLAMA_LOG === "debug" ? LlamaLogLevel.debug : LlamaLogLevel.warn,
  maxThreads: 1,
});
const model = await llama.loadModel({ modelPath: ggufPath, gpuLayers: 0 });
const vocab = meta.config.vocab_size;
const maxLen = Math.max(...meta.sequences.map((s) => s.ids.length));

let worstMass = 0; // largest |Σ p - 1| of the float32 distributions, for the log
// One sequence per fresh context: CPU, 1 thread, F32 KV cache, no flash attention.
const newContext = () =>
  model.createContext({
    contextSize: Math.max(256, maxLen),
    batchSize: Math.max(256, maxLen),
    sequences: 1,
    threads: 1,
    flashAttention: false,
    experimentalKvCacheKeyType: "F32",
    experimentalKvCacheValueType: "F32",
  });
const sequences = [];
for (const seqIn of meta.sequences) {
  const ids = seqIn.ids;
  const context = await newContext();
  const seq = context.getSequence();
  const input = ids.slice(0, -1).map((tok) => [
    tok,
    { generateNext: { probabilities: true, options: { temperature: 0 } } },
  ]);
  const res = await seq.controlledEvaluate(input);
  const logprobs = [];
  for (let t = 0; t < input.length; t++) {
    const probs = res[t]?.next?.probabilities;
    if (probs == null || probs.size !== vocab) {
      throw new Error(`position ${t}: got ${probs?.size} probabilities, want ${vocab}`);
    }
    let sum = 0;
    for (const p of probs.values()) sum += p;
    worstMass = Math.max(worstMass, Math.abs(sum - 1));
    const p = probs.get(ids[t + 1]);
    if (!(p > 0)) throw new Error(`position ${t}: token ${ids[t + 1]} has probability ${p}`);
    logprobs.push(Math.log(p) - Math.log(sum));
  }
  sequences.push({ ids, logprobs });
  await context.dispose();
}

// Greedy continuation (when golden-meta.json asks): the first sequence's
// first prompt_len ids, then new_tokens steps each feeding back the most
// probable token (lowest id on a tie), from the same full distributions.
let greedy = meta.greedy;
if (greedy) {
  const context = await newContext();
  const seq = context.getSequence();
  const next = { generateNext: { probabilities: true, options: { temperature: 0 } } };
  let input = meta.sequences[0].ids.slice(0, greedy.prompt_len).map((tok, i) => (i === greedy.prompt_len - 1 ? [tok, next] : tok));
  const tokens = [];
  for (let s = 0; s < greedy.new_tokens; s++) {
    const res = await seq.controlledEvaluate(input);
    const probs = res[res.length - 1]?.next?.probabilities;
    if (probs == null) throw new Error(`greedy step ${s}: no probabilities`);
    let best = -1, bestP = -1;
    for (const [tok, p] of probs) {
      if (p > bestP || (p === bestP && tok < best)) [best, bestP] = [tok, p];
    }
    tokens.push(best);
    input = [[best, next]];
  }
  greedy = { ...greedy, tokens };
  await context.dispose();
}
await model.dispose();

const out = {
  ...meta,
  sequences,
  ...(greedy ? { greedy } : {}),
  generator: {
    script: "scripts/llamacpp/make-golden.sh",
    node_llama_cpp: nlcVersion,
    llama_cpp: `${llamaInfo.repo}@${llamaInfo.release}`,
    build: `${llama.buildType} ${llama.gpu === false ? "cpu" : llama.gpu}`,
    settings: "CPU, 1 thread, F32 GGUF, F32 KV cache, no flash attention, temperature 0, full-vocabulary probabilities renormalised in float64",
  },
};
fs.writeFileSync(outPath, JSON.stringify(out, null, 1) + "\n");
console.error(`wrote ${outPath}: ${sequences.length} sequences, float32 probability mass off by at most ${worstMass.toExponential(2)}`);
