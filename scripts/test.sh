#!/usr/bin/env bash
# Build rcpu and run its whole test suite (gpu-labelled tests report themselves skipped where no GPU
# answers). Exits non-zero on any failure.
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
echo "== ctest"
# One run for the whole suite, so its closing summary counts every test. GPU tests run everywhere:
# without a GPU each exits 77 and CTest reports it as skipped (never as passed); they hold the
# resource lock "gpu", so they never run beside each other.
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$CTEST_PARALLEL" || status=1
if [ $status -ne 0 ]; then
  echo "test.sh: FAILED"
else
  echo "test.sh: all tests passed"
fi
exit $status
