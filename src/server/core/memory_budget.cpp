#include "server/core/memory_budget.h"

#include "server/core/machine_memory.h"

namespace rcpu::server {

std::uint64_t MemoryBudget::default_limit() { return usable_memory_bytes() / 4 * 3; }

bool MemoryBudget::try_reserve(std::uint64_t bytes) {
  std::lock_guard lock(mu_);
  if (bytes > limit_ || used_ > limit_ - bytes) return false;
  used_ += bytes;
  return true;
}

void MemoryBudget::release(std::uint64_t bytes) {
  std::lock_guard lock(mu_);
  used_ -= bytes;
}

}  // namespace rcpu::server
