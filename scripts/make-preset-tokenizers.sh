#!/usr/bin/env bash
# Regenerates the preset tokenizers from the shipped sample corpus:
# models/presets/tokenizers/{tiny,small}.json.gz (2,048 and 32,768 ids).
# Byte-level BPE (Qwen2 pre-tokenizer, NFC), added tokens <|endoftext|>
# (id 0, special, the end-of-text) and <|pad|> (id 1, special), then
# [mask], \mask{ and \boxed{ (ids 2-4, not special: they survive
# skip_special_tokens decoding). Training is deterministic: rerunning gives
# byte-identical files.
set -euo pipefail
cd "$(dirname "$0")/.."
out=models/presets/tokenizers
mkdir -p "$out"
for spec in tiny:2048 small:32768; do
  name=${spec%%:*} vocab=${spec##*:}
  go run ./cmd/pz tokenizer train --in data/sample/train.jsonl --vocab "$vocab" \
    --special '<|endoftext|>' --special '<|pad|>' \
    --added '[mask]' --added '\mask{' --added '\boxed{' \
    --out "$out/$name.json.gz"
done
sha256sum "$out"/*.json.gz
