#!/usr/bin/env bash
# make-golden.sh: regenerate models/qwen3/testdata/llamacpp-{tiny,small,tiny-moe,tiny-smollm3}.json,
# llama.cpp's next-token log-probs for pz's Qwen3 golden test
# (models/qwen3/llamacpp_test.go). Run from anywhere; needs Go, Node >= 20
# and the npm registry (node-llama-cpp 3.21.1 ships prebuilt CPU binaries;
# nothing is built or downloaded from elsewhere).
#
#   bash scripts/llamacpp/make-golden.sh            # both presets
#   bash scripts/llamacpp/make-golden.sh tiny
#
# For each preset: a model folder with qwen3.RandomWeights(seed 1, std 0.1)
# (norm weights rippled, see mkmodel) and the preset's tokenizer, exported by
# `pz export --gguf`, evaluated by make-golden.mjs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [ $# -eq 0 ]; then set -- tiny small tiny-moe tiny-smollm3; fi

cd "$here"
npm ci --ignore-scripts --omit=optional --no-audit --no-fund >/dev/null
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$root"
for p in "$@"; do
  extra=()
  case "$p" in
    tiny) lengths=16,48,64,200 ;;
    small) lengths=16,64,160 ;;
    # Routers 30x the other weights (std 3): each token's top-2 experts win
    # by a wide margin, so rounding cannot pick different ones.
    tiny-moe) lengths=16,48,64,200; extra=(-router-gain 30 -greedy 24) ;;
    tiny-smollm3) lengths=16,48,64,200; extra=(-greedy 24) ;;
    *) echo "unknown preset $p" >&2; exit 2 ;;
  esac
  go run ./scripts/llamacpp/mkmodel -preset "$p" -seed 1 -std 0.1 -norm-gain 0.2 -lengths "$lengths" "${extra[@]}" -out "$work/$p"
  go run ./cmd/pz export --model "$work/$p" --gguf "$work/$p.gguf"
  node "$here/make-golden.mjs" "$work/$p.gguf" "$work/$p/golden-meta.json" "$root/models/qwen3/testdata/llamacpp-$p.json"
done
