#!/usr/bin/env bash
# The proof on a GPU machine (docs/gpu.md): build rcpu with the CUDA backend, run the gpu-labelled
# tests, then Debian's unmodified netlib BLAS testers through the shim in mode remote-cuda
# (client and `rcpud --backend cuda` on this machine, over loopback).
#
#   bash scripts/gpu_proof.sh [DEBS_DIR]
# DEBS_DIR holds libblas-test, libblas3 (and for LAPACK liblapack-test, liblapack3, libtmglib3) (.deb files, `apt-get download` on any Debian machine);
# they are unpacked with dpkg -x, nothing is installed. Logs go to $OUT (default /tmp/rcpu-gpu).
# Several GPUs (placement): scripts/gpu_multigpu.sh [DEBS_DIR] (docs/placement.md).
# STEPS picks what runs after the build (default: all of them, in this order):
#   gpu-tests netlib netlib-tls lapack lapack-tls lapack-bench fftw tls-cost
# (the -tls steps run the same testers with rcpud under --tls-cert; tls-cost is bench/run_tls_cost.py;
# LAPACK_RUNS names the runs of step lapack).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/rcpu-gpu}
DEBS=${1:-.debs}
BUILD=${BUILD_DIR:-build-gpu}
STEPS=" ${STEPS:-gpu-tests netlib netlib-tls lapack lapack-tls lapack-bench fftw tls-cost} "
step() { [[ "$STEPS" == *" $1 "* ]]; }
mkdir -p "$OUT"
gpu_rc=0 netlib_rc=0 lapack_rc=0 fftw_rc=0 tls_rc=0

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.txt" 2>&1
cat "$OUT/gpu.txt"

echo "== build ($BUILD)"
source scripts/gpu_openssl.sh
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DRCPU_WITH_CUDA=ON "${CMAKE_OPENSSL_ARGS[@]}" > "$OUT/build.log" 2>&1 &&
  cmake --build "$BUILD" -j"$(nproc)" >> "$OUT/build.log" 2>&1
rc=$?
tail -3 "$OUT/build.log"
[ $rc -eq 0 ] || { grep -E 'error|Error' "$OUT/build.log" | head -30; exit 1; }
# Every rcpud and client below shares the build's throw-away test key (docs/security.md).
export RCPU_KEY_FILE=${RCPU_KEY_FILE:-$PWD/$BUILD/test-key}

TLS_DIR=$PWD/$BUILD/test-tls  # the build's throw-away certificates (tests/tls/make_test_certs.sh)

if step gpu-tests; then
  echo "== gpu tests"
  ctest --test-dir "$BUILD" -L gpu -j1 --output-on-failure > "$OUT/gpu-tests.log" 2>&1
  gpu_rc=$?
  tail -12 "$OUT/gpu-tests.log"
  echo "== integration scenario tls against rcpud --backend cuda"
  RCPU_TEST_TLS_DIR=$TLS_DIR RCPU_ITEST_BACKEND=cuda timeout 300 python3 tests/integration/driver.py \
    --bin-dir "$BUILD/bin" tls > "$OUT/integration-tls-cuda.log" 2>&1 || gpu_rc=1
  tail -3 "$OUT/integration-tls-cuda.log"
fi

