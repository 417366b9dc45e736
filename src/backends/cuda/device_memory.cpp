#include "backends/cuda/device_memory.h"

#include "backends/cuda/cuda_config.h"
#include "backends/cuda/cuda_util.h"
#include "common/log.h"

namespace rcpu::backend::cuda {
namespace {

constexpr std::uint64_t kGranule = 256 * kMiB;  // arena growth step above 256 MiB

// Next arena size for `need` bytes: powers of two up to 256 MiB (at least 16 MiB), then multiples
// of 256 MiB, so a stream of slightly growing calls reallocates only a few times.
std::uint64_t arena_size_for(std::uint64_t need) {
  if (need <= kGranule) {
    std::uint64_t s = 16 * kMiB;
    while (s < need) s <<= 1;
    return s;
  }
  return (need + kGranule - 1) / kGranule * kGranule;
}

}  // namespace

bool is_page_locked(const void* p) {
  if (!p) return false;
  cudaPointerAttributes attr{};
  const cudaError_t e = cudaPointerGetAttributes(&attr, p);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  return attr.type == cudaMemoryTypeHost;
}

std::string device_memory_text(int device) {
  std::size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
    (void)cudaGetLastError();
    return "device " + std::to_string(device);
  }
  return "device " + std::to_string(device) + " has " + format_bytes(free_b) + " free of " + format_bytes(total_b);
}

// ---------------------------------------------------------------- DeviceArena

void DeviceArena::reserve(std::uint64_t need, bool exact, int device, const std::string& routine) {
  if (need <= capacity() && ptr_) return;
  release();  // cudaFree synchronizes the device; every call has finished its work by now
  std::uint64_t want = exact ? need : arena_size_for(need);
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, want);
  if (e == cudaErrorMemoryAllocation && want > need) {
    (void)cudaGetLastError();
    want = need;
    e = cudaMalloc(&p, want);
  }
  if (e == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    throw OutOfDeviceMemory("cuda: out of device memory allocating " + format_bytes(need) + " for " + routine + " (" +
                            device_memory_text(device) + ")");
  }
  check_cuda(e, device, "cudaMalloc of the device arena");
  ptr_ = p;
  cap_.store(want, std::memory_order_relaxed);
  log::debug("cuda: device " + std::to_string(device) + " arena now " + format_bytes(want) + " (for " + routine + ")");
}

void DeviceArena::release() {
  if (ptr_) (void)cudaFree(ptr_);
  (void)cudaGetLastError();
  ptr_ = nullptr;
  cap_.store(0, std::memory_order_relaxed);
}

// ---------------------------------------------------------------- StagingRing

bool StagingRing::allocate(int count, std::uint64_t bytes, std::string* why) {
  release();
  for (int i = 0; i < count; ++i) {
    Slot s;
    cudaError_t e = cudaHostAlloc(reinterpret_cast<void**>(&s.host), bytes, cudaHostAllocPortable);
    if (e == cudaSuccess) {
      e = cudaEventCreateWithFlags(&s.done, cudaEventDisableTiming);
      if (e != cudaSuccess) (void)cudaFreeHost(s.host);
    }
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      *why = cuda_error_text(e);
      release();
      return false;
    }
    slots_.push_back(s);
  }
  slot_bytes_ = bytes;
  next_ = 0;
  return true;
}

StagingRing::Slot& StagingRing::acquire(int device) {
  Slot& s = slots_[next_];
  next_ = (next_ + 1) % slots_.size();
  check_cuda(cudaEventSynchronize(s.done), device, "waiting for a staging slot");
  return s;
}

void StagingRing::release() {
  for (Slot& s : slots_) {
    if (s.done) {
      (void)cudaEventSynchronize(s.done);
      (void)cudaEventDestroy(s.done);
    }
    if (s.host) (void)cudaFreeHost(s.host);
  }
  (void)cudaGetLastError();
  slots_.clear();
}

// ---------------------------------------------------------------- PinnedHostBuffers

void* PinnedHostBuffers::alloc(std::size_t bytes, int device) {
  void* p = nullptr;
  if (cudaSetDevice(device) != cudaSuccess) {
    (void)cudaGetLastError();
    return nullptr;
  }
  if (cudaHostAlloc(&p, bytes, cudaHostAllocPortable) != cudaSuccess) {
    (void)cudaGetLastError();
    log::warn("cuda: cannot page-lock " + format_bytes(bytes) + " for receive buffers; using pageable memory");
    return nullptr;
  }
  std::lock_guard lock(mu_);
  pinned_.insert(p);
  return p;
}

bool PinnedHostBuffers::free(void* p) {
  {
    std::lock_guard lock(mu_);
    if (pinned_.erase(p) == 0) return false;
  }
  (void)cudaFreeHost(p);
  (void)cudaGetLastError();
  return true;
}

}  // namespace rcpu::backend::cuda
