// The CUDA backend's tuning knobs, read once from the environment when a backend is made
// (docs/gpu.md lists them).
#pragma once

#include <cstddef>
#include <cstdint>

#include "backends/cuda/k_outer_plan.h"
#include "backends/cuda/plan.h"

namespace rcpu::backend::cuda {

inline constexpr std::uint64_t kMiB = std::uint64_t(1) << 20;

struct Config {
  bool pinned_staging = true;            // RCPU_CUDA_STAGING=pinned|pageable
  std::uint64_t slot_bytes = 32 * kMiB;  // RCPU_CUDA_STAGE_MB
  int slots = 4;                         // RCPU_CUDA_STAGE_SLOTS
  int copy_threads = 4;                  // RCPU_CUDA_COPY_THREADS
  PlanOptions plan;  // RCPU_CUDA_PIPELINE_STEPS -> max_steps, RCPU_CUDA_MIN_STEP_MB -> min_step_bytes
  // RCPU_CUDA_K_OUTER=0 turns the k-outer gemm schedule off (k_outer_plan.h);
  // RCPU_CUDA_FLOPS_PER_BYTE sets its balance (device flop rate / host->device copy rate).
  bool k_outer = true;
  KOuterOptions k_outer_plan;
  // RCPU_CUDA_PREFETCH=0: a streamed call copies A only when its first panel starts, not as the
  // network delivers it (StreamedCall::inputs_arrived) — for A/B measurements.
  bool prefetch = true;
  // Tiled calls' tiles through small page-locked slots per connection (tile_staging.h):
  // RCPU_CUDA_RING=0 turns it off (tiles then land in the server's whole-operand buffers),
  // RCPU_CUDA_RING_KB sets a slot's size, RCPU_CUDA_RING_SLOTS the slots per connection and direction.
  bool ring = true;
  std::size_t ring_slot_bytes = 1024 * 1024;
  int ring_slots = 3;

  static Config from_env();
};

}  // namespace rcpu::backend::cuda
