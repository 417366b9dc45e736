#include "backends/cuda/copy_pool.h"

#include <algorithm>
#include <cstring>

namespace rcpu::backend::cuda {

CopyPool::CopyPool(int threads) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker(i); });
}

CopyPool::~CopyPool() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void CopyPool::copy(void* dst, const void* src, std::size_t n) {
  if (n == 0) return;
  const std::size_t max_parts = std::max<std::size_t>(1, n / min_part);
  const int parts = int(std::min<std::size_t>(std::size_t(threads()), max_parts));
  if (parts == 1) {
    std::memcpy(dst, src, n);
    return;
  }
  std::lock_guard call(call_mu_);
  // Parts are multiples of 4 KiB so no two threads write the same cache line or page.
  const std::size_t per = (n + std::size_t(parts) - 1) / std::size_t(parts);  // ceil: parts cover n
  const std::size_t part = (per + 4095) / 4096 * 4096;
  {
    std::lock_guard lock(mu_);
    dst_ = static_cast<char*>(dst);
    src_ = static_cast<const char*>(src);
    n_ = n;
    part_ = part;
    parts_ = parts;
    pending_ = parts - 1;
    ++generation_;
  }
  work_cv_.notify_all();
  std::memcpy(dst, src, std::min(part, n));  // part 0 on the calling thread
  std::unique_lock lock(mu_);
  done_cv_.wait(lock, [this] { return pending_ == 0; });
}

void CopyPool::worker(int index) {
  std::uint64_t seen = 0;
  for (;;) {
    std::unique_lock lock(mu_);
    work_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    if (index >= parts_) continue;  // not needed for this copy
    char* dst = dst_;
    const char* src = src_;
    const std::size_t begin = std::min(n_, part_ * std::size_t(index));
    const std::size_t end = std::min(n_, begin + part_);
    lock.unlock();
    if (end > begin) std::memcpy(dst + begin, src + begin, end - begin);
    lock.lock();
    if (--pending_ == 0) done_cv_.notify_one();
  }
}

}  // namespace rcpu::backend::cuda
