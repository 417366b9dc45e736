// One GPU's resources, owned by one CUDA backend object and shared by all of its calls (the
// Level-3 calls, streamed calls and LAPACK calls of every session), bound to its device:
// cudaSetDevice is called on every entry, since the current device is per host thread and rcpud
// serves each session on its own thread.
//   - a cuBLAS handle with a fixed 32 MiB workspace (so cuBLAS does not allocate per call), in
//     CUBLAS_DEFAULT_MATH (checked after setting it: no TF32 tensor-op math, no BF16x9 FP32
//     emulation, no fixed-point FP64 emulation) with scalars from host memory
//     (CUBLAS_POINTER_MODE_HOST);
//   - three non-blocking streams: h2d (host -> device copies), compute (cuBLAS), d2h (results);
//   - the device arena, the staging ring and a small pool of copy threads (device_memory.h,
//     copy_pool.h), and the receive ring's slots for tiled calls (tile_staging.h).
//
// Thread safety: `mu` serializes the calls (they share the arena, the staging slots and the
// streams). Several sessions therefore queue on one GPU; one backend per session or per stream set
// would lift that, at the cost of one arena each.
//
// Errors never abort: every CUDA/cuBLAS status is checked and turned into BackendError. After any
// failure the streams are drained and the arena is released (recover); an out-of-memory failure
// is retried once with an exactly sized arena (with_oom_retry). A sticky error (a kernel fault
// poisons the CUDA context) marks the device unusable: the backend's supports() then answers false
// so the server sends everything to the CPU backend, and every call throws at once.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "backends/cuda/copy_pool.h"
#include "backends/cuda/cuda_config.h"
#include "backends/cuda/cuda_util.h"
#include "backends/cuda/device_memory.h"
#include "backends/cuda/tile_staging.h"
#include "common/log.h"

namespace rcpu::backend::cuda {

struct Device {
  Device(int ordinal, Config cfg);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // Everything that can fail at start-up; the factory calls it, so a failure destroys the object
  // (and what init() created) through the destructor. Sets `description`.
  void init();

  // Throws when a sticky error made the device unusable.
  void check_usable() const;
  // Tiled calls may go through the receive ring: on, page-locked memory allowed, slots not refused.
  bool ring_enabled() const { return cfg.ring && cfg.pinned_staging && !rings_failed.load(); }
  // Whether `bytes` of arena can be had (this thread's device set): what it holds now, or what is
  // free beside it. Growing the arena frees the old one first, so its capacity counts as
  // available; a margin is kept for cuBLAS internals and other users of the device.
  bool fits(std::uint64_t bytes) const;
  // Allocates the staging ring for pageable host buffers unless it is there, not wanted
  // (RCPU_CUDA_STAGING=pageable) or could not be had before.
  void ensure_staging_ring();
  // Waits for all three streams; throws what failed on them.
  void sync_all(const std::string& routine);
  // After a failed call: drain the streams, detect a poisoned context, reset the pool.
  void recover(const std::string& routine);

  // Runs attempt(exact): first with the arena grown as usual (exact = false); after running out of
  // device memory, recover() (the arena is released), then, unless the device is lost, once more
  // with an exactly sized arena (exact = true). Any BackendError recovers the device before it
  // propagates. The caller holds `mu`.
  template <class F>
  auto with_oom_retry(const std::string& routine, F&& attempt) -> decltype(attempt(false)) {
    try {
      return attempt(false);
    } catch (const OutOfDeviceMemory& e) {
      recover(routine);
      if (broken.load()) throw;
      log::warn(std::string(e.what()) + "; retrying once after releasing the device pool, sized exactly");
      try {
        return attempt(true);
      } catch (const BackendError&) {
        recover(routine);
        throw;
      }
    } catch (const BackendError&) {
      recover(routine);
      throw;
    }
  }

  const int ordinal;
  const Config cfg;
  cudaDeviceProp prop{};
  std::string description;  // for Backend::description()

  std::mutex mu;  // serializes the calls: everything below is shared by them
  cublasHandle_t blas = nullptr;
  void* workspace = nullptr;
  cudaStream_t h2d = nullptr, compute = nullptr, d2h = nullptr;
  cudaEvent_t in_ready = nullptr, done[2] = {nullptr, nullptr};
  DeviceArena arena;
  StagingRing ring;
  bool pinned_failed = false;  // the staging ring could not be allocated: not tried again
  CopyPool copier;
  SlotRings rings;                        // tiled calls' receive/send slots, one call at a time
  std::atomic<bool> rings_failed{false};  // could not be allocated: not tried again
  int rings_logged = 0;                   // connections whose slots rcpud's log has announced

  std::atomic<bool> broken{false};
  std::string broken_reason;  // written once, before broken is set
};

}  // namespace rcpu::backend::cuda
