#!/usr/bin/env bash
# The proof on a GPU machine (docs/gpu.md): build rcpu with the CUDA backend, run the gpu-labelled
# tests, then Debian's unmodified netlib BLAS testers through the shim in mode remote-cuda
# (client and `rcpud --backend cuda` on this machine, over loopback).
#
#   bash scripts/gpu_proof.sh [DEBS_DIR]
# DEBS_DIR holds libblas-test, libblas3 (and for LAPACK liblapack-test, liblapack3, libtmglib3) (.deb files, `apt-get download` on any Debian machine);
# they are unpacked with dpkg -x, nothing is installed. Logs go to $OUT (default /tmp/rcpu-gpu).
# Several GPUs (placement): scripts/gpu_multigpu.sh [DEBS_DIR] (docs/placement.md).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/rcpu-gpu}
DEBS=${1:-.debs}
BUILD=${BUILD_DIR:-build-gpu}
mkdir -p "$OUT"

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

echo "== LAPACK testers, mode remote-cuda (needs liblapack-test liblapack3 libtmglib3 .debs in DEBS_DIR)"
lapack_rc=0
if [ -x "$root/usr/lib/x86_64-linux-gnu/lapack/xlintstd" ]; then
  export RCPU_LAPACK_TEST_DIR="$root/usr/lib/x86_64-linux-gnu/lapack"
  # libtmglib.so.3 of the testers; the shim dir still comes first (run_lapack.py prepends it).
  export LD_LIBRARY_PATH="$root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  python3 tests/lapack/run_lapack.py --build "$BUILD" --mode remote-cuda --work-dir "$OUT/lapack-work" \
    lin-d lin-z eig-d-sep,svd eig-z-sep,svd lin-s lin-c > "$OUT/lapack-remote-cuda.log" 2>&1
  lapack_rc=$?
  grep -E '^==|PASS|FAIL|offloaded|lapack \[' "$OUT/lapack-remote-cuda.log" | tail -60
else
  echo "no LAPACK testers unpacked: skipped"
fi

echo "== LAPACK solver benchmark (local OpenBLAS, all cores, vs rcpu -> rcpud --backend cuda)"
if [ "${RCPU_SKIP_LAPACK_BENCH:-0}" != 1 ]; then
  python3 bench/run_lapack_bench.py --build "$BUILD" --out "$OUT/lapack-bench" > "$OUT/lapack-bench.log" 2>&1
  tail -40 "$OUT/lapack-bench.log"
fi

echo "== FFTW through the shim, modes local, remote (cpu) and remote-cuda (cuFFT)"
ctest --test-dir "$BUILD" -R '^fftw\.' -j1 --output-on-failure > "$OUT/fftw-tests.log" 2>&1
fftw_rc=$?
grep -E 'Test +#|trace:|agree|tests passed' "$OUT/fftw-tests.log" | tail -20
# The FFT benchmark (Figure 8, docs/performance.md "FFTs") is separate, ~15 minutes:
#   python3 bench/run_fft_bench.py --build "$BUILD" --out "$OUT/fft" --streams 8
#   python3 bench/plot_fft.py "$OUT/fft/fft_results.csv" "$OUT/fft"
echo "gpu tests rc=$gpu_rc, netlib remote-cuda rc=$netlib_rc, lapack remote-cuda rc=$lapack_rc, fftw rc=$fftw_rc"
[ $gpu_rc -eq 0 ] && [ $netlib_rc -eq 0 ] && [ $lapack_rc -eq 0 ] && [ $fftw_rc -eq 0 ]
