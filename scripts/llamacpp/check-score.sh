#!/usr/bin/env bash
# check-score.sh: run `pz score` (the CLI's batched scoring path) on the
# sequences of models/qwen3/testdata/llamacpp-PRESET.json and print its
# largest difference from llama.cpp's log-probs there.
#
#   bash scripts/llamacpp/check-score.sh [tiny] [small]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [ $# -eq 0 ]; then set -- tiny small; fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$root"
go build -o "$work/pz" ./cmd/pz
for p in "$@"; do
  golden="models/qwen3/testdata/llamacpp-$p.json"
  seed=$(node -e "console.log(require('./$golden').seed)")
  std=$(node -e "console.log(require('./$golden').std)")
  gain=$(node -e "console.log(require('./$golden').norm_gain)")
  go run ./scripts/llamacpp/mkmodel -preset "$p" -seed "$seed" -std "$std" -norm-gain "$gain" -lengths 2 -out "$work/$p"
  node -e "for (const s of require('./$golden').sequences) console.log(JSON.stringify({ids: s.ids}))" > "$work/$p.in.jsonl"
  "$work/pz" --log-level warn score --model "$work/$p" --in "$work/$p.in.jsonl" --out "$work/$p.out.jsonl"
  node -e '
    const fs = require("fs");
    const gold = require(process.argv[1]).sequences;
    const got = fs.readFileSync(process.argv[2], "utf8").trim().split("\n").map((l) => JSON.parse(l).logprobs);
    let worst = 0, n = 0, ss = 0;
    gold.forEach((s, i) => s.logprobs.forEach((w, j) => { const d = Math.abs(got[i][j] - w); worst = Math.max(worst, d); ss += d * d; n++; }));
    console.log(`${process.argv[3]}: pz score vs llama.cpp over ${n} log-probs: max |diff| ${worst.toExponential(2)}, rms ${Math.sqrt(ss / n).toExponential(2)}`);
  ' "$root/$golden" "$work/$p.out.jsonl" "$p"
done
