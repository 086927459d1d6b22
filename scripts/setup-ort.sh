#!/usr/bin/env bash
# Fetch the official ONNX Runtime CPU shared library from the npm package
# onnxruntime-node (no install scripts run), verify its checksum and cache it
# in .cache/ort/ (ignored by git). pz finds it there: flag > PZ_ORT_LIB > cache.
set -euo pipefail
ORT_VERSION="${ORT_VERSION:-1.30.0}"
# sha256 of bin/napi-v6/linux/x64/libonnxruntime.so.1 inside onnxruntime-node@1.30.0
ORT_SHA256="${ORT_SHA256:-ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23}"
# --user: cache in the per-user cache ($XDG_CACHE_HOME/pz/ort, else
# ~/.cache/pz/ort) instead of the checkout's .cache/ort, so that an installed
# pz (go install ./cmd/pz) finds the library from any directory.
cache="$(cd "$(dirname "$0")/.." && pwd)/.cache/ort"
if [ "${1:-}" = "--user" ]; then
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/pz/ort"
elif [ -n "${1:-}" ]; then
  echo "usage: setup-ort.sh [--user]" >&2; exit 2
fi
dest="$cache/$ORT_VERSION"
lib="$dest/libonnxruntime.so"
if [ -f "$lib" ] && echo "$ORT_SHA256  $lib" | sha256sum -c --status; then
  ln -sfn "$ORT_VERSION" "$cache/current" # repair the link if it went missing
  echo "onnxruntime $ORT_VERSION already at $lib"
  exit 0
fi
command -v npm >/dev/null || { echo "setup-ort: npm is needed (apt-get install -y npm, or Node.js)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null)
tar -xzf "$tmp"/onnxruntime-node-*.tgz -C "$tmp" package/bin/napi-v6/linux/x64/libonnxruntime.so.1
got="$(sha256sum "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" | cut -d' ' -f1)"
if [ "$got" != "$ORT_SHA256" ]; then
  echo "setup-ort: checksum mismatch for libonnxruntime.so.1 from onnxruntime-node@$ORT_VERSION: got $got, want $ORT_SHA256" >&2
  exit 1
fi
mkdir -p "$dest"
cp "$tmp/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$lib.tmp"
mv "$lib.tmp" "$lib"
ln -sfn "$ORT_VERSION" "$cache/current"
echo "onnxruntime $ORT_VERSION installed at $lib"
