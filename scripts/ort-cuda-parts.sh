#!/usr/bin/env bash
# Move the CUDA build of ONNX Runtime (scripts/setup-ort-cuda.sh) to a
# machine with no network in parts small enough for a transfer limit:
#
#   bash scripts/ort-cuda-parts.sh split [MiB]   # here: .cache/ort/parts/
#   bash scripts/ort-cuda-parts.sh join          # there: .cache/ort/cuda/
#
# split packs libonnxruntime.so, libonnxruntime_providers_shared.so and
# libonnxruntime_providers_cuda.so (~240 MB, most of it already-compressed
# GPU code) into one xz -9 stream (xz rather than zstd: where neither tool
# is installed, python3's lzma module decompresses it), cut into parts of
# MiB (default 60) named ort-cuda.tar.xz.00, .01, ..., with SHA256SUMS over
# the parts. join checks every part, reassembles, unpacks into
# .cache/ort/cuda-<version>/, checks each library against the checksums
# pinned in setup-ort-cuda.sh and points .cache/ort/cuda at it. A missing
# or damaged part is named; nothing is installed until everything checks.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
parts="$root/.cache/ort/parts"
files=(libonnxruntime.so libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so)

# The pinned library checksums and version, read from setup-ort-cuda.sh so
# there is one list.
pinned() { sed -n "s/^  \[$1\]=\([0-9a-f]\{64\}\)$/\1/p" "$root/scripts/setup-ort-cuda.sh"; }
version="$(sed -n 's/^PKG_VERSION="${ORT_CUDA_PKG_VERSION:-\([0-9.]*\)}".*/\1/p' "$root/scripts/setup-ort-cuda.sh")"

case "${1:-}" in
split)
  mib="${2:-60}"
  src="$root/.cache/ort/cuda-$version"
  for f in "${files[@]}"; do
    [ -f "$src/$f" ] || { echo "ort-cuda-parts: $src/$f is missing: run bash scripts/setup-ort-cuda.sh first" >&2; exit 1; }
  done
  rm -rf "$parts.tmp" && mkdir -p "$parts.tmp"
  tar -C "$src" -cf - "${files[@]}" | xz -9 -T2 -c | split -b "${mib}M" -d -a 2 - "$parts.tmp/ort-cuda.tar.xz."
  (cd "$parts.tmp" && sha256sum ort-cuda.tar.xz.* >SHA256SUMS)
  rm -rf "$parts" && mv "$parts.tmp" "$parts"
  ls -l "$parts"
  echo "carry each of $parts/ort-cuda.tar.xz.* (and SHA256SUMS) to the same path on the GPU machine, then run: bash scripts/ort-cuda-parts.sh join"
  ;;
join)
  [ -f "$parts/SHA256SUMS" ] || { echo "ort-cuda-parts: $parts/SHA256SUMS is missing" >&2; exit 1; }
  while read -r sum name; do
    [ -f "$parts/$name" ] || { echo "ort-cuda-parts: part $parts/$name is missing" >&2; exit 1; }
    echo "$sum  $parts/$name" | sha256sum -c --status || { echo "ort-cuda-parts: part $parts/$name is damaged (sha256 mismatch)" >&2; exit 1; }
  done <"$parts/SHA256SUMS"
  dest="$root/.cache/ort/cuda-$version"
  tmp="$(mktemp -d "$root/.cache/ort/join.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  names=$(cut -d' ' -f3 "$parts/SHA256SUMS")
  if command -v xz >/dev/null; then
    (cd "$parts" && cat $names) | xz -d -c | tar -C "$tmp" -xf -
  else
    (cd "$parts" && cat $names) | python3 -c 'import lzma, sys, shutil; shutil.copyfileobj(lzma.open(sys.stdin.buffer), sys.stdout.buffer)' | tar -C "$tmp" -xf -
  fi
  for f in "${files[@]}"; do
    want="$(pinned "$f")"
    echo "$want  $tmp/$f" | sha256sum -c --status || { echo "ort-cuda-parts: $f does not match its pinned sha256 $want" >&2; exit 1; }
  done
  mkdir -p "$dest"
  for f in "${files[@]}"; do mv "$tmp/$f" "$dest/$f"; done
  ln -sfn "cuda-$version" "$root/.cache/ort/cuda"
  echo "onnxruntime (CUDA) installed at $dest from $(echo $names | wc -w) parts"
  ;;
*)
  echo "usage: bash scripts/ort-cuda-parts.sh split [MiB] | join" >&2
  exit 2
  ;;
esac
