// A few host threads that split one large memcpy between them. The CUDA backend copies every
// operand between the server's (pageable) buffers and its pinned staging slots; one core copies
// only a few GB/s (a single thread's memcpy measured about 3 GB/s on the H100 host), far below what
// the PCIe/NVLink DMA moves (54.7 GB/s from pinned memory), so the staging copy is split across
// threads. Plain C++, no CUDA.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace rcpu::backend::cuda {

class CopyPool {
 public:
  // `threads` copies run at once, the calling thread included (1 = plain memcpy, no workers).
  explicit CopyPool(int threads);
  ~CopyPool();
  CopyPool(const CopyPool&) = delete;
  CopyPool& operator=(const CopyPool&) = delete;

  int threads() const { return int(workers_.size()) + 1; }

  // memcpy(dst, src, n), split into parts of at least min_part bytes. The calls are serialized.
  void copy(void* dst, const void* src, std::size_t n);

  static constexpr std::size_t min_part = std::size_t(1) << 20;

 private:
  void worker(int index);

  std::mutex call_mu_;  // one copy() at a time
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::uint64_t generation_ = 0;
  bool stop_ = false;
  int parts_ = 0, pending_ = 0;
  char* dst_ = nullptr;
  const char* src_ = nullptr;
  std::size_t n_ = 0, part_ = 0;
  std::vector<std::thread> workers_;
};

}  // namespace rcpu::backend::cuda
