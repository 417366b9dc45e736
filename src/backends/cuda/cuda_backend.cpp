// The CUDA backend class: what it runs (supports*), the serialization and error recovery of its
// calls on the device (device.h), and where each kind of call is implemented:
//   Level 3, stop and wait   level3_call.h   (cuBLAS: cublas_call.h; schedules: plan.h, k_outer_plan.h)
//   Level 3, streamed        streamed_call.h (the receive ring: tile_staging.h)
//   LAPACK                   cusolver_lapack.h
//   FFTs                     cufft_ops.h
#include "backends/cuda/cuda_backend.h"

#include <cuda_runtime.h>

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "backends/cuda/cufft_ops.h"
#include "backends/cuda/cusolver_lapack.h"
#include "backends/cuda/device.h"
#include "backends/cuda/level3_call.h"
#include "backends/cuda/streamed_call.h"
#include "backends/registry.h"

namespace rcpu::backend {
namespace cuda {
namespace {

class CudaBackend final : public Backend {
 public:
  CudaBackend(int device, Config cfg) : dev_(device, cfg) {}
  void init() { dev_.init(); }

  std::string name() const override { return "cuda"; }
  std::string description() const override { return dev_.description; }

  bool supports(const Level3Args& args) const override {
    if (dev_.broken.load()) return false;
    if (level3_validate(args)) return false;
    const std::uint64_t need = device_bytes(args, dev_.cfg.plan.alignment);
    if (need <= dev_.arena.capacity()) return true;
    if (cudaSetDevice(dev_.ordinal) != cudaSuccess) {
      (void)cudaGetLastError();
      return false;
    }
    return dev_.fits(need);
  }

  void level3(const Level3Args& args, const void* a, const void* b, void* c) override {
    std::lock_guard lock(dev_.mu);
    dev_.check_usable();
    const std::string routine = routine_name(args.family, args.dtype);
    try {
      dev_.with_oom_retry(routine, [&](bool exact) { run_level3(dev_, args, a, b, c, routine, exact); });
    } catch (const BackendError&) {
      throw;
    } catch (const std::exception& e) {  // std::bad_alloc, std::system_error: still drain the streams
      dev_.recover(routine);
      throw BackendError("cuda: " + routine + " failed: " + e.what());
    }
  }

  std::unique_ptr<StreamedCall> begin_streamed(const Level3Args& args, const void* a, const void* b, void* c) override {
    return begin_streamed_call(dev_, args, a, b, c);
  }
  bool offers_tile_staging(const Level3Args& args) const override { return dev_.ring_enabled() && supports(args); }

  // LAPACK: cuSOLVER for what CusolverLapack::supports(), else the server's CPU backend.
  // Serialized with the Level-3 calls (one GPU, shared memory); device memory is allocated per
  // call, and an out-of-memory failure releases the Level-3 arena and is retried once.
  bool supports_lapack(const LapackArgs& args) const override {
    return !dev_.broken.load() && CusolverLapack::supports(args);
  }
  std::int64_t lapack(const LapackArgs& args, void* const* p) override {
    std::lock_guard lock(dev_.mu);
    dev_.check_usable();
    const LapackRoutine* r = lapack_routine(args.opcode);
    const std::string routine = r ? r->name : "LAPACK";
    return dev_.with_oom_retry(routine, [&](bool) {
      if (!solver_) solver_ = std::make_unique<CusolverLapack>(dev_.ordinal);
      return solver_->run(args, p);
    });
  }

  // FFTs: cuFFT (cufft_ops.cpp); what it cannot describe goes to the CPU backend.
  bool supports_fft(const FftDescriptor& d) const override { return !dev_.broken.load() && cufft_supports(d); }
  std::unique_ptr<FftPlanCache> new_fft_cache() override { return cufft_new_cache(dev_.ordinal); }
  void prepare_fft(FftPlanCache& c, const FftDescriptor& d, unsigned, void*, void*) override { cufft_prepare(c, d); }
  void fft(FftPlanCache& c, const FftDescriptor& d, unsigned, void* in, void* out) override {
    cufft_run(c, d, in, out);
  }
  std::unique_ptr<StreamedFft> begin_fft(FftPlanCache& c, const FftDescriptor& d, unsigned, void* in,
                                         void* out) override {
    return cufft_begin(c, d, in, out);
  }

  // The server's receive buffers: page-locked, so the copies to the device are direct DMA (unless
  // RCPU_CUDA_STAGING=pageable, or the memory cannot be locked).
  void* alloc_host(std::size_t bytes) override {
    if (dev_.cfg.pinned_staging)
      if (void* p = pinned_.alloc(bytes, dev_.ordinal)) return p;
    return Backend::alloc_host(bytes);
  }
  void free_host(void* p, std::size_t bytes) override {
    if (!pinned_.free(p)) Backend::free_host(p, bytes);
  }

 private:
  Device dev_;
  PinnedHostBuffers pinned_;
  std::unique_ptr<CusolverLapack> solver_;  // made at the first LAPACK call, under dev_.mu
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

std::unique_ptr<Backend> make_one(int device) {
  auto backend = std::make_unique<cuda::CudaBackend>(device, cuda::Config::from_env());
  backend->init();
  return backend;
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
  return make_one(options.devices.empty() ? 0 : options.devices.front());
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
    out.push_back(make_one(d));
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
