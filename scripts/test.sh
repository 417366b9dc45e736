#!/usr/bin/env bash
# Build rcpu and run its whole test suite (gpu-labelled tests report themselves skipped where no GPU
# answers). Exits non-zero on any failure. In order:
#   1. the tree's shape (tools/check_layout.py) and code style (tools/format.sh --check, where
#      clang-format is installed);
#   2. a smoke run of every libFuzzer target (tests/fuzz, tools/fuzz.sh): 60 s each, two at a time,
#      where clang++ with libFuzzer is installed (FUZZ=0 skips it; FUZZ_SECONDS=60 sets the time);
#   3. an AddressSanitizer + UndefinedBehaviorSanitizer build ($BUILD_DIR-asan, CPU backend only)
#      running the unit and integration tests (SANITIZE=0 skips it);
#   4. the build and the whole suite, in one CTest run whose closing summary counts every test.
# Both builds treat warnings as errors (WERROR=OFF turns that off, e.g. on a newer compiler).
#   BUILD_DIR=build  CMAKE_ARGS="..."  CTEST_PARALLEL=2  SANITIZE=1  FUZZ=1  FUZZ_SECONDS=60  WERROR=ON
#   (environment overrides)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=$(nproc 2>/dev/null || echo 2)
CTEST_PARALLEL=${CTEST_PARALLEL:-2}

bash scripts/setup.sh
# Tests run side by side on few cores: OpenBLAS's own worker threads (which spin while waiting)
# would oversubscribe them and slow everything many times over. Benchmarks never use this script.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
WERROR=${WERROR:-ON}
SANITIZE=${SANITIZE:-1}
FUZZ=${FUZZ:-1}
status=0

echo "== layout"
python3 tools/check_layout.py || status=1
if command -v clang-format >/dev/null 2>&1; then
  echo "== format"
  bash tools/format.sh --check || status=1
fi

# A crash, leak, hang or broken property of any decoder fails the run (tools/fuzz.sh prints which).
if [ "$FUZZ" != 0 ]; then
  probe=$(mktemp -d)
  echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' >"$probe/p.cpp"
  if command -v clang++ >/dev/null 2>&1 && clang++ -fsanitize=fuzzer "$probe/p.cpp" -o "$probe/p" 2>/dev/null; then
    echo "== fuzz: every libFuzzer target for ${FUZZ_SECONDS:-60} s, two at a time"
    FUZZ_BUILD_DIR="$BUILD_DIR-fuzz" FUZZ_RUNS=-1 FUZZ_SECONDS="${FUZZ_SECONDS:-60}" FUZZ_PARALLEL=2 \
      bash tools/fuzz.sh || status=1
  else
    echo "== fuzz: skipped (no clang++ with libFuzzer; scripts/setup.sh installs clang)"
  fi
  rm -rf "$probe"
fi

if [ "$SANITIZE" != 0 ]; then
  echo "== sanitizers: unit and integration tests under ASan + UBSan"
  # shellcheck disable=SC2086
  cmake -S . -B "$BUILD_DIR-asan" -DRCPU_SANITIZE=ON -DRCPU_WITH_CUDA=OFF \
        -DCMAKE_COMPILE_WARNING_AS_ERROR="$WERROR" ${CMAKE_ARGS:-}
  cmake --build "$BUILD_DIR-asan" -j"$JOBS" --target rcpu_unit_tests rcpud rcpu rcpu_itest_client rcpu_tiled_calls
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
  LSAN_OPTIONS=suppressions=$PWD/tests/sanitizers/lsan.supp \
    ctest --test-dir "$BUILD_DIR-asan" --output-on-failure -j"$CTEST_PARALLEL" -L 'unit|integration' || status=1
fi

# shellcheck disable=SC2086
cmake -S . -B "$BUILD_DIR" -DCMAKE_COMPILE_WARNING_AS_ERROR="$WERROR" ${CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -j"$JOBS"

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
