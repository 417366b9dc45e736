#!/usr/bin/env bash
# The proof on a GPU machine (docs/gpu.md): build rcpu with the CUDA backend, run the gpu-labelled
# tests, then Debian's unmodified netlib BLAS testers through the shim in mode remote-cuda
# (client and `rcpud --backend cuda` on this machine, over loopback).
#
#   bash scripts/gpu_proof.sh [DEBS_DIR]
# DEBS_DIR holds libblas-test, libblas3 (.deb files, `apt-get download` on any Debian machine);
# they are unpacked with dpkg -x, nothing is installed. Logs go to $OUT (default /tmp/rcpu-gpu).
# Several GPUs (placement, issue 7): scripts/gpu_multigpu.sh [DEBS_DIR] (docs/placement.md).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/rcpu-gpu}
DEBS=${1:-.debs}
BUILD=${BUILD_DIR:-build-gpu}
mkdir -p "$OUT"

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.txt" 2>&1
cat "$OUT/gpu.txt"

echo "== build ($BUILD)"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DRCPU_WITH_CUDA=ON > "$OUT/build.log" 2>&1 &&
  cmake --build "$BUILD" -j"$(nproc)" >> "$OUT/build.log" 2>&1
rc=$?
tail -3 "$OUT/build.log"
[ $rc -eq 0 ] || { grep -E 'error|Error' "$OUT/build.log" | head -30; exit 1; }

echo "== gpu tests"
ctest --test-dir "$BUILD" -L gpu -j1 --output-on-failure > "$OUT/gpu-tests.log" 2>&1
gpu_rc=$?
tail -12 "$OUT/gpu-tests.log"

echo "== netlib testers, mode remote-cuda"
root=/tmp/rcpu-debs
rm -rf "$root" && mkdir -p "$root"
for f in "$DEBS"/*.deb; do dpkg -x "$f" "$root"; done
export RCPU_NETLIB_DIR="$root/usr/lib/x86_64-linux-gnu/blas"
python3 tests/netlib/run_netlib.py --build "$BUILD" --mode remote-cuda all > "$OUT/netlib-remote-cuda.log" 2>&1
netlib_rc=$?
grep -E 'PASS|FAIL|passed|failed|backends' "$OUT/netlib-remote-cuda.log" | tail -60
echo "gpu tests rc=$gpu_rc, netlib remote-cuda rc=$netlib_rc"
[ $gpu_rc -eq 0 ] && [ $netlib_rc -eq 0 ]
