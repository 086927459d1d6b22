import { getLlama } from "node-llama-cpp";
const llama = await getLlama({ gpu: false, build: "never", logLevel: "warn" });
for (const f of process.argv.slice(2)) {
  const model = await llama.loadModel({ modelPath: f });
  console.log(f, "loaded: trainCtx", model.trainContextSize, "params", model.fileInsights?.totalParameters ?? "?");
  const ctx = await model.createContext({ contextSize: 64 });
  const seq = ctx.getSequence();
  const ids = [0, 1, 2, 3];
  const it = seq.evaluate(ids, { temperature: 0 });
  const out = [];
  for await (const t of it) { out.push(t); if (out.length >= 5) break; }
  console.log("greedy continuation", out);
  await ctx.dispose(); await model.dispose();
}
