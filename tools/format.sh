#!/usr/bin/env bash
# Formats every C, C++ and CUDA source of the repository with the repository's .clang-format.
#   tools/format.sh          rewrite the files in place
#   tools/format.sh --check  list the files that differ from the style and exit 1 if any does
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.c' '*.h' '*.cpp' '*.cu' '*.cuh')
if [ "${1:-}" = "--check" ]; then
  bad=0
  for f in "${files[@]}"; do
    if ! clang-format --style=file "$f" | cmp -s - "$f"; then echo "format: $f"; bad=1; fi
  done
  exit $bad
fi
clang-format --style=file -i "${files[@]}"
