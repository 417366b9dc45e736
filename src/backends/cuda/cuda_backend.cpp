// The CUDA backend: Level-3 BLAS (all 9 families x s/d/c/z) on one GPU through cuBLAS.
//
// Exact arithmetic: the cuBLAS handle runs in CUBLAS_DEFAULT_MATH (checked after setting it), so no
// TF32 tensor-op math, no BF16x9 FP32 emulation and no fixed-point FP64 emulation; scalars are
// passed from host memory (CUBLAS_POINTER_MODE_HOST).
//
// Resources, all owned by one backend object and bound to its device (cudaSetDevice is called on
// every entry, since the current device is per host thread and rcpud serves each session on its
// own thread):
//   - a cuBLAS handle with a fixed 32 MiB workspace (so cuBLAS does not allocate per call);
//   - three non-blocking streams: h2d (host -> device copies), compute (cuBLAS), d2h (results);
//   - a device arena: ONE allocation holding A, B and C of the current call at 256-byte aligned
//     offsets (plan.h). It only grows: to the next power of two up to 256 MiB, then in multiples of
//     256 MiB. Growing frees the old arena first (no data has to survive between calls), then
//     allocates; when the rounded size does not fit, it retries with the exact size. No
//     cudaMalloc/cudaFree happens on a call whose operands fit in the arena;
//   - a ring of pinned staging slots (cudaHostAlloc, default 4 x 32 MiB, allocated at the first
//     call) and a small pool of copy threads (copy_pool.h).
//
// One call (see plan.h for how it is cut into column blocks):
//   1. upload the prologue operands, then for each step j:
//        upload step j's input blocks (h2d stream), record in_ready; the compute stream waits for
//        in_ready and runs the cuBLAS call for block j, then records done[j];
//        then drain step j-1: the d2h stream waits for done[j-1] and copies block j-1 back.
//      so the GPU computes block j while the host stages block j+1 in and block j-1 out, and the
//      copy engines (one per direction on H100) move data both ways at once.
//   2. An upload of a pageable host range goes chunk by chunk: wait until the next slot's previous
//      DMA is done (its event), memcpy the chunk into the slot (split across the copy threads),
//      queue its cudaMemcpyAsync on h2d and record the slot's event. The memcpy of chunk i+1
//      therefore overlaps the DMA of chunk i. A download queues the DMA of chunk i+1 into a slot
//      before copying chunk i out of its slot to the server's buffer.
//   3. Host buffers that are already page-locked (cudaPointerGetAttributes says cudaMemoryTypeHost:
//      a server that receives into cudaHostAlloc'ed memory) are copied by DMA directly, with no
//      staging copy; so is everything when RCPU_CUDA_STAGING=pageable (the driver then stages).
//   4. When beta == 0, C is never sent: its device copy is zeroed (cudaMemsetAsync) so the triangle a
//      rank-k update does not write comes back as zeros, like the server's own zero-fill.
//   5. All three streams are synchronized before level3() returns, successful or not, so no DMA
//      touches the caller's buffers after the call.
//
// Streamed calls (begin_streamed, tiled requests; see backend.h and protocol/tiling.h): the server
// hands in output panels in column order as their inputs arrive from the network. The call holds
// the backend's mutex from begin_streamed until it is destroyed (both on the session thread), owns
// the arena for its whole life, uploads A (and B when every panel needs all of it) once, before
// the first panel, and then per panel: the panel's columns of B and C up (h2d), cuBLAS on the
// panel (compute, after an event), the panel's result down (d2h, after an event), and waits for
// it. So A crosses PCIe once, and the GPU work of panel j overlaps the network transfer of panel
// j+1 (done by the server's other thread); overlapping H2D of tiles with the GPU work of the
// previous panel is left for later (it matters little: PCIe moves ~50 GB/s, the link ~3-25 GB/s).
// The server's receive buffers come from alloc_host: pinned (cudaHostAlloc) unless
// RCPU_CUDA_STAGING=pageable, so every copy is a direct DMA with no staging memcpy. By default a
// tiled call takes none of those buffers: the server hands it the receive ring instead
// (StreamedCall::tile_staging, tile_staging.h), through which each piece of a tile goes from the
// socket to the device operand and each piece of a result from the device to the socket; the
// panels are then queued without copies of their own.
//
// Thread safety: one mutex per backend serializes level3() calls (they share the arena, the
// staging slots and the streams). Several sessions therefore queue on one GPU; creating one backend
// per session or per stream set would lift that, at the cost of one arena each. supports() and
// description() do not take the mutex.
//
// Errors never abort: every CUDA/cuBLAS status is checked and turned into BackendError. After any
// failure the streams are drained and the arena is released ("reset the pool"); an out-of-memory
// failure is retried once with an exactly sized arena. A sticky error (a kernel fault poisons the
// CUDA context) marks the backend unusable: supports() then answers false so the server sends
// everything to the CPU backend, and level3() throws at once.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "backends/cuda/copy_pool.h"
#include "backends/cuda/cublas_call.h"
#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/cuda_util.h"
#include "backends/cuda/cufft_ops.h"
#include "backends/cuda/cusolver_lapack.h"
#include "backends/cuda/k_outer_plan.h"
#include "backends/cuda/plan.h"
#include "backends/cuda/tile_staging.h"
#include "backends/registry.h"
#include "common/log.h"

