#!/usr/bin/env bash
# pz on a CUDA GPU: checks the setup, runs the GPU tests and benchmarks of
# issue 14, and prints one table against the H200 anchors (PyTorch 2.11 +
# transformers, bf16). Needs no network. Run from the repository root:
#
#   bash scripts/gpu-bench.sh            # ~5 min on an H200
#   PZ_GPU_BENCH_4B=all bash scripts/gpu-bench.sh   # also 4B decode and train
#
# What it needs on the machine (docs/ort.md, "A GPU machine without network"):
#   - the CUDA build of ONNX Runtime in .cache/ort/cuda/ (or PZ_ORT_LIB), or
#     its parts in .cache/ort/parts/ (scripts/ort-cuda-parts.sh split, run
#     where npm works), which are joined here;
#   - the NVIDIA driver and the CUDA 13 runtime: libcudart.so.13,
#     libcublas.so.13, libcublasLt.so.13, libcurand.so.10; found on
#     LD_LIBRARY_PATH, under /usr/local/cuda*, or in the nvidia-* pip wheels
#     (site-packages/nvidia/*/lib) that PyTorch installs;
#   - the test binaries in bin/gpu/ (scripts/gpu-bench.sh --build, run where
#     Go is; each is cgo-linked against libc only, ORT is dlopen'ed), or a
#     Go toolchain here to build them.
# Every step has a time limit; the table says "fail" or "skip" with the
# reason rather than hanging.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bin="$root/bin/gpu"
out="${PZ_GPU_BENCH_OUT:-$root/runs/gpu-bench}"

build() {
  mkdir -p "$bin"
  go build -o "$bin/pz" ./cmd/pz &&
    go test -c -o "$bin/engine.test" ./orchestrator/engine/ort &&
    go test -c -o "$bin/learn.test" ./orchestrator/learn &&
    go test -c -o "$bin/qwen3.test" ./models/qwen3 &&
    go test -c -o "$bin/ort.test" ./export/ort
}
if [ "${1:-}" = --build ]; then
  build && ls -l "$bin" && echo "carry bin/gpu/ to the GPU machine (or let this script build there)"
  exit
fi
mkdir -p "$out"
log() { echo "gpu-bench: $*" >&2; }

# 1. ONNX Runtime's CUDA build.
if [ -z "${PZ_ORT_LIB:-}" ] && [ ! -f .cache/ort/cuda/libonnxruntime_providers_cuda.so ]; then
  if [ -f .cache/ort/parts/SHA256SUMS ]; then
    bash scripts/ort-cuda-parts.sh join || exit 1
  else
    log "no CUDA build of ONNX Runtime: run bash scripts/setup-ort-cuda.sh (network) or bring its parts (docs/ort.md)"
    exit 1
  fi
fi

# 2. The CUDA 13 runtime: add every directory that holds one of its
# libraries to LD_LIBRARY_PATH.
cudalibs=(libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcurand.so.10 libcudnn.so.9)
dirs=()
cands=(/usr/local/cuda*/lib64 /usr/local/cuda*/targets/x86_64-linux/lib /usr/lib/x86_64-linux-gnu)
for py in python3 python; do
  command -v "$py" >/dev/null || continue
  while read -r d; do cands+=("$d"); done < <("$py" -c 'import site, glob
for s in site.getsitepackages() + [site.getusersitepackages()]:
    for d in glob.glob(s + "/nvidia/*/lib"): print(d)' 2>/dev/null)
done
while read -r d; do cands+=("$d"); done < <(find / -xdev -maxdepth 9 -type d -path '*site-packages/nvidia/*/lib' 2>/dev/null | head -40)
for d in "${cands[@]}"; do
  for l in "${cudalibs[@]}"; do
    if [ -e "$d/$l" ]; then
      case " ${dirs[*]:-} " in *" $d "*) ;; *) dirs+=("$d") ;; esac
    fi
  done
