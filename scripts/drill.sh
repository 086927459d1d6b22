#!/usr/bin/env bash
# Interruption drill: kill `pz train` (tiny preset) K times at random
# moments with SIGKILL or SIGINT (alternating), resume it with --resume
# each time, then check that the final weights, optimizer state and metrics
# (timings and clock times left out) equal an uninterrupted run's bit for
# bit, and that no partial or temporary file is left in the run folder.
#
#   bash scripts/drill.sh            # K=8 cases, 40 steps
#   K=20 STEPS=16 SEED=7 PZ=bin/pz bash scripts/drill.sh
#
# Prints one line per case (signal, moment, exit status, steps done when
# killed, checkpoint resumed from, steps lost) and a summary; exits 1 when
# anything differs.
set -euo pipefail
K=${K:-8}
STEPS=${STEPS:-40}
SEED=${SEED:-1}
root="$(cd "$(dirname "$0")/.." && pwd)"
PZ=${PZ:-}
work="$(mktemp -d "${TMPDIR:-/tmp}/pz-drill.XXXXXX")"
trap '[ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"' EXIT
if [ -z "$PZ" ]; then
  (cd "$root" && go build -o "$work/pz" ./cmd/pz)
  PZ="$work/pz"
fi
RANDOM=$SEED
train=(train --data "$root/data/sample" --steps "$STEPS" --paragraphs 2 --gen-samples 4 --pred-samples 4
  --gen-max-tokens 6 --pred-max-tokens 4 --short-templates --no-filter --entropy-coef 0.01 --lr 1e-3
  --checkpoint-every 3 --keep-last 2 --threads 1 --seed 3)
"$PZ" --log-level warn init-model --preset tiny --out "$work/model" --seed 5 >/dev/null

t0=$(date +%s.%N)
"$PZ" --log-level warn "${train[@]}" --model "$work/model" --out "$work/full/run" >/dev/null 2>&1
full_s=$(echo "$(date +%s.%N) - $t0" | bc)

latest_step() { # the step of the checkpoint `latest` names (0 when none)
  if [ -f "$1/latest" ]; then sed 's/checkpoint-//' "$1/latest"; else echo 0; fi
}
run="$work/drill/run" # the same folder name as the full run: it is the trajectories' run id
full="$work/full/run"
lost_total=0
sigint_bad=0
printf '%-4s %-7s %8s %6s %10s %10s %5s\n' case signal after_s status done_steps resumed_at lost
for i in $(seq 1 "$K"); do
  sig=KILL
  [ $((i % 2)) -eq 0 ] && sig=INT
  # A moment between 0.2 s (start-up) and a third of the uninterrupted
  # run's length after it, so that most cases land inside the run.
  r=$((RANDOM % 100)) # drawn here: $RANDOM in a subshell would not advance
  delay=$(echo "scale=2; 0.2 + $r * $full_s / 300" | bc)
  extra=(--resume)
  [ "$i" -eq 1 ] && extra=()
  "$PZ" --log-level warn "${train[@]}" --model "$work/model" --out "$run" "${extra[@]}" >"$work/case-$i.log" 2>&1 &
  pid=$!
  sleep "$delay"
  kill -s "$sig" "$pid" 2>/dev/null || true
  status=0
  wait "$pid" 2>/dev/null || status=$?
  done_steps=0
  [ -f "$run/metrics.jsonl" ] && done_steps=$(grep -c '"step"' "$run/metrics.jsonl" || true)
  at=$(latest_step "$run")
  lost=$((done_steps > at ? done_steps - at : 0))
  lost_total=$((lost_total + lost))
  # SIGINT: 130 (stopped, checkpoint saved) or 0 (the run had finished).
  if [ "$sig" = INT ] && [ "$status" -ne 130 ] && [ "$status" -ne 0 ]; then sigint_bad=$((sigint_bad + 1)); fi
  printf '%-4s %-7s %8s %6s %10s %10s %5s\n' "$i" "$sig" "$delay" "$status" "$done_steps" "$at" "$lost"
done
"$PZ" --log-level warn "${train[@]}" --model "$work/model" --out "$run" --resume >"$work/final.log" 2>&1

fail=0
for f in model.safetensors optimizer.safetensors config.json generation_config.json; do
  a="$full/checkpoint-$STEPS/$f" b="$run/checkpoint-$STEPS/$f"
  if ! cmp -s "$a" "$b"; then
    n=$(cmp -l "$a" "$b" 2>/dev/null | wc -l || true)
    echo "DIFFERS: checkpoint-$STEPS/$f ($n bytes)"; fail=1
  fi
done
# trainer_state.json holds the options, which include nothing run-specific
# except what the flags set: it must match too.
cmp -s "$full/checkpoint-$STEPS/trainer_state.json" "$run/checkpoint-$STEPS/trainer_state.json" ||
  { echo "DIFFERS: trainer_state.json"; fail=1; }
strip='del(.time) | del(.. | objects | .gen_seconds?, .pred_seconds?, .verify_seconds?, .learn_seconds?,
  .sync_seconds?, .write_seconds?, .step_seconds?, .sampled_tokens_per_s?, .train_tokens_per_s?, .tokens_per_s?, .seconds?)'
if ! diff <(jq -cS "$strip" "$full/metrics.jsonl") <(jq -cS "$strip" "$run/metrics.jsonl") >"$work/metrics.diff"; then
  echo "DIFFERS: metrics.jsonl ($(grep -c '^[<>]' "$work/metrics.diff") lines)"; head -5 "$work/metrics.diff"; fail=1
fi
# Trajectory files carry wall times (generate_seconds, created_unix_ms), so
# they are not compared byte for byte; each step must have one.
for s in $(seq 0 $((STEPS - 1))); do
  f=$(printf 'trajectories/step-%06d.parquet' "$s")
  [ -s "$run/$f" ] || { echo "MISSING: $f"; fail=1; }
done
same=$((1 - fail))
partial=$(find "$run" -name '.*.tmp*' | sed "s|$run/||" || true)
if [ -n "$partial" ]; then echo "LEFT OVER: $partial"; fail=1; fi
[ "$sigint_bad" -eq 0 ] || { echo "SIGINT gave an exit status other than 130/0 in $sigint_bad case(s)"; fail=1; }
echo "drill: $K interruptions ($(( (K + 1) / 2 )) SIGKILL, $((K / 2)) SIGINT) of a $STEPS-step run (${full_s%.*}s uninterrupted), $lost_total steps redone in all;" \
  "weights, optimizer state and metrics: $([ $same -eq 1 ] && echo 'identical, 0 bytes differ' || echo DIFFER); partial files: $([ -z "$partial" ] && echo none || echo some)"
exit $fail
