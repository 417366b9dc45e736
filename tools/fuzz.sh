#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan, its own build folder) and runs
# each on its committed corpus (tests/fuzz/corpus/<target>, never modified) plus a scratch corpus
# ($FUZZ_BUILD_DIR/fuzz-corpus/<target>, kept between runs). Prints per target the executions done
# and whether it crashed; exits 1 if any target crashed, leaked, hung or broke its property (the
# reproducer lands in $FUZZ_BUILD_DIR/fuzz-artifacts/). docs/security.md, "Fuzzing".
#   tools/fuzz.sh [TARGET...]        all targets when none is named (fuzz_frame_header, ...)
#   tools/fuzz.sh --write-seeds      rewrite tests/fuzz/corpus from the protocol's encoders
# Environment:
#   FUZZ_RUNS=10000000   executions per target (-1: no limit; then set FUZZ_SECONDS)
#   FUZZ_SECONDS=        stop each target after this many seconds (-max_total_time)
#   FUZZ_PARALLEL=1      targets run at the same time
#   FUZZ_BUILD_DIR=build-fuzz-tool   CC=clang  CXX=clang++
#   FUZZ_NO_BUILD=1      run the binaries already in $FUZZ_BUILD_DIR/bin (another machine)
set -euo pipefail
cd "$(dirname "$0")/.."
ALL_TARGETS=(fuzz_frame_header fuzz_messages fuzz_level3_request fuzz_lapack_request fuzz_fft_request fuzz_tiling
             fuzz_server_handshake fuzz_client_handshake)
RUNS=${FUZZ_RUNS:-10000000}
SECONDS_LIMIT=${FUZZ_SECONDS:-}
PARALLEL=${FUZZ_PARALLEL:-1}
BUILD=${FUZZ_BUILD_DIR:-build-fuzz-tool}
JOBS=$(nproc 2>/dev/null || echo 2)

write_seeds=0
targets=()
for a in "$@"; do
  case "$a" in
    --write-seeds) write_seeds=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) targets+=("$a") ;;
  esac
done
[ ${#targets[@]} -eq 0 ] && targets=("${ALL_TARGETS[@]}")

if [ "${FUZZ_NO_BUILD:-0}" = 0 ]; then
  cmake -S . -B "$BUILD" -DRCPU_FUZZ=ON -DRCPU_WITH_CUDA=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_C_COMPILER="${CC:-clang}" -DCMAKE_CXX_COMPILER="${CXX:-clang++}" >/dev/null
  if [ $write_seeds = 1 ]; then
    cmake --build "$BUILD" -j"$JOBS" --target fuzz_write_seeds
    rm -rf tests/fuzz/corpus
    "$BUILD/bin/fuzz_write_seeds" tests/fuzz/corpus
    echo "fuzz.sh: seeds written to tests/fuzz/corpus"
    exit 0
  fi
  cmake --build "$BUILD" -j"$JOBS" --target "${targets[@]}"
fi

mkdir -p "$BUILD/fuzz-logs" "$BUILD/fuzz-artifacts"
run_one() {  # run_one TARGET: fuzz it, log to fuzz-logs/TARGET.log, exit status = libFuzzer's
  local t=$1 scratch="$BUILD/fuzz-corpus/$1"
  mkdir -p "$scratch"
  local args=(-runs="$RUNS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
              -artifact_prefix="$BUILD/fuzz-artifacts/$t-")
  [ -n "$SECONDS_LIMIT" ] && args+=(-max_total_time="$SECONDS_LIMIT")
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$BUILD/bin/$t" "${args[@]}" "$scratch" "tests/fuzz/corpus/$t" >"$BUILD/fuzz-logs/$t.log" 2>&1
}

start=$(date +%s)
declare -A rc
pending=("${targets[@]}")
while [ ${#pending[@]} -gt 0 ]; do
  batch=("${pending[@]:0:$PARALLEL}")
  pending=("${pending[@]:$PARALLEL}")
  declare -A pid=()
  for t in "${batch[@]}"; do
    echo "fuzz.sh: $t (runs $RUNS${SECONDS_LIMIT:+, at most ${SECONDS_LIMIT} s})"
    run_one "$t" & pid[$t]=$!
  done
  for t in "${batch[@]}"; do
    if wait "${pid[$t]}"; then rc[$t]=0; else rc[$t]=$?; fi
  done
done

status=0
printf '%-24s %14s %8s  %s\n' target executions seconds result
for t in "${targets[@]}"; do
  log="$BUILD/fuzz-logs/$t.log"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  if [ "${rc[$t]}" = 0 ]; then
    result="ok"
  else
    status=1
    result="CRASH (exit ${rc[$t]}): $(grep -m1 -E 'ERROR:|runtime error|property violated|SUMMARY' "$log" || true)"
    result="$result; log $log; $(grep -m1 -o 'Test unit written to .*' "$log" || true)"
  fi
  printf '%-24s %14s %8s  %s\n' "$t" "${execs:-?}" "${secs:-?}" "$result"
done
echo "fuzz.sh: $(( $(date +%s) - start )) s in all"
exit $status
