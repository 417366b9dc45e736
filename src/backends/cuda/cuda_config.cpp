#include "backends/cuda/cuda_config.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "backends/cuda/cuda_util.h"

namespace rcpu::backend::cuda {

Config Config::from_env() {
  Config c;
  if (const char* s = std::getenv("RCPU_CUDA_STAGING")) c.pinned_staging = std::strcmp(s, "pageable") != 0;
  c.slot_bytes = std::uint64_t(std::clamp(env_long("RCPU_CUDA_STAGE_MB", 32), 1L, 1024L)) * kMiB;
  c.slots = int(std::clamp(env_long("RCPU_CUDA_STAGE_SLOTS", 4), 2L, 64L));
  const long hw = long(std::max(1u, std::thread::hardware_concurrency()));
  c.copy_threads = int(std::clamp(env_long("RCPU_CUDA_COPY_THREADS", std::clamp(hw / 4, 1L, 8L)), 1L, 64L));
  c.plan.max_steps = int(std::clamp(env_long("RCPU_CUDA_PIPELINE_STEPS", 8), 1L, 256L));
  c.plan.min_step_bytes = std::uint64_t(std::clamp(env_long("RCPU_CUDA_MIN_STEP_MB", 64), 1L, 65536L)) * kMiB;
  c.k_outer = env_long("RCPU_CUDA_K_OUTER", 1) != 0;
  c.prefetch = env_long("RCPU_CUDA_PREFETCH", 1) != 0;
  c.ring = env_long("RCPU_CUDA_RING", 1) != 0;
  c.ring_slot_bytes = std::size_t(std::clamp(env_long("RCPU_CUDA_RING_KB", 1024), 16L, 65536L)) * 1024;
  c.ring_slots = int(std::clamp(env_long("RCPU_CUDA_RING_SLOTS", 3), 2L, 64L));
  c.k_outer_plan.flops_per_byte = double(std::clamp(env_long("RCPU_CUDA_FLOPS_PER_BYTE", 700), 1L, 1000000L));
  c.k_outer_plan.max_chunks = c.plan.max_steps;
  c.k_outer_plan.min_chunk_bytes = c.plan.min_step_bytes;  // one knob for both schedules' granularity
  return c;
}

}  // namespace rcpu::backend::cuda
