import { gguf } from "@huggingface/gguf";
for (const f of process.argv.slice(2)) {
  const { metadata, tensorInfos, tensorDataOffset } = await gguf(f, { allowLocalFile: true, computeParametersCount: true });
  const m = { ...metadata };
  for (const k of ["tokenizer.ggml.tokens", "tokenizer.ggml.token_type"]) if (m[k]) m[k] = `[${m[k].length}] ` + JSON.stringify(m[k].slice(0, 5));
  console.log(f, JSON.stringify(m, (k, v) => typeof v === "bigint" ? v.toString() + "n" : v, 1));
  console.log("dataOffset", tensorDataOffset.toString(), "tensors", tensorInfos.length);
  for (const t of tensorInfos.slice(0, 6)) console.log(t.name, t.shape.map(String), t.dtype, t.offset.toString());
}
