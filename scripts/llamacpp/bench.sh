#!/usr/bin/env bash
# bench.sh: llama.cpp's CPU speed now, on the small preset with the random
# weights of pz's benchmarks, as a same-moment anchor for pz's ratios (the
# VM's speed drifts ~2x over a day; the fixed anchors are in
# design/PERF-ANCHORS.md). Run from anywhere; needs Go, Node >= 20 and
# scripts/llamacpp/node_modules (installed with npm ci if missing).
#
#   bash scripts/llamacpp/bench.sh                       # full: threads 1,2; prefill 256; decode 128 at batch 1,8,32 (~5 min)
#   bash scripts/llamacpp/bench.sh --threads 1 --batches 1 --new 16   # quick check
#
# Arguments go to bench.mjs (--threads, --batches, --prefill, --new). The
# model is qwen3.RandomWeights(seed 20261128, std 0.02) with all-ones norms,
# as in orchestrator/engine/ort/bench_test.go, exported by `pz export --gguf`.
# Set BENCH_JSON=FILE to keep bench.mjs's JSON lines.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [ ! -d "$here/node_modules/node-llama-cpp" ]; then
  (cd "$here" && npm ci --ignore-scripts --omit=optional --no-audit --no-fund >/dev/null)
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$root"
go build -o "$work/pz" ./cmd/pz
# -norm-gain 0 keeps RandomWeights' all-ones norms, so the weights are
# exactly those of pz's benchmarks; -lengths is required but unused here.
go run ./scripts/llamacpp/mkmodel -preset small -seed 20261128 -std 0.02 -norm-gain 0 -lengths 2 -out "$work/small" >/dev/null
"$work/pz" --log-level error export --model "$work/small" --gguf "$work/small.gguf"

json="${BENCH_JSON:-$work/bench.jsonl}"
node "$here/bench.mjs" "$work/small.gguf" "$@" >"$json"
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
console.log("what     threads  batch  tokens   seconds    tok/s");
for (const r of rows) {
  console.log(r.what.padEnd(8), String(r.threads).padStart(7), String(r.batch).padStart(6),
    String(r.tokens).padStart(7), r.seconds.toFixed(3).padStart(9), r.tok_s.toFixed(1).padStart(8),
    r.threads_used != null ? `(threads used: ${r.threads_used})` : "");
}' "$json"
