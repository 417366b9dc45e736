// Operand buffers of the server, shared by all sessions. A call borrows its receive buffers from the
// pool and gives them back when it ends; idle buffers are kept for the next call of ANY session.
// Why server-wide: allocating (and page-faulting, and for the CUDA backend page-locking) gigabytes
// costs more than sending them, and a client's tiled call striped over several connections runs on
// whichever pooled connection comes first, so a per-session cache missed every other call (the
// "fast, slow, fast" pattern measured on the H100, docs/benchmarks.md).
// Everything held, idle or lent, is charged to the server's memory budget; idle buffers beyond
// `keep_idle` bytes are freed, and every idle buffer is freed before a reservation is refused.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "backends/backend.h"
#include "server/core/memory_budget.h"

namespace rcpu::server {

class HostBufferPool {
 public:
  struct Block {
    std::uint8_t* p = nullptr;
    std::uint64_t cap = 0;
    bool from_backend = false;  // alloc_host (pinned) rather than operator new
  };

  HostBufferPool(backend::Backend& be, MemoryBudget& budget, std::uint64_t keep_idle);
  ~HostBufferPool();
  HostBufferPool(const HostBufferPool&) = delete;
  HostBufferPool& operator=(const HostBufferPool&) = delete;

  // A block of at least `bytes`: the smallest idle one that fits, else a new one. Nothing when the
  // budget or the allocator says no even after every idle block was freed.
  std::optional<Block> take(std::uint64_t bytes);
  // Back to the idle list (or freed, past keep_idle).
  void give(Block b);
  std::uint64_t idle_bytes() const;

 private:
  void free_block(const Block& b);  // releases its budget too
  backend::Backend& be_;
  MemoryBudget& budget_;
  const std::uint64_t keep_idle_;
  mutable std::mutex mu_;
  std::vector<Block> idle_;  // oldest first
  std::uint64_t idle_bytes_ = 0;
};

// The buffers of one call of one session, by operand index (Level 3: A, B, C = 0, 1, 2), borrowed
// from the pool by prepare() and given back by release() (after every call, and when the session
// ends).
class BufferCache {
 public:
  // The most operands a call has (LAPACK's kMaxLapackOperands, common/lapack.h).
  static constexpr std::size_t kSlots = 6;

  explicit BufferCache(HostBufferPool& pool) : pool_(pool) {}
  ~BufferCache() { release(); }
  BufferCache(const BufferCache&) = delete;
  BufferCache& operator=(const BufferCache&) = delete;

  // Makes buffer i hold at least need[i] bytes (0: no buffer), for need.size() <= kSlots; false
  // when memory is refused (the cache is then empty).
  bool prepare(std::span<const std::uint64_t> need);
  std::uint8_t* get(std::size_t i) const { return buf_.at(i).p; }
  // The call is over: the buffers go back to the pool for whichever call comes next.
  void release();

 private:
  HostBufferPool& pool_;
  std::array<HostBufferPool::Block, kSlots> buf_{};
};

}  // namespace rcpu::server
