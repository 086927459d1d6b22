// check-tokenizer.mjs: does llama.cpp tokenize like Hugging Face with the
// vocabulary `pz export --gguf` writes? (A one-off check of the exported
// tokenizer metadata; the log-prob golden does not depend on it.)
//
//   node check-tokenizer.mjs MODEL.gguf GOLDEN.jsonl
//
// GOLDEN.jsonl lines are {"text", "special": [...], "plain": [...]} with
// Hugging Face's ids (models/tokenizer/testdata/qwen3-golden.jsonl): "special"
// matches added tokens, "plain" does not. Prints the mismatches and a count.
import fs from "node:fs";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const [ggufPath, goldenPath] = process.argv.slice(2);
if (!goldenPath) {
  console.error("usage: node check-tokenizer.mjs MODEL.gguf GOLDEN.jsonl");
  process.exit(2);
}
const llama = await getLlama({
  gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true,
  progressLogs: false, logLevel: LlamaLogLevel.error,
});
const model = await llama.loadModel({ modelPath: ggufPath, gpuLayers: 0, vocabOnly: true });
const lines = fs.readFileSync(goldenPath, "utf8").split("\n").filter((l) => l.trim() !== "");
let ok = 0, bad = 0;
const badLines = new Set();
for (const [i, line] of lines.entries()) {
  const g = JSON.parse(line);
  for (const [key, special] of [["special", true], ["plain", false]]) {
    if (!g[key]) continue;
    const got = Array.from(model.tokenize(g.text, special));
    if (JSON.stringify(got) === JSON.stringify(g[key])) {
      ok++;
    } else {
      bad++;
      badLines.add(i + 1);
      if (bad <= (process.env.SHOW ?? 20)) console.log(`line ${i + 1} ${key}: ${JSON.stringify(g.text).slice(0, 80)}\n  llama.cpp ${JSON.stringify(got).slice(0, 200)}\n  HF        ${JSON.stringify(g[key]).slice(0, 200)}`);
    }
  }
}
if (bad > 0) console.log(`failing lines: ${[...badLines].join(",")}`);
console.log(`${ok} passed, ${bad} failed`);
await model.dispose();
process.exit(bad === 0 ? 0 : 1);
