#!/usr/bin/env bash
# Does the GPU's DMA slow loopback TCP? (docs/performance.md, "What we learned".) On the GPU machine, from the
# repository root: bash bench/probes/dma_vs_loopback.sh [OUT_DIR]
# Builds rcpu-netbench and dma_probe on the spot (g++, nvcc), prints the DMA rates alone, then
# rcpu-netbench over 8 streams, with operand-sized and with cache-resident buffers, alone and next
# to a DMA load that copies host<->GPU at full speed (H2D, D2H, both).
set -uo pipefail
out=${1:-/tmp/rcpu-dma-probe}; mkdir -p "$out"
tmp=$(mktemp -d)
g++ -O2 -std=c++20 -Isrc -o "$tmp/nb" src/netbench/rcpu_netbench.cpp src/transport/*.cpp -lpthread || exit 1
nvcc -O2 -o "$tmp/dma" bench/probes/dma_probe.cu || exit 1
{
"$tmp/dma" h2d 256 2; "$tmp/dma" d2h 256 2
for cond in none h2d d2h both none; do
  pids=""
  if [ $cond = h2d ] || [ $cond = both ]; then "$tmp/dma" h2d 256 7 & pids="$pids $!"; fi
  if [ $cond = d2h ] || [ $cond = both ]; then "$tmp/dma" d2h 256 7 & pids="$pids $!"; fi
  sleep 1
  echo "== DMA load: $cond"
  "$tmp/nb" --streams 8 --mib 1024 --operands --reps 3 --json
  "$tmp/nb" --streams 8 --mib 1024 --reps 3 --json
  [ -n "$pids" ] && wait $pids
done
} 2>&1 | tee "$out/probe.log"
rm -rf "$tmp"
