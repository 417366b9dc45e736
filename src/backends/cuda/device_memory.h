// The CUDA backend's memory, device and host:
//   - DeviceArena: ONE device allocation holding A, B and C of the current call at 256-byte
//     aligned offsets (plan.h). It only grows: to the next power of two up to 256 MiB, then in
//     multiples of 256 MiB. Growing frees the old arena first (no data has to survive between
//     calls), then allocates; when the rounded size does not fit, it retries with the exact size.
//     No cudaMalloc/cudaFree happens on a call whose operands fit in the arena.
//   - StagingRing: page-locked staging slots (cudaHostAlloc, default 4 x 32 MiB, allocated at the
//     first call) through which pageable host buffers are copied, used round robin.
//   - PinnedHostBuffers: the page-locked receive buffers the backend hands the server
//     (Backend::alloc_host), so their copies to and from the device are direct DMA.
#pragma once

#include <cuda_runtime.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace rcpu::backend::cuda {

// Whether `p` is page-locked host memory (cudaHostAlloc'ed: copied by DMA directly).
bool is_page_locked(const void* p);

// "device 0 has 70.1 GiB free of 79.1 GiB", for out-of-memory messages (this thread's device).
std::string device_memory_text(int device);

// The device pool: one growing allocation, reused by every call (see the file comment).
class DeviceArena {
 public:
  DeviceArena() = default;
  DeviceArena(const DeviceArena&) = delete;
  DeviceArena& operator=(const DeviceArena&) = delete;
  ~DeviceArena() { release(); }

  char* data() const { return static_cast<char*>(ptr_); }
  std::uint64_t capacity() const { return cap_.load(std::memory_order_relaxed); }

  // Capacity >= need afterwards, or throws (OutOfDeviceMemory / BackendError) with an empty arena.
  // `exact`: allocate exactly `need` bytes, not the rounded size.
  void reserve(std::uint64_t need, bool exact, int device, const std::string& routine);
  void release();

 private:
  void* ptr_ = nullptr;
  std::atomic<std::uint64_t> cap_{0};
};

// Pinned host staging slots, used round-robin; each slot's event marks the end of the last DMA
// that reads or writes it.
class StagingRing {
 public:
  struct Slot {
    char* host = nullptr;
    cudaEvent_t done = nullptr;
  };

  StagingRing() = default;
  StagingRing(const StagingRing&) = delete;
  StagingRing& operator=(const StagingRing&) = delete;
  ~StagingRing() { release(); }

  bool ready() const { return !slots_.empty(); }
  std::uint64_t slot_bytes() const { return slot_bytes_; }

  // Allocates the slots; false (and nothing held) when pinned memory is not available.
  bool allocate(int count, std::uint64_t bytes, std::string* why);
  // The next slot, once its previous DMA has finished.
  Slot& acquire(int device);
  void release();

 private:
  std::vector<Slot> slots_;
  std::size_t next_ = 0;
  std::uint64_t slot_bytes_ = 0;
};

// Page-locked receive buffers for the server (Backend::alloc_host). Thread-safe: every session
// thread allocates its own.
class PinnedHostBuffers {
 public:
  PinnedHostBuffers() = default;
  PinnedHostBuffers(const PinnedHostBuffers&) = delete;
  PinnedHostBuffers& operator=(const PinnedHostBuffers&) = delete;

  // Page-locked memory on `device`, or null (the caller then uses pageable memory).
  void* alloc(std::size_t bytes, int device);
  // Frees `p` when alloc returned it; false for any other pointer.
  bool free(void* p);

 private:
  std::mutex mu_;
  std::set<void*> pinned_;  // buffers handed out by alloc
};

}  // namespace rcpu::backend::cuda
