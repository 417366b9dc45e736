#include "server/core/memory_budget.h"

#include <unistd.h>

namespace rcpu::server {

std::uint64_t MemoryBudget::default_limit() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return 8ull << 30;
  return std::uint64_t(pages) * std::uint64_t(page) / 4 * 3;
}

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