namespace rcpu::backend {
namespace cuda {
namespace {

constexpr std::uint64_t kMiB = std::uint64_t(1) << 20;
constexpr std::uint64_t kGranule = 256 * kMiB;        // arena growth step above 256 MiB
constexpr std::uint64_t kWorkspaceBytes = 32 * kMiB;  // cuBLAS workspace (NVIDIA's advice for Hopper)

// Tuning knobs, read once from the environment when the backend is made (docs/gpu.md).
struct Config {
  bool pinned_staging = true;            // RCPU_CUDA_STAGING=pinned|pageable
  std::uint64_t slot_bytes = 32 * kMiB;  // RCPU_CUDA_STAGE_MB
  int slots = 4;                         // RCPU_CUDA_STAGE_SLOTS
  int copy_threads = 4;                  // RCPU_CUDA_COPY_THREADS
  PlanOptions plan;  // RCPU_CUDA_PIPELINE_STEPS -> max_steps, RCPU_CUDA_MIN_STEP_MB -> min_step_bytes
  // RCPU_CUDA_K_OUTER=0 turns the k-outer gemm schedule off (k_outer_plan.h);
  // RCPU_CUDA_FLOPS_PER_BYTE sets its balance (device flop rate / host->device copy rate).
  bool k_outer = true;
  KOuterOptions k_outer_plan;
  // RCPU_CUDA_PREFETCH=0: a streamed call copies A only when its first panel starts, not as the
  // network delivers it (StreamedCall::inputs_arrived) — for A/B measurements.
  bool prefetch = true;
  // Tiled calls' tiles through small page-locked slots per connection (tile_staging.h):
  // RCPU_CUDA_RING=0 turns it off (tiles then land in the server's whole-operand buffers),
  // RCPU_CUDA_RING_KB sets a slot's size, RCPU_CUDA_RING_SLOTS the slots per connection and direction.
  bool ring = true;
  std::size_t ring_slot_bytes = 1024 * 1024;
  int ring_slots = 3;

  static Config from_env() {
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
};

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

std::string device_memory_text(int device) {
  std::size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
    (void)cudaGetLastError();
    return "device " + std::to_string(device);
  }
  return "device " + std::to_string(device) + " has " + format_bytes(free_b) + " free of " + format_bytes(total_b);
}

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
  void reserve(std::uint64_t need, bool exact, int device, const std::string& routine) {
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
    log::debug("cuda: device " + std::to_string(device) + " arena now " + format_bytes(want) + " (for " + routine +
               ")");
  }

