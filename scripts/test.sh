#!/usr/bin/env bash
# Build rcpu and run its test suite: everything but the gpu label, then the gpu-labelled tests
# when a GPU answers (nvidia-smi -L).  Exits non-zero on any failure.
#   BUILD_DIR=build  CMAKE_ARGS="..."  CTEST_PARALLEL=2  (environment overrides)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=$(nproc 2>/dev/null || echo 2)
CTEST_PARALLEL=${CTEST_PARALLEL:-2}

bash scripts/setup.sh
# Tests run side by side on few cores: OpenBLAS's own worker threads (which spin while waiting)
# would oversubscribe them and slow everything many times over. Benchmarks never use this script.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
# shellcheck disable=SC2086
cmake -S . -B "$BUILD_DIR" ${CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -j"$JOBS"

status=0
echo "== ctest (all but gpu)"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$CTEST_PARALLEL" -LE gpu || status=1
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "== ctest (gpu)"
  # "No tests were found" is not a failure: gpu tests exist only with the CUDA options on.
  ctest --test-dir "$BUILD_DIR" --output-on-failure -j1 -L gpu --no-tests=ignore || status=1
else
  echo "== no GPU (nvidia-smi -L failed): gpu-labelled tests not run"
fi
if [ $status -ne 0 ]; then
  echo "test.sh: FAILED"
else
  echo "test.sh: all tests passed"
fi
exit $status
