#!/usr/bin/env bash
# Regenerates every tokenizer golden of models/tokenizer/testdata with
# Hugging Face's tokenizers (npm tokenizers@0.23.2, the Rust library's
# official binding). Needs node and npm (npm install runs here) and
# ../shared/models/qwen3-tokenizer and go; the pz-trained fixture is the tiny
# preset (scripts/make-preset-tokenizers.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
td=$root/models/tokenizer/testdata
qwen=${QWEN3_TOKENIZER:-$root/../shared/models/qwen3-tokenizer/tokenizer.json}
cd "$here"
[ -d node_modules/tokenizers ] || npm install --no-audit --no-fund
python3 make-strings.py > strings.jsonl
gzip -9 -n -c "$qwen" > "$td/qwen3-tokenizer.json.gz"
node make-golden.mjs "$qwen" strings.jsonl "$td/qwen3-golden.jsonl"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gzip -dc "$root/models/presets/tokenizers/tiny.json.gz" > "$tmp/trained.json"
gzip -9 -n -c "$tmp/trained.json" > "$td/trained-2048.json.gz"
node make-golden.mjs "$tmp/trained.json" strings.jsonl "$td/trained-2048-golden.jsonl"
(cd "$root" && go run ./cmd/pz tokenizer train --in data/sample/train.jsonl --vocab 2048 --pattern llama3 \
  --special '<|endoftext|>' --added '[mask]' --out "$tmp/llama3.json")
node make-variants.mjs "$tmp/trained.json" "$tmp/llama3.json" "$tmp"
for v in gpt2 llama3 flags; do
  gzip -9 -n -c "$tmp/trained-$v.json" > "$td/trained-$v.json.gz"
  node make-golden.mjs "$tmp/trained-$v.json" strings.jsonl "$td/trained-$v-golden.jsonl"
done
