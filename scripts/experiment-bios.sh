#!/usr/bin/env bash
# The synthetic-biographies experiment (`make experiment-bios`, not in CI;
# at most ~60 minutes on 2 cores): a corpus whose ground truth is known
# (pz data synth --kind bios: people with six attributes, random serials,
# stock fillers, every span labelled), a base pretrained by next-token
# prediction on the train paragraphs, then SEEDS x 4 arms on equal budgets
#   continued next-token pretraining (the PretrainZero arm's wall time) |
#   random-span GRPO (Random RLPT) | entropy-based next-token RL (RPT) |
#   PretrainZero GRPO (the collapse guards of scripts/experiment.sh)
# evaluated on held-out questions (a known person's attribute, asked in a
# template no train paragraph uses), pooled over seeds with 95% Wilson
# intervals ($RUN/table.md), with the labelled-kind mix of each arm's valid
# masks over training and tokens/s per arm ($RUN/kinds.md), wall time per
# arm ($RUN/times.md) and curves (pz report: $RUN/report/report.html).
#
# SMOKE=1 is the minute-long version the tests run (a tiny world and model,
# a few steps, one seed): it checks that every stage runs, not any result.
# Every size below can be overridden from the environment. BASE_FROM=DIR
# reuses the world, tokenizer and base model of an earlier run folder (the
# same sizes) to rerun only the arms.
set -euo pipefail
cd "$(dirname "$0")/.."
PZ=${PZ:-./bin/pz}
THREADS=${THREADS:-2}
if [ "${SMOKE:-0}" = 1 ]; then
  RUN=${RUN:-runs/experiment-bios-smoke}
  PEOPLE=${PEOPLE:-12}; PARAGRAPHS=${PARAGRAPHS:-2}; VOCAB=${VOCAB:-400}
  LAYERS=${LAYERS:-1}; HIDDEN=${HIDDEN:-32}; FFN=${FFN:-64}; HEADS=${HEADS:-2}; KV_HEADS=${KV_HEADS:-1}; HEAD_DIM=${HEAD_DIM:-16}
  BASE_STEPS=${BASE_STEPS:-8}; BASE_BUDGET=${BASE_BUDGET:-60s}; BATCH=${BATCH:-2}; SEQ_LEN=${SEQ_LEN:-128}
  ARM_STEPS=${ARM_STEPS:-2}; ARM_PARAGRAPHS=${ARM_PARAGRAPHS:-2}; SAMPLES=${SAMPLES:-2}
  SEEDS=${SEEDS:-1}; MIN_EXPOSURES=${MIN_EXPOSURES:-1}
else
  RUN=${RUN:-runs/experiment-bios}
  PEOPLE=${PEOPLE:-100}; PARAGRAPHS=${PARAGRAPHS:-4}; VOCAB=${VOCAB:-1024}
  LAYERS=${LAYERS:-4}; HIDDEN=${HIDDEN:-128}; FFN=${FFN:-352}; HEADS=${HEADS:-4}; KV_HEADS=${KV_HEADS:-2}; HEAD_DIM=${HEAD_DIM:-32}
  BASE_STEPS=${BASE_STEPS:-1500}; BASE_BUDGET=${BASE_BUDGET:-1500s}; BATCH=${BATCH:-16}; SEQ_LEN=${SEQ_LEN:-256}
  ARM_STEPS=${ARM_STEPS:-400}; ARM_PARAGRAPHS=${ARM_PARAGRAPHS:-8}; SAMPLES=${SAMPLES:-8}
  SEEDS=${SEEDS:-"1 2 3"}; MIN_EXPOSURES=${MIN_EXPOSURES:-30}
fi
WORLD_SEED=${WORLD_SEED:-1}
BASE_FROM=${BASE_FROM:-}
start=$(date +%s)
say() { printf '\n== [%5ds] %s\n' "$(( $(date +%s) - start ))" "$*"; }
# A rerun starts afresh: pz train appends to an existing run's metrics.
if [ -e "$RUN/.pz-experiment-bios" ]; then echo "removing the previous run in $RUN"; rm -rf "$RUN"; fi
mkdir -p "$RUN" && touch "$RUN/.pz-experiment-bios"
printf 'arm\tseed\tseconds\n' > "$RUN/times.tsv"
timed() { # arm seed command...: runs the command, appends its wall time to times.tsv
  local arm=$1 seed=$2 t0; shift 2
  t0=$(date +%s)
  "$@"
  printf '%s\t%s\t%s\n' "$arm" "$seed" "$(( $(date +%s) - t0 ))" >> "$RUN/times.tsv"
}

DATA="$RUN/data"
if [ -n "$BASE_FROM" ]; then
  say "reusing the world, tokenizer and base model of $BASE_FROM"
  cp -r "$BASE_FROM/data" "$BASE_FROM/tokenizer.json" "$BASE_FROM/base" "$RUN/"