  void release() {
    if (ptr_) (void)cudaFree(ptr_);
    (void)cudaGetLastError();
    ptr_ = nullptr;
    cap_.store(0, std::memory_order_relaxed);
  }

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
  bool allocate(int count, std::uint64_t bytes, std::string* why) {
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

  // The next slot, once its previous DMA has finished.
  Slot& acquire(int device) {
    Slot& s = slots_[next_];
    next_ = (next_ + 1) % slots_.size();
    check_cuda(cudaEventSynchronize(s.done), device, "waiting for a staging slot");
    return s;
  }

  void release() {
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

 private:
  std::vector<Slot> slots_;
  std::size_t next_ = 0;
  std::uint64_t slot_bytes_ = 0;
};

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

class CudaBackend final : public Backend {
 public:
  CudaBackend(int device, Config cfg)
      : dev_(device), cfg_(cfg), copier_(cfg.copy_threads), rings_(cfg.ring_slot_bytes, cfg.ring_slots) {}

  ~CudaBackend() override {
    // Best effort and silent: this may run during process exit, after the CUDA runtime is gone.
    if (cudaSetDevice(dev_) == cudaSuccess) {
      for (cudaStream_t s : {h2d_, compute_, d2h_})
        if (s) (void)cudaStreamSynchronize(s);
    }
    ring_.release();
    arena_.release();
    if (handle_) (void)cublasDestroy(handle_);
    if (workspace_) (void)cudaFree(workspace_);
    for (cudaEvent_t e : {in_ready_, done_[0], done_[1]})
      if (e) (void)cudaEventDestroy(e);
    for (cudaStream_t s : {h2d_, compute_, d2h_})
      if (s) (void)cudaStreamDestroy(s);
    (void)cudaGetLastError();
  }

  // Everything that can fail at start-up; the factory calls it, so a failure destroys the object
  // (and what init() created) through the destructor.
  void init() {
    check_cuda(cudaSetDevice(dev_), dev_, "cudaSetDevice");
    check_cuda(cudaGetDeviceProperties(&prop_, dev_), dev_, "cudaGetDeviceProperties");
    for (cudaStream_t* s : {&h2d_, &compute_, &d2h_})
      check_cuda(cudaStreamCreateWithFlags(s, cudaStreamNonBlocking), dev_, "cudaStreamCreate");
    for (cudaEvent_t* e : {&in_ready_, &done_[0], &done_[1]})
      check_cuda(cudaEventCreateWithFlags(e, cudaEventDisableTiming), dev_, "cudaEventCreate");
    check_cublas(cublasCreate(&handle_), dev_, "cublasCreate");
    check_cublas(cublasSetStream(handle_, compute_), dev_, "cublasSetStream");  // resets the workspace
    check_cuda(cudaMalloc(&workspace_, kWorkspaceBytes), dev_, "cudaMalloc of the cuBLAS workspace");
    check_cublas(cublasSetWorkspace(handle_, workspace_, kWorkspaceBytes), dev_, "cublasSetWorkspace");
    check_cublas(cublasSetPointerMode(handle_, CUBLAS_POINTER_MODE_HOST), dev_, "cublasSetPointerMode");
    // Exact arithmetic only: no TF32, no BF16x9 or fixed-point emulation (they need math-mode bits).
    check_cublas(cublasSetMathMode(handle_, CUBLAS_DEFAULT_MATH), dev_, "cublasSetMathMode");
    cublasMath_t mode{};
    check_cublas(cublasGetMathMode(handle_, &mode), dev_, "cublasGetMathMode");
    if (mode != CUBLAS_DEFAULT_MATH)
      throw BackendError("cuda: cuBLAS math mode is " + std::to_string(int(mode)) + ", not CUBLAS_DEFAULT_MATH");
    int cublas_version = 0;
    check_cublas(cublasGetVersion(handle_, &cublas_version), dev_, "cublasGetVersion");
    int runtime = 0, driver = 0;
    (void)cudaRuntimeGetVersion(&runtime);
    (void)cudaDriverGetVersion(&driver);
    (void)cudaGetLastError();

    auto ver = [](int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); };
    description_ =
        "cuda device " + std::to_string(dev_) + ": " + prop_.name + ", " + format_bytes(prop_.totalGlobalMem) +
        ", compute capability " + std::to_string(prop_.major) + "." + std::to_string(prop_.minor) + ", " +
        std::to_string(prop_.multiProcessorCount) + " SMs; CUDA runtime " + ver(runtime) + ", driver " + ver(driver) +
        ", cuBLAS " + std::to_string(cublas_version / 10000) + "." + std::to_string(cublas_version / 100 % 100) + "." +
        std::to_string(cublas_version % 100) + "; math CUBLAS_DEFAULT_MATH (no TF32, no emulation); staging " +
        (cfg_.pinned_staging ? std::to_string(cfg_.slots) + " x " + format_bytes(cfg_.slot_bytes) + " pinned, " +
                                   std::to_string(copier_.threads()) + " copy thread(s)"
                             : std::string("pageable (driver-staged)")) +
        "; up to " + std::to_string(cfg_.plan.max_steps) + " pipeline steps per call";
  }

  std::string name() const override { return "cuda"; }
  std::string description() const override { return description_; }

  // FFTs: cuFFT (cufft_ops.cpp); what it cannot describe goes to the CPU backend.
  bool supports_fft(const FftDescriptor& d) const override { return !broken_.load() && cufft_supports(d); }
  std::unique_ptr<FftPlanCache> new_fft_cache() override { return cufft_new_cache(dev_); }
  void prepare_fft(FftPlanCache& c, const FftDescriptor& d, unsigned, void*, void*) override { cufft_prepare(c, d); }
  void fft(FftPlanCache& c, const FftDescriptor& d, unsigned, void* in, void* out) override {
    cufft_run(c, d, in, out);
  }
  std::unique_ptr<StreamedFft> begin_fft(FftPlanCache& c, const FftDescriptor& d, unsigned, void* in,
                                         void* out) override {
    return cufft_begin(c, d, in, out);
  }

  bool supports(const Level3Args& args) const override {
    if (broken_.load()) return false;
    if (level3_validate(args)) return false;
    const std::uint64_t need = device_bytes(args, cfg_.plan.alignment);
    if (need <= arena_.capacity()) return true;
    if (cudaSetDevice(dev_) != cudaSuccess) {
      (void)cudaGetLastError();
      return false;
    }
    return fits(need);
  }

  std::unique_ptr<StreamedCall> begin_streamed(const Level3Args& args, const void* a, const void* b, void* c) override {
    return std::make_unique<Streamed>(*this, args, a, b, c);
  }
  bool offers_tile_staging(const Level3Args& args) const override { return ring_enabled() && supports(args); }

  void* alloc_host(std::size_t bytes) override {
    if (!cfg_.pinned_staging || cudaSetDevice(dev_) != cudaSuccess) {
      (void)cudaGetLastError();
      return Backend::alloc_host(bytes);
    }
    void* p = nullptr;
    if (cudaHostAlloc(&p, bytes, cudaHostAllocPortable) != cudaSuccess) {
      (void)cudaGetLastError();
      log::warn("cuda: cannot page-lock " + format_bytes(bytes) + " for receive buffers; using pageable memory");
      return Backend::alloc_host(bytes);
    }
    std::lock_guard lock(pinned_mu_);
    pinned_.insert(p);
    return p;
  }
  void free_host(void* p, std::size_t bytes) override {
    bool pinned = false;
    {
      std::lock_guard lock(pinned_mu_);
      pinned = pinned_.erase(p) != 0;
    }
    if (pinned) {
      (void)cudaFreeHost(p);
      (void)cudaGetLastError();
    } else {
      Backend::free_host(p, bytes);
    }
  }

  void level3(const Level3Args& args, const void* a, const void* b, void* c) override {
    std::lock_guard lock(mu_);
    if (broken_.load()) throw BackendError("cuda: device " + std::to_string(dev_) + " is unusable: " + broken_reason_);
    const std::string routine = routine_name(args.family, args.dtype);
    try {
      run(args, a, b, c, routine, /*exact=*/false);
    } catch (const OutOfDeviceMemory& e) {
      recover(routine);
      if (broken_.load()) throw;
      log::warn(std::string(e.what()) + "; retrying once with an exactly sized device pool");
      try {
        run(args, a, b, c, routine, /*exact=*/true);
      } catch (const BackendError&) {
        recover(routine);
        throw;
      }
    } catch (const BackendError&) {
      recover(routine);
      throw;
    } catch (const std::exception& e) {  // std::bad_alloc, std::system_error: still drain the streams
      recover(routine);
      throw BackendError("cuda: " + routine + " failed: " + e.what());
    }
  }

 private:
  // Tiled calls may go through the receive ring: on, page-locked memory allowed, slots not refused.
  bool ring_enabled() const { return cfg_.ring && cfg_.pinned_staging && !rings_failed_.load(); }

  // One attempt at a call; the caller holds mu_ and recovers on failure.
  void run(const Level3Args& args, const void* a, const void* b, void* c, const std::string& routine, bool exact) {
    check_cuda(cudaSetDevice(dev_), dev_, "cudaSetDevice");
    // Operands already page-locked go by DMA; the k-outer schedule needs that (2-D copies).
    const void* host[3] = {a, b, c};
    bool all_locked = true;
    for (const void* h : host) all_locked = all_locked && (!h || is_page_locked(h));
    if (cfg_.k_outer && all_locked) {
      if (const auto kp = make_k_outer_plan(args, cfg_.plan, cfg_.k_outer_plan)) {
        if (fits(kp->dev_total)) return run_k_outer(args, *kp, a, b, c, routine, exact);
      }
    }
    const Plan plan = make_plan(args, cfg_.plan);
    if (plan.steps.empty()) return;
    const auto t0 = std::chrono::steady_clock::now();

    arena_.reserve(plan.dev_total, exact, dev_, routine);
    if (cfg_.pinned_staging && !ring_.ready() && !pinned_failed_) {
      std::string why;
      if (!ring_.allocate(cfg_.slots, cfg_.slot_bytes, &why)) {
        pinned_failed_ = true;
        log::warn("cuda: cannot allocate " + std::to_string(cfg_.slots) + " x " + format_bytes(cfg_.slot_bytes) +
                  " of pinned staging memory (" + why + "); copying from pageable memory instead");
      }
    }
    Call call;
    call.host_in[0] = static_cast<const char*>(a);
    call.host_in[1] = static_cast<const char*>(b);
    call.host_in[2] = static_cast<const char*>(c);
    call.host_out = static_cast<char*>(c);
    for (int i = 0; i < 3; ++i) {
      call.dev[i] = arena_.data() + plan.dev_off[i];
      call.direct[i] = !ring_.ready() || is_page_locked(call.host_in[i]);
    }

    if (plan.zero_c) check_cuda(cudaMemsetAsync(call.dev[2], 0, plan.bytes[2], compute_), dev_, "cudaMemsetAsync of C");
    for (const ByteRange& r : plan.prologue) upload(call, r);
    run_steps(call, plan.steps, routine);
    sync_all(routine);

    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    log::debug("cuda: " + routine + " m=" + std::to_string(args.m) + " n=" + std::to_string(args.n) +
               " k=" + std::to_string(args.k) + " in " + std::to_string(ms) + " ms, " +
               std::to_string(plan.steps.size()) + " step(s), " + format_bytes(plan.dev_total) + " on device");
  }

  struct Call {
    const char* host_in[3] = {nullptr, nullptr, nullptr};
    char* host_out = nullptr;
    char* dev[3] = {nullptr, nullptr, nullptr};
    bool direct[3] = {true, true, true};  // copy by DMA straight from/to the host buffer
  };

  // Column steps (plan.h): step j's inputs up, its cuBLAS call, then step j-1's result down.
  void run_steps(const Call& call, const std::vector<Step>& steps, const std::string& routine) {
    for (std::size_t j = 0; j < steps.size(); ++j) {
      const Step& s = steps[j];
      for (const ByteRange& r : s.in) upload(call, r);
      check_cuda(cudaEventRecord(in_ready_, h2d_), dev_, "cudaEventRecord");
      check_cuda(cudaStreamWaitEvent(compute_, in_ready_, 0), dev_, "cudaStreamWaitEvent");
      check_cublas(run_cublas(handle_, s.args, call.dev[0] + s.a_off, call.dev[1] + s.b_off, call.dev[2] + s.c_off),
                   dev_, routine);
      check_cuda(cudaEventRecord(done_[j % 2], compute_), dev_, "cudaEventRecord");
      if (j > 0) download(call, steps[j - 1], done_[(j - 1) % 2]);
    }
    if (!steps.empty()) download(call, steps.back(), done_[(steps.size() - 1) % 2]);
  }

  void sync_all(const std::string& routine) {
    check_cuda(cudaStreamSynchronize(h2d_), dev_, ("copying operands of " + routine + " to the GPU").c_str());
    check_cuda(cudaStreamSynchronize(compute_), dev_, routine.c_str());
    check_cuda(cudaStreamSynchronize(d2h_), dev_, ("copying the result of " + routine + " back").c_str());
  }

  // Whether `bytes` of arena can be had (this thread's device set): what it holds now, or what is
  // free beside it. Growing the arena frees the old one first, so its capacity counts as
  // available; a margin is kept for cuBLAS internals and other users of the device.
  bool fits(std::uint64_t bytes) const {
    if (bytes <= arena_.capacity()) return true;
    std::size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
      (void)cudaGetLastError();
      return false;
    }
    const std::uint64_t margin = std::max<std::uint64_t>(256 * kMiB, std::uint64_t(total_b) / 50);
    return bytes + margin <= std::uint64_t(free_b) + arena_.capacity();
  }