root=/tmp/rcpu-debs
rm -rf "$root" && mkdir -p "$root"
for f in "$DEBS"/*.deb; do dpkg -x "$f" "$root"; done
export RCPU_NETLIB_DIR="$root/usr/lib/x86_64-linux-gnu/blas"
for tls in "" "-tls"; do
  step "netlib$tls" || continue
  echo "== netlib testers, mode remote-cuda${tls:+ under TLS}"
  if [ -n "$tls" ]; then
    set -- --tls "$TLS_DIR" xblat3s xblat3d xblat3c xblat3z xscblat3 xdcblat3 xccblat3 xzcblat3
  else
    set -- all
  fi
  python3 tests/netlib/run_netlib.py --build "$BUILD" --mode remote-cuda "$@" > "$OUT/netlib-remote-cuda$tls.log" 2>&1 ||
    netlib_rc=1
  grep -E 'PASS|FAIL|passed|failed|backends' "$OUT/netlib-remote-cuda$tls.log" | tail -30
done

if [ -x "$root/usr/lib/x86_64-linux-gnu/lapack/xlintstd" ]; then
  export RCPU_LAPACK_TEST_DIR="$root/usr/lib/x86_64-linux-gnu/lapack"
  # libtmglib.so.3 of the testers; the shim dir still comes first (run_lapack.py prepends it).
  export LD_LIBRARY_PATH="$root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  if step lapack; then
    echo "== LAPACK testers, mode remote-cuda"
    python3 tests/lapack/run_lapack.py --build "$BUILD" --mode remote-cuda --work-dir "$OUT/lapack-work" \
      ${LAPACK_RUNS:-lin-d lin-z eig-d-sep,svd eig-z-sep,svd lin-s lin-c} > "$OUT/lapack-remote-cuda.log" 2>&1 || lapack_rc=1
    grep -E '^==|PASS|FAIL|offloaded|lapack \[' "$OUT/lapack-remote-cuda.log" | tail -60
  fi
  if step lapack-tls; then
    echo "== LAPACK LIN testers, mode remote-cuda under TLS"
    python3 tests/lapack/run_lapack.py --build "$BUILD" --mode remote-cuda --tls "$TLS_DIR" \
      --work-dir "$OUT/lapack-work-tls" lin-s lin-d lin-c lin-z > "$OUT/lapack-remote-cuda-tls.log" 2>&1 || lapack_rc=1
    grep -E '^==|PASS|FAIL|offloaded|lapack \[' "$OUT/lapack-remote-cuda-tls.log" | tail -30
  fi
elif step lapack || step lapack-tls; then
  echo "no LAPACK testers unpacked (needs liblapack-test liblapack3 libtmglib3 .debs in DEBS_DIR)"
  lapack_rc=1
fi

if step lapack-bench && [ "${RCPU_SKIP_LAPACK_BENCH:-0}" != 1 ]; then
  echo "== LAPACK solver benchmark (local OpenBLAS, all cores, vs rcpu -> rcpud --backend cuda)"
  python3 bench/run_lapack_bench.py --build "$BUILD" --out "$OUT/lapack-bench" > "$OUT/lapack-bench.log" 2>&1
  tail -40 "$OUT/lapack-bench.log"
fi

if step fftw; then
  echo "== FFTW through the shim, modes local, remote (cpu) and remote-cuda (cuFFT)"
  ctest --test-dir "$BUILD" -R '^fftw\.' -j1 --output-on-failure > "$OUT/fftw-tests.log" 2>&1
  fftw_rc=$?
  grep -E 'Test +#|trace:|agree|tests passed' "$OUT/fftw-tests.log" | tail -20
fi

if step tls-cost; then
  echo "== what TLS costs: DGEMM 8000, 16000 and FFT c2c 2^24, 8 connections, clear vs TLS (bench/run_tls_cost.py)"
  python3 bench/run_tls_cost.py --build "$BUILD" --out "$OUT/tls-cost" > "$OUT/tls-cost.log" 2>&1 || tls_rc=1
  tail -12 "$OUT/tls-cost.log"
fi
# The FFT benchmark (Figure 8, docs/performance.md "FFTs") is separate, ~15 minutes:
#   python3 bench/run_fft_bench.py --build "$BUILD" --out "$OUT/fft" --streams 8
#   python3 bench/plot_fft.py "$OUT/fft/fft_results.csv" "$OUT/fft"
echo "gpu tests rc=$gpu_rc, netlib remote-cuda rc=$netlib_rc, lapack remote-cuda rc=$lapack_rc, fftw rc=$fftw_rc, tls-cost rc=$tls_rc"
[ $gpu_rc -eq 0 ] && [ $netlib_rc -eq 0 ] && [ $lapack_rc -eq 0 ] && [ $fftw_rc -eq 0 ] && [ $tls_rc -eq 0 ]
