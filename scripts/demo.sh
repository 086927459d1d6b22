#!/usr/bin/env bash
# The main job on the embedded defaults (`make demo`): on a fresh 2-core
# machine, in about 15 minutes, build a small base model from the shipped
# sample corpus, run PretrainZero RL and the random-span baseline on the same
# budget, evaluate held-out masked-span accuracy of base vs random-span vs
# PretrainZero, and write a report. Every stage is a pz command, so each can
# be rerun by hand. Sizes and budgets can be overridden by environment:
#   RUN=runs/demo PRETRAIN_BUDGET=300s RL_STEPS=30 EVAL_N=150 THREADS=2
set -euo pipefail
cd "$(dirname "$0")/.."
PZ=${PZ:-./bin/pz}
RUN=${RUN:-runs/demo}
THREADS=${THREADS:-2}
PRETRAIN_BUDGET=${PRETRAIN_BUDGET:-600s}
PRETRAIN_STEPS=${PRETRAIN_STEPS:-1600}
RL_STEPS=${RL_STEPS:-200}
PARAGRAPHS=${PARAGRAPHS:-8}
EVAL_N=${EVAL_N:-100}
DATA=${DATA:-data/sample}
start=$(date +%s)
say() { printf '\n== [%4ds] %s\n' "$(( $(date +%s) - start ))" "$*"; }

# A rerun starts afresh (pz train refuses a non-empty --out without --resume or --overwrite).
if [ -e "$RUN/.pz-demo" ]; then echo "removing the previous demo run in $RUN"; rm -rf "$RUN"; fi
mkdir -p "$RUN" && touch "$RUN/.pz-demo"
say "1/6 tokenizer: byte-level BPE, 2,048 tokens, trained on $DATA (special tokens [mask], \\mask{, \\boxed{, <|endoftext|>)"
$PZ tokenizer train --in "$DATA/train.jsonl" --vocab 2048 --out "$RUN/tokenizer.json"

say "1b/6 data: the sample's paragraphs cut into passages of 48-160 tokens (a prompt and its answer fit the model's 256-token training window), 10% of articles held out"
$PZ data prepare --in "$DATA/*.jsonl" --out "$RUN/data" --tokenizer "$RUN/tokenizer.json" \
  --min-tokens 48 --max-tokens 160 --heldout 0.1 --heldout-by title
PASSAGES="$RUN/data"

say "2/6 model: Qwen3-style, 4 layers x 128 hidden, FFN 352, 4/2 heads, tied embeddings (~1.0M parameters)"
$PZ init-model --preset tiny --tokenizer "$RUN/tokenizer.json" --layers 4 --hidden 128 --ffn 352 \
  --heads 4 --kv-heads 2 --head-dim 32 --seed 1 --out "$RUN/init"

say "3/6 pretraining (at most $PRETRAIN_STEPS steps or $PRETRAIN_BUDGET): next-token loss on 50% plain paragraphs, 30% cloze (\\boxed{}), 20% mask proposals (\\mask{})"
$PZ pretrain --model "$RUN/init" --data "$PASSAGES" --out "$RUN/base" --threads "$THREADS" \
  --steps "$PRETRAIN_STEPS" --budget "$PRETRAIN_BUDGET" --batch 16 --seq-len 256 --plain 0.5 --cloze 0.3 --proposal 0.2 \
  --optimizer adamw --lr 3e-3 --schedule cosine --warmup-steps 20 --min-lr-ratio 0.1 --weight-decay 0.1 --beta2 0.95

# The same RL budget for both arms: steps x paragraphs, 8 samples per group,
# short answers (no chain of thought at this size), clip-higher, no KL.
rl() { # arm mode extra-flags...
  local arm=$1 mode=$2; shift 2
  $PZ train --model "$RUN/base" --data "$PASSAGES" --out "$RUN/$arm" --mode "$mode" --threads "$THREADS" \
    --steps "$RL_STEPS" --paragraphs "$PARAGRAPHS" --gen-samples 8 --pred-samples 8 \
    --gen-max-tokens 16 --pred-max-tokens 12 --short-templates --temperature 0.7 \
    --lr 1e-4 --weight-decay 0 --max-grad-norm 1 --clip-low 0.2 --clip-high 0.28 \
    --checkpoint-every 0 --eval-every 40 --eval-n 30 --eval-max-tokens 12 "$@"
}
say "4/6 PretrainZero RL ($RL_STEPS steps x $PARAGRAPHS paragraphs), with the collapse guards on: a content word required, spans of at most 4 words, duplicate proposals in a group count once, at most 4 of one span per step, a penalty per repeat of a span"
rl pretrainzero pretrainzero --require-content-word --max-span-words 4 --dedup-proposals --span-batch-cap 4 --repeat-penalty 0.05

say "5/6 random-span baseline (Random RLPT), same budget"
rl random-span random-span

say "6/6 held-out evaluation (greedy, $EVAL_N questions per kind, identical for every model) and report"
$PZ eval --model "$RUN/base" --model "$RUN/random-span" --model "$RUN/pretrainzero" \
  --name base --name random-span --name pretrainzero --data "$PASSAGES" --n "$EVAL_N" --seed 7 \
  --short-templates --max-tokens 12 --threads "$THREADS" --json "$RUN/comparison.json"
$PZ report "$RUN/pretrainzero" "$RUN/random-span"
say "done in $(( $(date +%s) - start ))s; open $RUN/report/report.html"