  // The k-outer schedule (k_outer_plan.h), every operand page-locked: chunk c's slices of A and B
  // up (h2d) and its cuBLAS call (compute, after an event), so chunk c+1's copy overlaps chunk c's
  // compute; then C_old's leading columns up into the scratch copy; per output block of the
  // leading columns C += beta C_old (geam) and the block down (d2h); then the trailing columns as
  // ordinary column steps, whose copies overlap the leading block's results going down.
  void run_k_outer(const Level3Args& args, const KOuterPlan& kp, const void* a, const void* b, void* c,
                   const std::string& routine, bool exact) {
    const auto t0 = std::chrono::steady_clock::now();
    arena_.reserve(kp.dev_total, exact, dev_, routine);
    Call call;
    call.host_in[0] = static_cast<const char*>(a);
    call.host_in[1] = static_cast<const char*>(b);
    call.host_in[2] = static_cast<const char*>(c);
    call.host_out = static_cast<char*>(c);
    for (int i = 0; i < 3; ++i) call.dev[i] = arena_.data() + kp.layout.dev_off[i];
    char* old_c = arena_.data() + kp.old_c_off;

    auto upload_2d = [&](const Block2D& blk) {
      const int i = int(blk.op);
      check_cuda(cudaMemcpy2DAsync(call.dev[i] + blk.offset, blk.pitch, call.host_in[i] + blk.offset, blk.pitch,
                                   blk.width, blk.height, cudaMemcpyHostToDevice, h2d_),
                 dev_, "cudaMemcpy2DAsync to the GPU");
    };
    for (const KChunk& ch : kp.chunks) {
      upload_2d(ch.a);
      upload_2d(ch.b);
      check_cuda(cudaEventRecord(in_ready_, h2d_), dev_, "cudaEventRecord");
      check_cuda(cudaStreamWaitEvent(compute_, in_ready_, 0), dev_, "cudaStreamWaitEvent");
      check_cublas(run_cublas(handle_, ch.args, call.dev[0] + ch.a_off, call.dev[1] + ch.b_off, call.dev[2]), dev_,
                   routine);
    }
    if (kp.add_old_c) {
      check_cuda(cudaMemcpyAsync(old_c, call.host_in[2], kp.old_c_bytes, cudaMemcpyHostToDevice, h2d_), dev_,
                 "cudaMemcpyAsync to the GPU");
      check_cuda(cudaEventRecord(in_ready_, h2d_), dev_, "cudaEventRecord");
      check_cuda(cudaStreamWaitEvent(compute_, in_ready_, 0), dev_, "cudaStreamWaitEvent");
    }
    const std::uint64_t elt = element_size(args.dtype);
    for (const ByteRange& r : kp.lead_out) {
      if (kp.add_old_c) {
        const std::int64_t cols = std::int64_t((r.bytes / elt + std::uint64_t(args.ldc) - 1) / std::uint64_t(args.ldc));
        check_cublas(run_add_scaled(handle_, args.dtype, args.m, cols, args.beta, old_c + r.offset,
                                    call.dev[2] + r.offset, args.ldc),
                     dev_, routine + " (adding beta * C)");
      }
      check_cuda(cudaEventRecord(done_[0], compute_), dev_, "cudaEventRecord");
      check_cuda(cudaStreamWaitEvent(d2h_, done_[0], 0), dev_, "cudaStreamWaitEvent");
      check_cuda(
          cudaMemcpyAsync(call.host_out + r.offset, call.dev[2] + r.offset, r.bytes, cudaMemcpyDeviceToHost, d2h_),
          dev_, "cudaMemcpyAsync from the GPU");
    }
    run_steps(call, kp.steps, routine);
    sync_all(routine);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    log::debug("cuda: " + routine + " m=" + std::to_string(args.m) + " n=" + std::to_string(args.n) +
               " k=" + std::to_string(args.k) + " in " + std::to_string(ms) +
               " ms, k-outer: " + std::to_string(kp.chunks.size()) + " chunk(s) over " + std::to_string(kp.lead_cols) +
               " column(s), " + std::to_string(kp.steps.size()) + " step(s) after");
  }

