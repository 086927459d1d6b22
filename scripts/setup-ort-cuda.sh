#!/usr/bin/env bash
# Fetch a CUDA-enabled ONNX Runtime for Linux x64 from npm (no install scripts
# run), verify checksums and cache it in .cache/ort/cuda/ (ignored by git):
#   - core library libonnxruntime.so + libonnxruntime_providers_shared.so
#     from com.github.asus4.onnxruntime (CPU core with the provider bridge),
#   - libonnxruntime_providers_cuda.so (CUDA 13) from
#     com.github.asus4.onnxruntime.linux-x64-gpu of the same version.
# ONNX Runtime loads the CUDA provider from the directory of libonnxruntime.so,
# so the three files sit together. pz uses them with `--device cuda` (or
# PZ_DEVICE=cuda); PZ_ORT_LIB / --ort-lib may point at any other CUDA build.
# The CPU setup (scripts/setup-ort.sh) does not depend on this one.
#
# The two tarballs are ~330 MB together; they are kept in .cache/ort/npm/ and
# reused while their checksums match, so a rerun downloads nothing.
# Needs at run time (not checked here beyond a warning): an NVIDIA driver and
# the CUDA 13 runtime libraries libcudart.so.13, libcublas.so.13,
# libcublasLt.so.13, libcurand.so.10 (and cuDNN 9 for convolution ops) on the
# loader path.
set -euo pipefail
PKG_VERSION="${ORT_CUDA_PKG_VERSION:-0.4.9}" # npm package version; ships ONNX Runtime 1.29.0
ORT_VERSION="1.29.0"
core_pkg="com.github.asus4.onnxruntime"
gpu_pkg="com.github.asus4.onnxruntime.linux-x64-gpu"
# sha256 of the tarballs and of the files taken from them (version 0.4.9).
declare -A SHA=(
  ["$core_pkg-$PKG_VERSION.tgz"]=e59788788818fdde1b2e522e766a21ba0f7d8391de55737abf81e32cc801785d
  ["$gpu_pkg-$PKG_VERSION.tgz"]=2b459e0c17f340c92970c10ed86de4f37a3009f93c14053e6ad4334cbb6be412
  [libonnxruntime.so]=5715f06d8992ca8eeeddcce43df3a7d38f97d537052126f558e912cb312460ca
  [libonnxruntime_providers_shared.so]=086ec1d5388f64153d9c63470d126693db9a182c8ce236d3a1119068471b8a0d
  [libonnxruntime_providers_cuda.so]=56cf3254b118ad837ccc4ed8f6d1b23504bbf7ef91b34cbc0b289cb7f10b3037
)
if [ "$PKG_VERSION" != 0.4.9 ] && [ -z "${ORT_CUDA_NO_VERIFY:-}" ]; then
  echo "setup-ort-cuda: checksums are pinned for package version 0.4.9; set ORT_CUDA_NO_VERIFY=1 to accept $PKG_VERSION unverified" >&2
  exit 1
fi

root="$(cd "$(dirname "$0")/.." && pwd)"
npm_cache="$root/.cache/ort/npm"
dest="$root/.cache/ort/cuda-$PKG_VERSION"
inside="package/Plugins/Linux/x64"

ok() { # ok FILE KEY: the file exists and matches its pinned checksum
  [ -f "$1" ] || return 1
  [ -n "${ORT_CUDA_NO_VERIFY:-}" ] && return 0
  echo "${SHA[$2]}  $1" | sha256sum -c --status
}

if ok "$dest/libonnxruntime.so" libonnxruntime.so &&
  ok "$dest/libonnxruntime_providers_shared.so" libonnxruntime_providers_shared.so &&
  ok "$dest/libonnxruntime_providers_cuda.so" libonnxruntime_providers_cuda.so; then
  echo "onnxruntime $ORT_VERSION (CUDA) already at $dest"
else
  command -v npm >/dev/null || { echo "setup-ort-cuda: npm is needed (apt-get install -y npm, or Node.js)" >&2; exit 1; }
  mkdir -p "$npm_cache"
  for pkg in "$core_pkg" "$gpu_pkg"; do
    tgz="$pkg-$PKG_VERSION.tgz"
    if ok "$npm_cache/$tgz" "$tgz"; then
      echo "using cached $tgz"
      continue
    fi
    echo "downloading $pkg@$PKG_VERSION from npm ..."
    rm -f "$npm_cache/$tgz"
    (cd "$npm_cache" && npm pack --silent "$pkg@$PKG_VERSION" >/dev/null)
    if ! ok "$npm_cache/$tgz" "$tgz"; then
      echo "setup-ort-cuda: checksum mismatch for $tgz: got $(sha256sum "$npm_cache/$tgz" | cut -d' ' -f1), want ${SHA[$tgz]}" >&2
      exit 1
    fi
  done
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  tar -xzf "$npm_cache/$core_pkg-$PKG_VERSION.tgz" -C "$tmp" "$inside/libonnxruntime.so" "$inside/libonnxruntime_providers_shared.so"
  tar -xzf "$npm_cache/$gpu_pkg-$PKG_VERSION.tgz" -C "$tmp" "$inside/libonnxruntime_providers_cuda.so"
  for f in libonnxruntime.so libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so; do
    if ! ok "$tmp/$inside/$f" "$f"; then
      echo "setup-ort-cuda: checksum mismatch for $f: got $(sha256sum "$tmp/$inside/$f" | cut -d' ' -f1), want ${SHA[$f]}" >&2
      exit 1
    fi
  done
  mkdir -p "$dest"
  for f in libonnxruntime.so libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so; do
    cp "$tmp/$inside/$f" "$dest/$f.tmp"
    chmod 0755 "$dest/$f.tmp"
    mv "$dest/$f.tmp" "$dest/$f"
  done
  echo "onnxruntime $ORT_VERSION (CUDA) installed at $dest"
fi
ln -sfn "cuda-$PKG_VERSION" "$root/.cache/ort/cuda"

# The CUDA provider needs these at load time; warn (not fail) when missing,
# since this machine may only prepare files for another.
missing=()
for lib in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcurand.so.10 libcuda.so.1; do
  ldconfig -p 2>/dev/null | grep -q "$lib" || missing+=("$lib")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "note: not on the loader path here: ${missing[*]} (install the NVIDIA driver and CUDA 13 runtime before using --device cuda)"
fi
echo "use it with: pz <command> --device cuda   (or PZ_DEVICE=cuda); check with: pz version --device cuda --probe"
