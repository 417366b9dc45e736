#!/usr/bin/env bash
# Install what rcpu needs to build and test, and only what is missing.
# Idempotent and non-interactive.  apt-get runs only when something is missing (one `apt-get update`
# first); where nothing is missing it never touches apt, so it also runs on machines without apt or
# network (the GPU machine), provided everything is already there.
#
# PACKAGES: one line per need:  <debian package>[|<alternative>...]  [probe command]
#   The need is met when dpkg-query reports any of the packages installed, or (machines where
#   things come from elsewhere) when the probe command succeeds.  The first package is installed.
#   Add lines here; keep probes cheap and quiet.
PACKAGES='
cmake                  command -v cmake
g++                    command -v g++
make                   command -v make
python3                command -v python3
pkg-config|pkgconf     command -v pkg-config
binutils               command -v nm
libopenblas-dev|libopenblas-pthread-dev|libopenblas-openmp-dev|libopenblas-serial-dev   have_lib openblas
libgtest-dev           test -e /usr/include/gtest/gtest.h
libblas3               test -e "$REFERENCE_BLAS"
libblas-test           test -x "$NETLIB_DIR/xblat3d"
liblapack3             test -e "$REFERENCE_LAPACK"
liblapack-dev          have_lib lapack
liblapack-test         test -x "$LAPACK_TEST_DIR/xlintstd"
libfftw3-dev           test -e /usr/include/fftw3.h
libssl-dev             test -e /usr/include/openssl/ssl.h
openssl                command -v openssl
libmunge-dev           test -e /usr/include/munge.h
munge                  command -v munged
python3-pyfftw         /usr/bin/python3 -c "import pyfftw"
libfftw3-mpi-dev       test -e /usr/include/fftw3-mpi.h
libfftw3-bin           command -v fftw-wisdom
libopenmpi-dev         test -e /usr/lib/$MULTIARCH/openmpi/include/mpi.h
openmpi-bin            command -v mpiexec
octave                 command -v octave-cli
python3-numpy          /usr/bin/python3 -c "import numpy"
python3-pytest         /usr/bin/python3 -c "import pytest"
clang-format           command -v clang-format
clang                  command -v clang++
libclang-rt-dev        test -e "$(clang++ -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null)"
'
# Environment:
#   RCPU_NETLIB_DIR          where the netlib BLAS testers are (default /usr/lib/<multiarch>/blas);
#                            on the GPU machine point it at the dpkg -x prefix
#   RCPU_REFERENCE_BLAS      reference libblas.so.3 (default /usr/lib/<multiarch>/blas/libblas.so.3)
#   RCPU_LAPACK_TEST_DIR     where the LAPACK testers are (default /usr/lib/<multiarch>/lapack)
#   RCPU_REFERENCE_LAPACK    reference liblapack.so.3 (default /usr/lib/<multiarch>/lapack/liblapack.so.3)
#   CI=true                  a need that cannot be met is an error (elsewhere: a warning)
set -euo pipefail

MULTIARCH=$( (gcc -print-multiarch || dpkg-architecture -qDEB_HOST_MULTIARCH) 2>/dev/null || true)
MULTIARCH=${MULTIARCH:-x86_64-linux-gnu}
NETLIB_DIR=${RCPU_NETLIB_DIR:-/usr/lib/$MULTIARCH/blas}
REFERENCE_BLAS=${RCPU_REFERENCE_BLAS:-/usr/lib/$MULTIARCH/blas/libblas.so.3}
LAPACK_TEST_DIR=${RCPU_LAPACK_TEST_DIR:-/usr/lib/$MULTIARCH/lapack}
REFERENCE_LAPACK=${RCPU_REFERENCE_LAPACK:-/usr/lib/$MULTIARCH/lapack/liblapack.so.3}

have_lib() {  # have_lib NAME: a linkable libNAME.so in the usual places
  local d
  for d in "/usr/lib/$MULTIARCH" /usr/lib64 /usr/lib /usr/local/lib /usr/lib/"$MULTIARCH"/openblas-pthread; do
    [ -e "$d/lib$1.so" ] && return 0
  done
  ldconfig -p 2>/dev/null | grep -q "lib$1\.so "
}

dpkg_installed() {  # dpkg_installed PKG: the package is installed (not just known)
  command -v dpkg-query >/dev/null 2>&1 || return 1
  [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null | cut -c1-2)" = "ii" ]
}

missing=()
while read -r alts probe; do
  if [ -z "$alts" ]; then continue; fi
  met=no
  IFS='|' read -r -a names <<<"$alts"
  for p in "${names[@]}"; do
    if dpkg_installed "$p"; then met=yes; break; fi
  done
  if [ $met = no ] && [ -n "$probe" ] && eval "$probe" >/dev/null 2>&1; then met=yes; fi
  if [ $met = no ]; then missing+=("${names[0]}"); fi
done <<<"$PACKAGES"

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup.sh: all dependencies present"
  exit 0
fi

echo "setup.sh: missing: ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup.sh: apt-get is not available here; install these by other means" \
       "(netlib testers: unpack the .debs with dpkg -x and set RCPU_NETLIB_DIR / RCPU_REFERENCE_BLAS)" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  exit 0
fi
SUDO=
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
  command -v sudo >/dev/null 2>&1 || { echo "setup.sh: not root and no sudo: cannot install ${missing[*]}" >&2; exit 1; }
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "setup.sh: installed ${missing[*]}"