  // Host -> device for one byte range, on the h2d stream (see the file comment, point 2).
  void upload(const Call& call, const ByteRange& r) {
    const int i = int(r.op);
    const char* src = call.host_in[i] + r.offset;
    char* dst = call.dev[i] + r.offset;
    if (call.direct[i]) {
      check_cuda(cudaMemcpyAsync(dst, src, r.bytes, cudaMemcpyHostToDevice, h2d_), dev_, "cudaMemcpyAsync to the GPU");
      return;
    }
    for (std::uint64_t o = 0; o < r.bytes; o += ring_.slot_bytes()) {
      const std::uint64_t len = std::min(ring_.slot_bytes(), r.bytes - o);
      StagingRing::Slot& slot = ring_.acquire(dev_);
      copier_.copy(slot.host, src + o, len);
      check_cuda(cudaMemcpyAsync(dst + o, slot.host, len, cudaMemcpyHostToDevice, h2d_), dev_,
                 "cudaMemcpyAsync to the GPU");
      check_cuda(cudaEventRecord(slot.done, h2d_), dev_, "cudaEventRecord");
    }
  }

  // Device -> host for one step's results, once `done` (its compute) has completed.
  void download(const Call& call, const Step& step, cudaEvent_t done) {
    check_cuda(cudaStreamWaitEvent(d2h_, done, 0), dev_, "cudaStreamWaitEvent");
    struct Pending {
      StagingRing::Slot* slot;
      char* dst;
      std::uint64_t len;
    };
    Pending pending{nullptr, nullptr, 0};
    auto finish = [&](Pending& p) {
      if (!p.slot) return;
      check_cuda(cudaEventSynchronize(p.slot->done), dev_, "copying a result block back");
      copier_.copy(p.dst, p.slot->host, p.len);
      p.slot = nullptr;
    };
    for (const ByteRange& r : step.out) {
      const int i = int(r.op);
      char* dst = call.host_out + r.offset;
      const char* src = call.dev[i] + r.offset;
      if (call.direct[i]) {
        check_cuda(cudaMemcpyAsync(dst, src, r.bytes, cudaMemcpyDeviceToHost, d2h_), dev_,
                   "cudaMemcpyAsync from the GPU");
        continue;
      }
      for (std::uint64_t o = 0; o < r.bytes; o += ring_.slot_bytes()) {
        const std::uint64_t len = std::min(ring_.slot_bytes(), r.bytes - o);
        StagingRing::Slot& slot = ring_.acquire(dev_);
        check_cuda(cudaMemcpyAsync(slot.host, src + o, len, cudaMemcpyDeviceToHost, d2h_), dev_,
                   "cudaMemcpyAsync from the GPU");
        check_cuda(cudaEventRecord(slot.done, d2h_), dev_, "cudaEventRecord");
        finish(pending);  // copy the previous chunk out while this one is in flight
        pending = Pending{&slot, dst + o, len};
      }
    }
    finish(pending);
  }

  class Streamed final : public StreamedCall {
    // The events of one panel in flight: inputs uploaded, computed, result downloaded.
    struct PanelEvents {
      cudaEvent_t in = nullptr, done = nullptr, out = nullptr;
    };
    static constexpr int kDepth = 3;

   public:
    Streamed(CudaBackend& be, const Level3Args& args, const void* a, const void* b, void* c)
        : be_(be), lock_(be.mu_), args_(args), routine_(routine_name(args.family, args.dtype)) {
      if (be_.broken_.load())
        throw BackendError("cuda: device " + std::to_string(be_.dev_) + " is unusable: " + be_.broken_reason_);
      try {
        check_cuda(cudaSetDevice(be_.dev_), be_.dev_, "cudaSetDevice");
        PlanOptions one = be_.cfg_.plan;
        one.max_steps = 1;  // only the operand layout is used here
        plan_ = make_plan(args, one);
        try {
          be_.arena_.reserve(plan_.dev_total, false, be_.dev_, routine_);
        } catch (const OutOfDeviceMemory&) {
          be_.recover(routine_);
          if (be_.broken_.load()) throw;
          be_.arena_.reserve(plan_.dev_total, true, be_.dev_, routine_);
        }
        if (be_.cfg_.pinned_staging && !be_.ring_.ready() && !be_.pinned_failed_) {
          std::string why;
          if (!be_.ring_.allocate(be_.cfg_.slots, be_.cfg_.slot_bytes, &why)) be_.pinned_failed_ = true;
        }
        call_.host_in[0] = static_cast<const char*>(a);
        call_.host_in[1] = static_cast<const char*>(b);
        call_.host_in[2] = static_cast<const char*>(c);
        call_.host_out = static_cast<char*>(c);
        for (int i = 0; i < 3; ++i) {
          call_.dev[i] = be_.arena_.data() + plan_.dev_off[i];
          call_.direct[i] = !be_.ring_.ready() || is_page_locked(call_.host_in[i]);
        }
        async_ = true;
        for (int i = 0; i < 3; ++i) async_ = async_ && (!call_.host_in[i] || call_.direct[i]);
      } catch (const BackendError&) {
        be_.recover(routine_);
        throw;
      }
    }
    ~Streamed() override {
      if (cudaSetDevice(be_.dev_) == cudaSuccess)
        for (cudaStream_t s : {be_.h2d_, be_.compute_, be_.d2h_}) (void)cudaStreamSynchronize(s);
      if (recover_at_end_) be_.recover(routine_);
      for (PanelEvents& sl : slots_)
        for (cudaEvent_t e : {sl.in, sl.done, sl.out})
          if (e) (void)cudaEventDestroy(e);
      (void)cudaGetLastError();
    }

