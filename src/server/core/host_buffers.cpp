#include "server/core/host_buffers.h"

#include <algorithm>
#include <new>
#include <stdexcept>

namespace rcpu::server {

HostBufferPool::HostBufferPool(backend::Backend& be, MemoryBudget& budget, std::uint64_t keep_idle)
    : be_(be), budget_(budget), keep_idle_(keep_idle) {}

HostBufferPool::~HostBufferPool() {
  for (const Block& b : idle_) free_block(b);
}

void HostBufferPool::free_block(const Block& b) {
  if (!b.p) return;
  if (b.from_backend)
    be_.free_host(b.p, b.cap);
  else
    ::operator delete(b.p);
  budget_.release(b.cap);
}

std::uint64_t HostBufferPool::idle_bytes() const {
  std::lock_guard lock(mu_);
  return idle_bytes_;
}

std::optional<HostBufferPool::Block> HostBufferPool::take(std::uint64_t bytes) {
  bytes = std::max<std::uint64_t>(bytes, 1);
  std::vector<Block> to_free;
  bool reserved = false;
  {
    std::lock_guard lock(mu_);
    auto best = idle_.end();
    for (auto it = idle_.begin(); it != idle_.end(); ++it)
      if (it->cap >= bytes && (best == idle_.end() || it->cap < best->cap)) best = it;
    if (best != idle_.end()) {
      const Block b = *best;
      idle_.erase(best);
      idle_bytes_ -= b.cap;
      return b;
    }
    reserved = budget_.try_reserve(bytes);
    if (!reserved) {
      // Idle memory must never be why a call is refused.
      to_free.swap(idle_);
      idle_bytes_ = 0;
    }
  }
  if (!reserved) {
    for (const Block& b : to_free) free_block(b);
    if (!budget_.try_reserve(bytes)) return std::nullopt;
  }
  // Allocation happens outside the lock: page-locking gigabytes takes a while.
  Block b;
  b.cap = bytes;
  b.p = static_cast<std::uint8_t*>(be_.alloc_host(bytes));
  b.from_backend = b.p != nullptr;
  if (!b.p) b.p = static_cast<std::uint8_t*>(::operator new(bytes, std::nothrow));
  if (!b.p) {
    budget_.release(bytes);
    return std::nullopt;
  }
  return b;
}

void HostBufferPool::give(Block b) {
  if (!b.p) return;
  std::vector<Block> to_free;
  {
    std::lock_guard lock(mu_);
    idle_.push_back(b);
    idle_bytes_ += b.cap;
    // Oldest first out, but never the block just returned unless it alone is over the limit.
    while (idle_bytes_ > keep_idle_ && !idle_.empty()) {
      to_free.push_back(idle_.front());
      idle_bytes_ -= idle_.front().cap;
      idle_.erase(idle_.begin());
    }
  }
  for (const Block& x : to_free) free_block(x);
}

bool BufferCache::prepare(std::span<const std::uint64_t> need) {
  if (need.size() > kSlots) throw std::invalid_argument("BufferCache: more operands than slots");
  for (std::size_t i = 0; i < need.size(); ++i) {
    if (need[i] == 0 || buf_[i].cap >= need[i]) continue;
    pool_.give(buf_[i]);
    buf_[i] = {};
    std::optional<HostBufferPool::Block> b = pool_.take(need[i]);
    if (!b) {
      release();
      return false;
    }
    buf_[i] = *b;
  }
  return true;
}

void BufferCache::release() {
  for (auto& b : buf_) {
    pool_.give(b);
    b = {};
  }
}

}  // namespace rcpu::server
