#include "backends/cuda/device.h"

#include <algorithm>

namespace rcpu::backend::cuda {
namespace {
constexpr std::uint64_t kWorkspaceBytes = 32 * kMiB;  // cuBLAS workspace (NVIDIA's advice for Hopper)
}  // namespace

Device::Device(int ordinal, Config cfg)
    : ordinal(ordinal), cfg(cfg), copier(cfg.copy_threads), rings(cfg.ring_slot_bytes, cfg.ring_slots) {}

Device::~Device() {
  // Best effort and silent: this may run during process exit, after the CUDA runtime is gone.
  if (cudaSetDevice(ordinal) == cudaSuccess) {
    for (cudaStream_t s : {h2d, compute, d2h})
      if (s) (void)cudaStreamSynchronize(s);
  }
  ring.release();
  arena.release();
  if (blas) (void)cublasDestroy(blas);
  if (workspace) (void)cudaFree(workspace);
  for (cudaEvent_t e : {in_ready, done[0], done[1]})
    if (e) (void)cudaEventDestroy(e);
  for (cudaStream_t s : {h2d, compute, d2h})
    if (s) (void)cudaStreamDestroy(s);
  (void)cudaGetLastError();
}

void Device::init() {
  const int dev = ordinal;
  check_cuda(cudaSetDevice(dev), dev, "cudaSetDevice");
  check_cuda(cudaGetDeviceProperties(&prop, dev), dev, "cudaGetDeviceProperties");
  for (cudaStream_t* s : {&h2d, &compute, &d2h})
    check_cuda(cudaStreamCreateWithFlags(s, cudaStreamNonBlocking), dev, "cudaStreamCreate");
  for (cudaEvent_t* e : {&in_ready, &done[0], &done[1]})
    check_cuda(cudaEventCreateWithFlags(e, cudaEventDisableTiming), dev, "cudaEventCreate");
  check_cublas(cublasCreate(&blas), dev, "cublasCreate");
  check_cublas(cublasSetStream(blas, compute), dev, "cublasSetStream");  // resets the workspace
  check_cuda(cudaMalloc(&workspace, kWorkspaceBytes), dev, "cudaMalloc of the cuBLAS workspace");
  check_cublas(cublasSetWorkspace(blas, workspace, kWorkspaceBytes), dev, "cublasSetWorkspace");
  check_cublas(cublasSetPointerMode(blas, CUBLAS_POINTER_MODE_HOST), dev, "cublasSetPointerMode");
  // Exact arithmetic only: no TF32, no BF16x9 or fixed-point emulation (they need math-mode bits).
  check_cublas(cublasSetMathMode(blas, CUBLAS_DEFAULT_MATH), dev, "cublasSetMathMode");
  cublasMath_t mode{};
  check_cublas(cublasGetMathMode(blas, &mode), dev, "cublasGetMathMode");
  if (mode != CUBLAS_DEFAULT_MATH)
    throw BackendError("cuda: cuBLAS math mode is " + std::to_string(int(mode)) + ", not CUBLAS_DEFAULT_MATH");
  int cublas_version = 0;
  check_cublas(cublasGetVersion(blas, &cublas_version), dev, "cublasGetVersion");
  int runtime = 0, driver = 0;
  (void)cudaRuntimeGetVersion(&runtime);
  (void)cudaDriverGetVersion(&driver);
  (void)cudaGetLastError();

  auto ver = [](int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); };
  description = "cuda device " + std::to_string(dev) + ": " + prop.name + ", " + format_bytes(prop.totalGlobalMem) +
                ", compute capability " + std::to_string(prop.major) + "." + std::to_string(prop.minor) + ", " +
                std::to_string(prop.multiProcessorCount) + " SMs; CUDA runtime " + ver(runtime) + ", driver " +
                ver(driver) + ", cuBLAS " + std::to_string(cublas_version / 10000) + "." +
                std::to_string(cublas_version / 100 % 100) + "." + std::to_string(cublas_version % 100) +
                "; math CUBLAS_DEFAULT_MATH (no TF32, no emulation); staging " +
                (cfg.pinned_staging ? std::to_string(cfg.slots) + " x " + format_bytes(cfg.slot_bytes) + " pinned, " +
                                          std::to_string(copier.threads()) + " copy thread(s)"
                                    : std::string("pageable (driver-staged)")) +
                "; up to " + std::to_string(cfg.plan.max_steps) + " pipeline steps per call";
}

void Device::check_usable() const {
  if (broken.load()) throw BackendError("cuda: device " + std::to_string(ordinal) + " is unusable: " + broken_reason);
}

bool Device::fits(std::uint64_t bytes) const {
  if (bytes <= arena.capacity()) return true;
  std::size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  const std::uint64_t margin = std::max<std::uint64_t>(256 * kMiB, std::uint64_t(total_b) / 50);
  return bytes + margin <= std::uint64_t(free_b) + arena.capacity();
}

void Device::ensure_staging_ring() {
  if (!cfg.pinned_staging || ring.ready() || pinned_failed) return;
  std::string why;
  if (!ring.allocate(cfg.slots, cfg.slot_bytes, &why)) {
    pinned_failed = true;
    log::warn("cuda: cannot allocate " + std::to_string(cfg.slots) + " x " + format_bytes(cfg.slot_bytes) +
              " of pinned staging memory (" + why + "); copying from pageable memory instead");
  }
}

void Device::sync_all(const std::string& routine) {
  check_cuda(cudaStreamSynchronize(h2d), ordinal, ("copying operands of " + routine + " to the GPU").c_str());
  check_cuda(cudaStreamSynchronize(compute), ordinal, routine.c_str());
  check_cuda(cudaStreamSynchronize(d2h), ordinal, ("copying the result of " + routine + " back").c_str());
}

void Device::recover(const std::string& routine) {
  if (cudaSetDevice(ordinal) == cudaSuccess) {
    for (cudaStream_t s : {h2d, compute, d2h}) (void)cudaStreamSynchronize(s);
  }
  (void)cudaGetLastError();
  const cudaError_t sticky = cudaDeviceSynchronize();
  (void)cudaGetLastError();
  if (sticky != cudaSuccess) {
    broken_reason = "CUDA context lost after " + routine + ": " + cuda_error_text(sticky);
    broken.store(true);
    log::error("cuda: device " + std::to_string(ordinal) + " " + broken_reason +
               "; the CUDA backend refuses further calls (restart rcpud to recover the GPU)");
    return;
  }
  // Release the device arena so the next call starts from a clean pool (and so the memory is
  // back for cuBLAS or another session after an out-of-memory failure).
  arena.release();
}

}  // namespace rcpu::backend::cuda
