#!/usr/bin/env bash
# The longer experiment (`make experiment`, not in CI; about 30 minutes on 2
# cores): one stronger base model, then 3 seeds x 4 arms on the same budget
#   base (no further training) | continued next-token pretraining |
#   random-span GRPO (Random RLPT) | PretrainZero GRPO (with the collapse guards)
# evaluated on identical held-out questions (single words, multi-word spans,
# content words; greedy, exact match), pooled over seeds with 95% Wilson
# intervals, written to $RUN/table.md. The goal is the paper's ordering
# (PretrainZero > random-span > continued pretraining) on content words; the
# table reports whatever comes out.
#
# BASE_FROM=DIR reuses the tokenizer, data and base model of an earlier run
# folder (skipping its ~15 minutes) to rerun only the arms.
set -euo pipefail
cd "$(dirname "$0")/.."
PZ=${PZ:-./bin/pz}
RUN=${RUN:-runs/experiment}
THREADS=${THREADS:-2}
BASE_BUDGET=${BASE_BUDGET:-1200s}
BASE_STEPS=${BASE_STEPS:-900}       # the cosine schedule's length; the budget caps the time
ARM_STEPS=${ARM_STEPS:-200}
CPT_BUDGET=${CPT_BUDGET:-150s}      # continued pretraining gets about one PretrainZero arm's wall time
SEEDS=${SEEDS:-"1 2 3"}
EVAL_N=${EVAL_N:-200}
DATA=${DATA:-data/sample}
BASE_FROM=${BASE_FROM:-}
start=$(date +%s)
say() { printf '\n== [%5ds] %s\n' "$(( $(date +%s) - start ))" "$*"; }
# A rerun starts afresh (pz train refuses a non-empty --out without --resume or --overwrite).
if [ -e "$RUN/.pz-experiment" ]; then echo "removing the previous experiment run in $RUN"; rm -rf "$RUN"; fi
mkdir -p "$RUN" && touch "$RUN/.pz-experiment"

if [ -n "$BASE_FROM" ]; then
  say "reusing tokenizer, data and base model of $BASE_FROM"
  cp -r "$BASE_FROM/tokenizer.json" "$BASE_FROM/data" "$BASE_FROM/base" "$RUN/"
  DATA="$RUN/data"
else
  say "tokenizer (4,096 BPE tokens) and a 6-layer x 192 model"
  $PZ tokenizer train --in "$DATA/train.jsonl" --vocab 4096 --out "$RUN/tokenizer.json"
  $PZ init-model --preset tiny --tokenizer "$RUN/tokenizer.json" --layers 6 --hidden 192 --ffn 512 \
    --heads 6 --kv-heads 2 --head-dim 32 --seed 1 --out "$RUN/init"

  say "data: passages of 48-160 tokens (prompt + answer fit the 256-token window), 10% of articles held out"
  $PZ data prepare --in "$DATA/*.jsonl" --out "$RUN/data" --tokenizer "$RUN/tokenizer.json" \
    --min-tokens 48 --max-tokens 160 --heldout 0.1 --heldout-by title
  DATA="$RUN/data"

  say "base: next-token pretraining, $BASE_STEPS steps (at most $BASE_BUDGET)"
  $PZ pretrain --model "$RUN/init" --data "$DATA" --out "$RUN/base" --threads "$THREADS" --steps "$BASE_STEPS" \
    --budget "$BASE_BUDGET" --batch 16 --seq-len 256 --plain 0.5 --cloze 0.3 --proposal 0.2 \
    --lr 3e-3 --schedule cosine --warmup-steps 20 \
    --min-lr-ratio 0.1 --weight-decay 0.1 --beta2 0.95
fi

rl() { # out mode seed extra...
  local out=$1 mode=$2 seed=$3; shift 3
  $PZ train --model "$RUN/base" --data "$DATA" --out "$out" --mode "$mode" --seed "$seed" --threads "$THREADS" \
    --steps "$ARM_STEPS" --paragraphs 8 --gen-samples 8 --pred-samples 8 --gen-max-tokens 16 --pred-max-tokens 12 \
    --short-templates --temperature 0.7 --lr 1e-4 --weight-decay 0 --checkpoint-every 0 --write-trajectories=false "$@"
}
models=(--model "$RUN/base") ; names=(--name base)
for s in $SEEDS; do
  say "seed $s: continued pretraining ($CPT_BUDGET)"
  $PZ pretrain --model "$RUN/base" --data "$DATA" --out "$RUN/cpt-$s" --seed "$((s + 100))" --threads "$THREADS" \
    --steps 100000 --budget "$CPT_BUDGET" --batch 16 --seq-len 256 --plain 0.5 --cloze 0.3 --proposal 0.2 \
    --lr 3e-4 --weight-decay 0.1 --beta2 0.95
  say "seed $s: random-span GRPO ($ARM_STEPS steps)"
  rl "$RUN/random-span-$s" random-span "$s"
  # The guards of the demo: without the content-word one, a first run
  # (40 steps) collapsed onto "the" (stop-word share 1, own accuracy 0.97).
  say "seed $s: PretrainZero GRPO ($ARM_STEPS steps, collapse guards on)"
  rl "$RUN/pretrainzero-$s" pretrainzero "$s" --require-content-word --max-span-words 4 --dedup-proposals \
    --span-batch-cap 4 --repeat-penalty 0.05
  models+=(--model "$RUN/cpt-$s" --model "$RUN/random-span-$s" --model "$RUN/pretrainzero-$s")
  names+=(--name "cpt-$s" --name "random-span-$s" --name "pretrainzero-$s")
done

say "held-out evaluation ($EVAL_N questions per kind, identical for every model)"
$PZ eval "${models[@]}" "${names[@]}" --data "$DATA" --n "$EVAL_N" --seed 7 --short-templates --max-tokens 12 \
  --threads "$THREADS" --json "$RUN/comparison.json" | tee "$RUN/eval.txt"
$PZ eval-table --in "$RUN/comparison.json" --pool 'base=base' --pool 'continued-pt=cpt-*' \
  --pool 'random-span=random-span-*' --pool 'pretrainzero=pretrainzero-*' | tee "$RUN/table.md"
say "done in $(( $(date +%s) - start ))s; table: $RUN/table.md"