    // Panels are queued on the device asynchronously when every operand is page-locked (the
    // server's receive buffers are: alloc_host), so panel j+1's upload runs while panel j computes
    // and downloads. Otherwise (pageable memory, staged copies) each panel completes in start_panel.
    int depth() const override { return kDepth; }

    // The receive ring (tile_staging.h): inputs go from the sockets through the slots straight to
    // the device operands, results from the device through the slots to the sockets; the host
    // buffers stay untouched. Null (the host buffers) when it is off or its slots cannot be had.
    TileStaging* tile_staging(int stripes) override {
      if (!be_.ring_enabled() || started_ > 0 || sent_[0] || sent_[1]) return nullptr;
      std::string why;
      if (cudaSetDevice(be_.dev_) != cudaSuccess || !be_.rings_.ensure(stripes, &why)) {
        (void)cudaGetLastError();
        be_.rings_failed_.store(true);
        log::warn("cuda: no page-locked slots for tiled calls (" + why + "); their tiles go through host buffers");
        return nullptr;
      }
      if (stripes > be_.rings_logged_) {
        be_.rings_logged_ = stripes;
        log::info("cuda: device " + std::to_string(be_.dev_) + ": tiled calls stream through " +
                  std::to_string(be_.cfg_.ring_slots) + " page-locked slots of " +
                  format_bytes(be_.cfg_.ring_slot_bytes) + " per connection and direction (" + std::to_string(stripes) +
                  " connection(s) so far)");
      }
      staging_ = std::make_unique<DeviceTileStaging>(be_.rings_, be_.dev_, be_.h2d_, be_.d2h_, call_.dev);
      async_ = true;          // no host memory is copied: every panel is queued on the device
      prologue_done_ = true;  // nor is A uploaded from host memory
      return staging_.get();
    }

    // A (and B when every panel needs all of it) is copied to the device as it arrives from the
    // network, in pieces of at least kPrefetchPiece, when the host buffers are page-locked; the
    // first panel then copies only what is left. Errors are not thrown here: the copy is simply
    // redone by the first panel (a failed enqueue leaves sent_ where it was).
    void inputs_arrived(int operand, std::uint64_t bytes) override {
      if (!async_ || !be_.cfg_.prefetch || operand < 0 || operand > 1 || prologue_done_) return;
      if (operand == 1 && b_by_panel()) return;
      const std::uint64_t total = plan_.bytes[operand];
      bytes = std::min(bytes, total);
      std::uint64_t& sent = sent_[operand];
      if (bytes <= sent || (bytes - sent < kPrefetchPiece && bytes < total)) return;
      if (cudaSetDevice(be_.dev_) != cudaSuccess ||
          cudaMemcpyAsync(call_.dev[operand] + sent, call_.host_in[operand] + sent, bytes - sent,
                          cudaMemcpyHostToDevice, be_.h2d_) != cudaSuccess) {
        (void)cudaGetLastError();
        return;
      }
      sent = bytes;
    }

    void start_panel(std::int64_t col0, std::int64_t cols) override {
      try {
        // The current device is per host thread, and panels may be started from a thread other
        // than the one that began the call (rcpud's compute thread, the placement's device
        // workers): the events below must be created on this call's device.
        check_cuda(cudaSetDevice(be_.dev_), be_.dev_, "cudaSetDevice");
        if (staging_)
          if (const auto failure = staging_->input_failure()) throw BackendError(*failure);
        if (!async_) {
          panel(col0, cols);
          queued_.push_back(-1);
          return;
        }
        const int k = int(started_++ % kDepth);
        PanelEvents& sl = slots_[std::size_t(k)];
        if (!sl.in) {
          for (cudaEvent_t* e : {&sl.in, &sl.done, &sl.out})
            check_cuda(cudaEventCreateWithFlags(e, cudaEventDisableTiming), be_.dev_, "cudaEventCreate");
        }
        enqueue(col0, cols, sl);
        queued_.push_back(k);
      } catch (const BackendError&) {
        failed();
        throw;
      } catch (const std::exception& e) {
        failed();
        throw BackendError("cuda: " + routine_ + " failed: " + e.what());
      }
    }

    bool try_finish_panel() override {
      if (queued_.empty()) return true;
      const int k = queued_.front();
      if (k >= 0) {
        const cudaError_t e = cudaEventQuery(slots_[std::size_t(k)].out);
        if (e == cudaErrorNotReady) return false;
        if (e != cudaSuccess) {
          try {
            check_cuda(e, be_.dev_, ("computing a panel of " + routine_).c_str());
          } catch (const BackendError&) {
            failed();
            throw;
          }
        }
      }
      queued_.pop_front();
      return true;
    }

    void finish_panel() override {
      if (queued_.empty()) return;
      const int k = queued_.front();
      queued_.pop_front();
      if (k < 0) return;
      try {
        check_cuda(cudaEventSynchronize(slots_[std::size_t(k)].out), be_.dev_,
                   ("computing a panel of " + routine_).c_str());
      } catch (const BackendError&) {
        failed();
        throw;
      }
    }