else
  # The base's budget must show every train paragraph MIN_EXPOSURES times,
  # or it cannot store the facts it is later asked about: synth refuses a
  # world that does not fit.
  say "world: $PEOPLE people x $PARAGRAPHS train paragraphs, one held-out question each (seed $WORLD_SEED)"
  $PZ data synth --kind bios --people "$PEOPLE" --paragraphs "$PARAGRAPHS" --seed "$WORLD_SEED" --question-last \
    --budget-tokens "$(( BASE_STEPS * BATCH * SEQ_LEN ))" --min-exposures "$MIN_EXPOSURES" --out "$RUN/data"

  say "tokenizer ($VOCAB BPE tokens) and a $LAYERS-layer x $HIDDEN model"
  $PZ tokenizer train --in "$DATA/train.jsonl" --vocab "$VOCAB" --out "$RUN/tokenizer.json"
  $PZ init-model --preset tiny --tokenizer "$RUN/tokenizer.json" --layers "$LAYERS" --hidden "$HIDDEN" --ffn "$FFN" \
    --heads "$HEADS" --kv-heads "$KV_HEADS" --head-dim "$HEAD_DIM" --seed 1 --out "$RUN/init"

  # Next-token prediction on the train paragraphs, with pz pretrain's cloze
  # and proposal texts so a model this small knows the \boxed{}/\mask{}
  # formats (random spans: no attribute is singled out).
  say "base: next-token pretraining, $BASE_STEPS steps (at most $BASE_BUDGET)"
  timed base 0 $PZ pretrain --model "$RUN/init" --data "$DATA" --out "$RUN/base" --threads "$THREADS" --steps "$BASE_STEPS" \
    --budget "$BASE_BUDGET" --batch "$BATCH" --seq-len "$SEQ_LEN" --plain 0.15 --cloze 0.8 --proposal 0.05 --answer-space \
    --optimizer adamw --lr 3e-3 --schedule cosine --warmup-steps 20 --min-lr-ratio 0.1 --weight-decay 0.1 --beta2 0.95
fi

rl() { # out mode seed extra...
  local out=$1 mode=$2 seed=$3; shift 3
  $PZ train --model "$RUN/base" --data "$DATA" --out "$out" --mode "$mode" --seed "$seed" --threads "$THREADS" \
    --steps "$ARM_STEPS" --paragraphs "$ARM_PARAGRAPHS" --gen-samples "$SAMPLES" --pred-samples "$SAMPLES" \
    --gen-max-tokens 16 --pred-max-tokens 12 --short-templates --temperature 0.7 --lr 1e-4 --weight-decay 0 \
    --checkpoint-every 0 --write-trajectories=false "$@"
}
models=(--model "$RUN/base"); names=(--name base)
for s in $SEEDS; do
  say "seed $s: PretrainZero GRPO ($ARM_STEPS steps x $ARM_PARAGRAPHS paragraphs, collapse guards on)"
  timed pretrainzero "$s" rl "$RUN/pretrainzero-$s" pretrainzero "$s" --require-content-word --max-span-words 4 \
    --dedup-proposals --span-batch-cap 4 --repeat-penalty 0.05
  pzsec=$(tail -n 1 "$RUN/times.tsv" | cut -f3)
  say "seed $s: random-span GRPO (same steps and paragraphs)"
  timed random-span "$s" rl "$RUN/random-span-$s" random-span "$s"
  say "seed $s: entropy-based next-token RL (RPT; same steps and paragraphs)"
  timed entropy-ntp "$s" rl "$RUN/entropy-ntp-$s" entropy-ntp "$s"
  say "seed $s: continued next-token pretraining for the PretrainZero arm's wall time (${pzsec}s)"
  timed continued-pt "$s" $PZ pretrain --model "$RUN/base" --data "$DATA" --out "$RUN/cpt-$s" --seed "$((s + 100))" \
    --threads "$THREADS" --steps 100000 --budget "$(( pzsec > 0 ? pzsec : 1 ))s" --batch "$BATCH" --seq-len "$SEQ_LEN" \
    --plain 0.15 --cloze 0.8 --proposal 0.05 --answer-space --lr 3e-4 --weight-decay 0.1 --beta2 0.95
  models+=(--model "$RUN/cpt-$s" --model "$RUN/random-span-$s" --model "$RUN/entropy-ntp-$s" --model "$RUN/pretrainzero-$s")
  names+=(--name "cpt-$s" --name "random-span-$s" --name "entropy-ntp-$s" --name "pretrainzero-$s")
done

say "held-out evaluation: $(wc -l < "$DATA/masks.jsonl") questions, identical for every model (greedy, exact match)"
$PZ eval "${models[@]}" "${names[@]}" --masks "$DATA/masks.jsonl" --short-templates --max-tokens 12 \
  --threads "$THREADS" --json "$RUN/comparison.json" | tee "$RUN/eval.txt"
$PZ eval-table --in "$RUN/comparison.json" --total --pool 'base=base' --pool 'continued-pt=cpt-*' \
  --pool 'random-span=random-span-*' --pool 'entropy-ntp=entropy-ntp-*' --pool 'pretrainzero=pretrainzero-*' \
  | tee "$RUN/table.md"

say "what each arm masked over training (labelled kinds), rewards and collapse metrics"
$PZ kind-mix --arm "random-span=$RUN/random-span-*" --arm "entropy-ntp=$RUN/entropy-ntp-*" \
  --arm "pretrainzero=$RUN/pretrainzero-*" | tee "$RUN/kinds.md"
awk -F'\t' 'NR > 1 { n[$1]++; t[$1] += $3; if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 } }
  END { print "| arm | runs | wall seconds per run (mean) |\n|---|---|---|"; for (i = 1; i <= k; i++) printf "| %s | %d | %.0f |\n", order[i], n[order[i]], t[order[i]] / n[order[i]] }' \
  "$RUN/times.tsv" | tee "$RUN/times.md"
$PZ report "$RUN"/pretrainzero-* "$RUN"/random-span-* "$RUN"/entropy-ntp-* --out "$RUN/report/report.html" >/dev/null
say "done in $(( $(date +%s) - start ))s: $RUN/table.md, $RUN/kinds.md, $RUN/times.md, $RUN/report/report.html"
