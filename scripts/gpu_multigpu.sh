#!/usr/bin/env bash
# Several GPUs (docs/placement.md): the placement layer over every GPU of the machine.
#   bash scripts/gpu_multigpu.sh [DEBS_DIR]
# 1. build with CUDA (BUILD_DIR, default build-gpu), 2. the gpu test cuda_placement (on one GPU it
# runs two backends sharing GPU 0), 3. the integration scenario multidev against every GPU,
# 4. Debian's netlib Level-3 testers in mode remote-cuda with every call split across all GPUs
# (needs DEBS_DIR as scripts/gpu_proof.sh), 5. bench/run_multigpu.py: DGEMM n = 16000, 32000 on
# 1, 2, 4 GPUs (those present), GPU side / stop-and-wait / tiled / NVBLAS with the same GPU list.
# Logs and results go to $OUT (default /tmp/rcpu-multigpu). SIZES=16000 shortens step 5.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/rcpu-multigpu}
DEBS=${1:-.debs}
BUILD=${BUILD_DIR:-build-gpu}
SIZES=${SIZES:-16000,32000}
mkdir -p "$OUT"
nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv > "$OUT/gpu.txt" 2>&1
cat "$OUT/gpu.txt"
NGPU=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ')
echo "GPUs: $NGPU"

echo "== build ($BUILD)"
source scripts/gpu_openssl.sh
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DRCPU_WITH_CUDA=ON "${CMAKE_OPENSSL_ARGS[@]}" > "$OUT/build.log" 2>&1 &&
  cmake --build "$BUILD" -j"$(nproc)" >> "$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
# Every rcpud and client below shares the build's throw-away test key (docs/security.md).
export RCPU_KEY_FILE=${RCPU_KEY_FILE:-$PWD/$BUILD/test-key}

echo "== cuda_placement"
ctest --test-dir "$BUILD" -R 'cuda_placement' --output-on-failure > "$OUT/cuda_placement.log" 2>&1
test_rc=$?
tail -15 "$OUT/cuda_placement.log"

echo "== integration multidev on every GPU"
RCPU_ITEST_BACKEND=cuda python3 tests/integration/driver.py --bin-dir "$BUILD/bin" multidev > "$OUT/multidev.log" 2>&1
itest_rc=$?
tail -8 "$OUT/multidev.log"

netlib_rc=0
if ls "$DEBS"/*.deb > /dev/null 2>&1; then
  echo "== netlib Level-3 testers, remote-cuda, every call split over $NGPU GPU(s)"
  root=/tmp/rcpu-debs
  rm -rf "$root" && mkdir -p "$root"
  for f in "$DEBS"/*.deb; do dpkg -x "$f" "$root"; done
  export RCPU_NETLIB_DIR="$root/usr/lib/x86_64-linux-gnu/blas"
  expect=()
  [ "$NGPU" -ge 2 ] && expect=(--expect-devices "$NGPU")
  python3 tests/netlib/run_netlib.py --build "$BUILD" --mode remote-cuda \
    --server-arg=--split-min-flops --server-arg=0 --server-arg=--split-min-cols --server-arg=1 "${expect[@]}" \
    xblat3s xblat3d xblat3c xblat3z xscblat3 xdcblat3 xccblat3 xzcblat3 > "$OUT/netlib-multigpu.log" 2>&1
  netlib_rc=$?
  grep -E 'PASS|FAIL|devices:|testers passed' "$OUT/netlib-multigpu.log" | tail -30
else
  echo "== netlib skipped: no .deb files in $DEBS (see scripts/gpu_proof.sh)"
fi

echo "== bench/run_multigpu.py (sizes $SIZES)"
python3 bench/run_multigpu.py --build "$BUILD" --out "$OUT/bench" --sizes "$SIZES" 2>&1 | tee "$OUT/bench.log" | \
  grep -vE '^ |^\{|^\}'
echo "cuda_placement rc=$test_rc, multidev rc=$itest_rc, netlib rc=$netlib_rc; results in $OUT"
[ $test_rc -eq 0 ] && [ $itest_rc -eq 0 ] && [ $netlib_rc -eq 0 ]