    void compute_panel(std::int64_t col0, std::int64_t cols) override {
      try {
        panel(col0, cols);
      } catch (const BackendError&) {
        failed();
        throw;
      } catch (const std::exception& e) {
        failed();
        throw BackendError("cuda: " + routine_ + " failed: " + e.what());
      }
    }

   private:
    // After a failure: the device is recovered (streams drained, the arena released) at once, or,
    // with the receive ring, when the call ends: the server's threads may still be copying
    // finished panels' results out of the arena, and drain the inputs meanwhile.
    void failed() {
      if (!staging_) return be_.recover(routine_);
      staging_->stop_input();
      recover_at_end_ = true;
    }

    // Queues panel [col0, col0 + cols): its inputs up on the copy stream (A, and B when every panel
    // needs all of it, before the first panel), `in` recorded there, cuBLAS on the compute stream
    // after `in`, `done` recorded after it. Returns the panel's output bytes (in C's buffer).
    ByteRange queue_panel(std::int64_t col0, std::int64_t cols, cudaEvent_t in, cudaEvent_t done) {
      const int dev = be_.dev_;
      check_cuda(cudaSetDevice(dev), dev, "cudaSetDevice");
      const std::uint64_t elem = element_size(args_.dtype);
      const Level3Shapes& s = plan_.shapes;
      const bool b_by_panel = this->b_by_panel();
      if (!prologue_done_) {
        // What inputs_arrived has not copied yet.
        if (s.a.reads() && sent_[0] < plan_.bytes[0])
          be_.upload(call_, ByteRange{Operand::a, sent_[0], plan_.bytes[0] - sent_[0]});
        if (!b_by_panel && s.b.reads() && sent_[1] < plan_.bytes[1])
          be_.upload(call_, ByteRange{Operand::b, sent_[1], plan_.bytes[1] - sent_[1]});
        prologue_done_ = true;
      }
      std::uint64_t b_off = 0, c_off = 0;
      const Level3Args sub = level3_panel(args_, col0, cols, b_off, c_off);
      const std::uint64_t c_ld = (args_.family == L3Family::trmm || args_.family == L3Family::trsm)
                                     ? std::uint64_t(args_.ldb)
                                     : std::uint64_t(args_.ldc);
      // With the receive ring the panel's inputs are on the device already (queued on h2d before
      // the server counted them, so `in` below follows them).
      if (b_by_panel && s.b.reads() && !staging_)
        be_.upload(call_, ByteRange{Operand::b, b_off * elem, std::uint64_t(cols) * std::uint64_t(args_.ldb) * elem});
      const ByteRange c_range{Operand::c, c_off * elem, std::uint64_t(cols) * c_ld * elem};
      if (s.c.reads() && !staging_) be_.upload(call_, c_range);
      check_cuda(cudaEventRecord(in, be_.h2d_), dev, "cudaEventRecord");
      check_cuda(cudaStreamWaitEvent(be_.compute_, in, 0), dev, "cudaStreamWaitEvent");
      check_cublas(run_cublas(be_.handle_, sub, call_.dev[0], call_.dev[1] + b_off * elem, call_.dev[2] + c_off * elem),
                   dev, routine_);
      check_cuda(cudaEventRecord(done, be_.compute_), dev, "cudaEventRecord");
      return c_range;
    }

    // One panel, completed before returning (staged copies when the host memory is pageable).
    void panel(std::int64_t col0, std::int64_t cols) {
      Step step;
      step.out.push_back(queue_panel(col0, cols, be_.in_ready_, be_.done_[0]));
      be_.download(call_, step, be_.done_[0]);
      check_cuda(cudaStreamSynchronize(be_.d2h_), be_.dev_, ("copying a panel of " + routine_ + " back").c_str());
    }

    // The asynchronous form of panel(): every copy is a direct DMA from/to page-locked memory, and
    // `sl.out` is recorded once the result is back in host memory.
    void enqueue(std::int64_t col0, std::int64_t cols, PanelEvents& sl) {
      const int dev = be_.dev_;
      const ByteRange c = queue_panel(col0, cols, sl.in, sl.done);
      if (staging_) {
        // The results leave from the device through the slots (fetch_output) once it is computed.
        check_cuda(cudaEventRecord(sl.out, be_.compute_), dev, "cudaEventRecord");
        return;
      }
      check_cuda(cudaStreamWaitEvent(be_.d2h_, sl.done, 0), dev, "cudaStreamWaitEvent");
      check_cuda(cudaMemcpyAsync(call_.host_out + c.offset, call_.dev[2] + c.offset, c.bytes, cudaMemcpyDeviceToHost,
                                 be_.d2h_),
                 dev, "cudaMemcpyAsync from the GPU");
      check_cuda(cudaEventRecord(sl.out, be_.d2h_), dev, "cudaEventRecord");
    }

    bool b_by_panel() const {
      return (args_.family == L3Family::gemm && args_.transb == 'N') || args_.family == L3Family::symm ||
             args_.family == L3Family::hemm;
    }

    static constexpr std::uint64_t kPrefetchPiece = 64 * kMiB;
    std::uint64_t sent_[2] = {0, 0};  // leading bytes of A and B already queued to the device
    CudaBackend& be_;
    std::unique_lock<std::mutex> lock_;
    Level3Args args_;
    std::string routine_;
    Plan plan_;
    Call call_;
    bool prologue_done_ = false;
    bool async_ = false;
    std::int64_t started_ = 0;
    PanelEvents slots_[kDepth];
    std::deque<int> queued_;                      // slot of each started, unfinished panel in order; -1: already done
    std::unique_ptr<DeviceTileStaging> staging_;  // the receive ring, when the server took it
    bool recover_at_end_ = false;
  };