done
if [ ${#dirs[@]} -gt 0 ]; then
  LD_LIBRARY_PATH="$(IFS=:; echo "${dirs[*]}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export LD_LIBRARY_PATH
fi
log "CUDA library dirs: ${dirs[*]:-none found}"

# 3. Binaries.
if [ ! -x "$bin/engine.test" ]; then
  if command -v go >/dev/null; then
    log "building test binaries" && build || exit 1
  else
    log "no bin/gpu/ and no Go toolchain: run bash scripts/gpu-bench.sh --build where Go is and carry bin/gpu/"
    exit 1
  fi
fi
export PZ_DEVICE=cuda
# ORT's CUDA GroupQueryAttention has fp16/bf16 kernels only: the fp32
# decode graph uses standard ops on the GPU (PZ_FUSED_OPS=1 to try the
# fused graph anyway; it then fails strict placement or runs GQA on the CPU).
export PZ_FUSED_OPS="${PZ_FUSED_OPS:-0}"

# 4. The probe: provider, GPU, CUDA versions, or what is missing.
if ! timeout 120 "$bin/pz" version --device cuda --probe | tee "$out/probe.txt"; then
  log "the CUDA probe failed (above); nothing else can run"
  exit 1
fi
gpu="$(sed -n 's/^gpu 0: //p' "$out/probe.txt")"

# peak_gpu CMD...: runs CMD while sampling the GPU's used memory; prints
# the peak (MiB above the idle level) on fd 3.
peak_gpu() {
  local base samples pid peak
  base=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i 0 2>/dev/null | head -1)
  samples=$(mktemp)
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i 0 -lms 200 >"$samples" 2>/dev/null &
  pid=$!
  "$@"
  local rc=$?
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  peak=$(sort -n "$samples" | tail -1)
  rm -f "$samples"
  echo "$(( ${peak:-0} - ${base:-0} ))" >&3
  return $rc
}

# metric FILE UNIT: the value before UNIT on the benchmark line.
metric() { awk -v u="$2" '/^Benchmark/ { for (i = 1; i < NF; i++) if ($(i+1) == u) v = $i } END { print v }' "$1"; }

declare -A cell
# bench KEY LIMIT BINARY REGEX BENCHTIME UNIT [ENV...]
bench() {
  local key=$1 limit=$2 b=$3 re=$4 bt=$5 unit=$6
  shift 6
  local f="$out/$key.txt" mem
  log "$key ..."
  exec 3>"$out/$key.mem"
  (
    export "$@"
    peak_gpu timeout "$limit" "$bin/$b" -test.run '^$' -test.bench "$re" -test.benchtime "$bt" -test.timeout 0 -test.v >"$f" 2>&1
  )
  local rc=$?
  exec 3>&-
  mem=$(cat "$out/$key.mem")
  local v
  v=$(metric "$f" "$unit")
  if grep -q -- '--- SKIP' "$f"; then
    cell[$key]="skip: $(grep -m1 -B1 -- '--- SKIP' "$f" | head -1 | sed 's/^ *[a-z_]*\.go:[0-9]*: //')"
  elif [ $rc -ne 0 ] || [ -z "$v" ]; then
    if [ $rc -eq 124 ]; then cell[$key]="timeout ${limit}s"; else cell[$key]="fail (see $f)"; fi
  else
    cell[$key]="$(printf '%.0f' "$v")"
  fi
  cell[$key.mem]="$mem"
}
want4b="${PZ_GPU_BENCH_4B:-prefill}"
fallback="refused (session.disable_cpu_ep_fallback)"
bench small.decode1 150 engine.test 'GPUDecode/model=small/batch=1$' 1x tok/s PZ_BENCH_MODELS=small
if grep -q "fallback to CPU EP has been explicitly disabled\|assigned to the default CPU EP" "$out/small.decode1.txt"; then
  # ORT places some nodes of pz's graphs on the CPU; say so and measure anyway.
  fallback="ALLOWED: strict mode rejected the decode graph (see $out/small.decode1.txt)"
  export PZ_CUDA_CPU_FALLBACK=1
  bench small.decode1 150 engine.test 'GPUDecode/model=small/batch=1$' 1x tok/s PZ_BENCH_MODELS=small
fi
bench small.decode32 150 engine.test 'GPUDecode/model=small/batch=32$' 1x tok/s PZ_BENCH_MODELS=small
bench small.decode256 150 engine.test 'GPUDecode/model=small/batch=256$' 1x tok/s PZ_BENCH_MODELS=small
bench small.prefill 120 engine.test 'GPUPrefill/model=small$' 3x tok/s PZ_BENCH_MODELS=small
bench small.train 180 learn.test 'GPUTrainStep/model=small/precision=fp32$' 3x tokens/s PZ_BENCH_MODELS=small
bench small.train32 180 learn.test 'GPUTrainStep/model=small/precision=tf32$' 3x tokens/s PZ_BENCH_MODELS=small
if [ "$want4b" != none ]; then
  # Weights of 16 GB fed as inputs cross PCIe on every run until they stay
  # on the device, so only the prefill row runs by default.
  bench 4b.prefill 240 engine.test 'GPUPrefill/model=qwen3-4b$' 1x tok/s PZ_BENCH_MODELS=qwen3-4b
  if [ "$want4b" = all ]; then
    bench 4b.decode1 300 engine.test 'GPUDecode/model=qwen3-4b/batch=1$' 1x tok/s PZ_BENCH_MODELS=qwen3-4b
    bench 4b.train 300 learn.test 'GPUTrainStep/model=qwen3-4b/precision=tf32$' 1x tokens/s PZ_BENCH_MODELS=qwen3-4b
  fi
fi

# 5. CUDA-vs-CPU log-probs on the same weights (float32 and TF32).
timeout 180 "$bin/qwen3.test" -test.run '^TestCUDAMatchesCPU$' -test.v >"$out/cuda_vs_cpu.txt" 2>&1
diff_fp32=$(sed -n 's/.*CUDA-CPU fp32 max |d logprob| //p' "$out/cuda_vs_cpu.txt")
diff_tf32=$(sed -n 's/.*CUDA-CPU tf32 max |d logprob| //p' "$out/cuda_vs_cpu.txt")

c() { echo "${cell[$1]:-skip}"; }
m() { local v="${cell[$1.mem]:-}"; [ -n "$v" ] && echo "$(awk -v m="$v" 'BEGIN { printf "%.1f GiB", m/1024 }')" || echo "-"; }
echo
echo "pz on ${gpu:-the GPU} ($(date -u +%Y-%m-%d), $(sed -n 's/^onnxruntime \([0-9.]*\).*/ORT \1/p' "$out/probe.txt"), fp32 weights; anchors: PyTorch bf16 on an H200)"
echo
echo "CPU fallback: $fallback; decode graph: $([ "$PZ_FUSED_OPS" = 0 ] && echo standard ops || echo fused GQA)"
echo
echo "| workload | small (42 M) | anchor | Qwen3-4B shape | anchor |"
echo "|---|---|---|---|---|"
echo "| decode b=1, tok/s | $(c small.decode1) | 58.6 | $(c 4b.decode1) | 21.5 |"
echo "| decode b=32, tok/s | $(c small.decode32) | 3,159 | | 689 |"
echo "| decode b=256, tok/s | $(c small.decode256) | 25,693 | | 5,599 |"
echo "| prefill 8×1024, tok/s | $(c small.prefill) | 905,681 | $(c 4b.prefill) | 50,879 |"
echo "| GRPO step (small 8×512, 4B 4×1024), tok/s | $(c small.train) | 94,442 | $(c 4b.train) | 11,584 |"
echo "| GRPO step peak GPU memory | $(m small.train) | 3.7 GiB | $(m 4b.train) | 89.1 GiB |"
echo "| GRPO step TF32 (4B: fp32+TF32 anchor), tok/s | $(c small.train32) | | $(c 4b.train) | 6,527 |"
echo "| CUDA − CPU max \|Δ log-prob\| (small, fp32 / tf32) | ${diff_fp32:-fail} / ${diff_tf32:-fail} | | | |"
echo
echo "raw outputs: $out/"