  // LAPACK (issue #5): cuSOLVER for what CusolverLapack::supports(), else the server's CPU backend.
  // Serialized with the Level-3 calls (one GPU, shared memory); device memory is allocated per call,
  // and on an out-of-memory failure the Level-3 arena is released and the call retried once.
  bool supports_lapack(const LapackArgs& args) const override {
    return !broken_.load() && CusolverLapack::supports(args);
  }
  std::int64_t lapack(const LapackArgs& args, void* const* p) override {
    std::lock_guard lock(mu_);
    if (broken_.load()) throw BackendError("cuda: device " + std::to_string(dev_) + " is unusable: " + broken_reason_);
    const LapackRoutine* r = lapack_routine(args.opcode);
    const std::string routine = r ? r->name : "LAPACK";
    try {
      if (!solver_) solver_ = std::make_unique<CusolverLapack>(dev_);
      return solver_->run(args, p);
    } catch (const OutOfDeviceMemory& e) {
      recover(routine);
      if (broken_.load()) throw;
      log::warn(std::string(e.what()) + "; retrying once after releasing the device pool");
      try {
        if (!solver_) solver_ = std::make_unique<CusolverLapack>(dev_);
        return solver_->run(args, p);
      } catch (const BackendError&) {
        recover(routine);
        throw;
      }
    } catch (const BackendError&) {
      recover(routine);
      throw;
    }
  }

  // After a failed call: drain the streams, detect a poisoned context, reset the pool.
  void recover(const std::string& routine) {
    if (cudaSetDevice(dev_) == cudaSuccess) {
      for (cudaStream_t s : {h2d_, compute_, d2h_}) (void)cudaStreamSynchronize(s);
    }
    (void)cudaGetLastError();
    const cudaError_t sticky = cudaDeviceSynchronize();
    (void)cudaGetLastError();
    if (sticky != cudaSuccess) {
      broken_reason_ = "CUDA context lost after " + routine + ": " + cuda_error_text(sticky);
      broken_.store(true);
      log::error("cuda: device " + std::to_string(dev_) + " " + broken_reason_ +
                 "; the CUDA backend refuses further calls (restart rcpud to recover the GPU)");
      return;
    }
    // Release the device arena so the next call starts from a clean pool (and so the memory is
    // back for cuBLAS or another session after an out-of-memory failure).
    arena_.release();
  }

  const int dev_;
  const Config cfg_;
  cudaDeviceProp prop_{};
  std::string description_;

  std::mutex mu_;  // serializes level3(): the resources below are shared by every call
  cublasHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  cudaStream_t h2d_ = nullptr, compute_ = nullptr, d2h_ = nullptr;
  cudaEvent_t in_ready_ = nullptr, done_[2] = {nullptr, nullptr};
  DeviceArena arena_;
  StagingRing ring_;
  bool pinned_failed_ = false;
  CopyPool copier_;
  SlotRings rings_;                        // tiled calls' receive/send slots (tile_staging.h), one call at a time: mu_
  std::atomic<bool> rings_failed_{false};  // could not be allocated: not tried again
  int rings_logged_ = 0;                   // connections whose slots rcpud's log has announced
  std::mutex pinned_mu_;                   // alloc_host/free_host come from any session thread
  std::set<void*> pinned_;                 // receive buffers handed out by alloc_host

  std::atomic<bool> broken_{false};
  std::string broken_reason_;               // written once, before broken_ is set
  std::unique_ptr<CusolverLapack> solver_;  // made at the first LAPACK call
};

}  // namespace
}  // namespace cuda

namespace {

// The GPU count; throws when there is no usable GPU or options name a missing one.
int cuda_device_count(const BackendOptions& options) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    throw BackendError("cuda: no usable GPU (cudaGetDeviceCount: " + cuda::cuda_error_text(e) + ")");
  }
  if (count <= 0) throw BackendError("cuda: no GPU found (cudaGetDeviceCount returned 0)");
  for (int d : options.devices) {
    if (d < 0 || d >= count)
      throw BackendError("cuda: GPU " + std::to_string(d) + " requested but " + std::to_string(count) +
                         " device(s) present (ordinals 0.." + std::to_string(count - 1) + ")");
  }
  return count;
}

// rcpud --backend cuda (or auto): one device per GPU of --devices. --virtual-devices is a host
// backend's option: refused when cuda was asked for, ignored (with a note) under auto.
std::vector<std::unique_ptr<Backend>> make_cuda_devices(const BackendOptions& options, std::string* note) {
  if (options.virtual_devices != 1 && !options.automatic)
    throw BackendError("--virtual-devices applies to the CPU backend only (one cuda device per GPU: --devices)");
  BackendOptions one_each = options;
  one_each.virtual_devices = 1;
  auto devices = make_cuda_backends(one_each);
  if (options.virtual_devices != 1 && note)
    *note = "--virtual-devices applies to the CPU backend only; ignored for cuda";
  return devices;
}

}  // namespace

std::unique_ptr<Backend> make_cuda_backend(const BackendOptions& options) {
  (void)cuda_device_count(options);
  const int device = options.devices.empty() ? 0 : options.devices.front();
  auto backend = std::make_unique<cuda::CudaBackend>(device, cuda::Config::from_env());
  backend->init();
  return backend;
}

std::vector<std::unique_ptr<Backend>> make_cuda_backends(const BackendOptions& options) {
  const int count = cuda_device_count(options);
  std::vector<int> ordinals = options.devices;
  if (ordinals.empty())
    for (int d = 0; d < count; ++d) ordinals.push_back(d);
  std::vector<std::unique_ptr<Backend>> out;
  std::set<int> seen;
  for (int d : ordinals) {
    if (!seen.insert(d).second) throw BackendError("cuda: GPU " + std::to_string(d) + " listed twice in --devices");
    auto backend = std::make_unique<cuda::CudaBackend>(d, cuda::Config::from_env());
    backend->init();
    out.push_back(std::move(backend));
  }
  return out;
}

BackendEntry cuda_backend_entry() {
  BackendEntry e;
  e.name = "cuda";
  e.help = "cuBLAS, cuSOLVER and cuFFT on NVIDIA GPUs (--devices)";
  e.auto_preference = 100;
  e.make_devices = make_cuda_devices;
  return e;
}

}  // namespace rcpu::backend
