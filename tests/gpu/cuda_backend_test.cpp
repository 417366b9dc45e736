// The CUDA backend against the CPU backend: every Level-3 family x s/d/c/z x options x shapes,
// through several staging/pipeline configurations, plus exact-arithmetic, concurrency,
// supports(), missing-device and out-of-memory checks.
//
// Needs a GPU. Without one it prints SKIPPED and exits 77, which CTest reports as skipped
// (SKIP_RETURN_CODE), never as passed.
#include <cuda_runtime.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "backends/backend.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/cuda/cuda_backend.h"
#include "l3_check.h"

using namespace rcpu;
using namespace rcpu::backend;

namespace {

std::atomic<int> failures{0};
std::atomic<int> passed{0};

void fail(const std::string& what) {
  ++failures;
  std::fprintf(stderr, "FAIL: %s\n", what.c_str());
}

// Host memory for an operand: ordinary (pageable) like the server's buffers today, or page-locked
// (the backend then copies it by DMA directly, without staging).
template <class T>
class HostBuf {
 public:
  HostBuf(const std::vector<T>& init, bool pinned) : n_(init.size()), pinned_(pinned) {
    if (n_ == 0) return;
    if (pinned_) {
      if (cudaHostAlloc(reinterpret_cast<void**>(&p_), n_ * sizeof(T), cudaHostAllocDefault) != cudaSuccess) {
        (void)cudaGetLastError();
        pinned_ = false;
      }
    }
    if (!pinned_) {
      v_ = init;
      p_ = v_.data();
    } else {
      std::memcpy(p_, init.data(), n_ * sizeof(T));
    }
  }
  ~HostBuf() {
    if (pinned_ && p_) (void)cudaFreeHost(p_);
  }
  HostBuf(const HostBuf&) = delete;
  HostBuf& operator=(const HostBuf&) = delete;
  T* data() { return n_ ? p_ : nullptr; }
  std::vector<T> vec() const { return std::vector<T>(p_, p_ + n_); }

 private:
  std::size_t n_;
  bool pinned_;
  T* p_ = nullptr;
  std::vector<T> v_;
};

template <class T>
bool check_case(Backend& gpu, Backend& cpu, const Level3Args& x, std::uint64_t seed, bool pinned, const char* config) {
  const l3check::Operands<T> ops = l3check::make_operands<T>(x, seed);
  const bool beta_zero = level3_shapes(x).c.role == Role::out;
  // The GPU must not read C when beta == 0: give it NaN there (the CPU reference gets zeros).
  std::vector<T> gpu_c0 = ops.c, want = ops.c;
  if (beta_zero) {
    std::fill(gpu_c0.begin(), gpu_c0.end(), l3check::nan_value<T>());
    std::fill(want.begin(), want.end(), T(0));
  }
  HostBuf<T> a(ops.a, pinned), b(ops.b, pinned), c(gpu_c0, pinned);
  if (!gpu.supports(x)) {
    fail(std::string(config) + ": supports() is false for " + l3check::describe(x));
    return false;
  }
  try {
    gpu.level3(x, a.data(), b.data(), c.data());
  } catch (const std::exception& e) {
    fail(std::string(config) + ": " + l3check::describe(x) + ": threw: " + e.what());
    return false;
  }
  cpu.level3(x, ops.a.empty() ? nullptr : ops.a.data(), ops.b.empty() ? nullptr : ops.b.data(), want.data());
  const l3check::Verdict v = l3check::compare<T>(x, c.vec(), want);
  if (!v.ok) {
    fail(std::string(config) + ": " + l3check::describe(x) + (pinned ? " (pinned host buffers)" : "") + ": " + v.why);
    return false;
  }
  ++passed;
  return true;
}

bool check_any(Backend& gpu, Backend& cpu, const Level3Args& x, std::uint64_t seed, bool pinned, const char* config) {
  switch (x.dtype) {
    case Dtype::s:
      return check_case<float>(gpu, cpu, x, seed, pinned, config);
    case Dtype::d:
      return check_case<double>(gpu, cpu, x, seed, pinned, config);
    case Dtype::c:
      return check_case<std::complex<float>>(gpu, cpu, x, seed, pinned, config);
    case Dtype::z:
      return check_case<std::complex<double>>(gpu, cpu, x, seed, pinned, config);
  }
  return false;
}

using Filter = std::function<bool(const Level3Args&)>;
bool everything(const Level3Args&) { return true; }
bool gemm_and_trsm(const Level3Args& x) { return x.family == L3Family::gemm || x.family == L3Family::trsm; }
bool gemm_only(const Level3Args& x) { return x.family == L3Family::gemm; }

void run_matrix(Backend& gpu, Backend& cpu, const std::vector<l3check::Shape>& shapes, const std::vector<Dtype>& types,
                const char* config, const Filter& filter = everything, bool pinned = false) {
  const auto t0 = std::chrono::steady_clock::now();
  int n = 0, bad = 0;
  std::uint64_t seed = 1000;
  for (const Level3Args& x : l3check::all_cases(shapes, types)) {
    if (!filter(x)) continue;
    ++n;
    if (!check_any(gpu, cpu, x, seed++, pinned, config)) ++bad;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[%s] %d cases, %d failed (%.1f s)\n", config, n, bad, s);
}

// TF32 (10 mantissa bits) would round 1 + 2^-12 to 1, so C would be exactly k = 256; in FP32 every
// product is 1 + 2^-11 and every partial sum is exact, whatever the order: C = 256.125.
template <class T>
void check_exact_math(Backend& gpu) {
  Level3Args x;
  x.family = L3Family::gemm;
  x.dtype = std::is_same_v<T, float> ? Dtype::s : Dtype::c;
  x.m = x.n = x.k = 256;
  x.alpha = 1;
  x.beta = 0;
  l3check::set_packed_lds(x);
  const float v = 1.0f + std::ldexp(1.0f, -12);
  std::vector<T> a(256 * 256, T(v)), b(256 * 256, T(v)), c(256 * 256, T(0));
  try {
    gpu.level3(x, a.data(), b.data(), c.data());
  } catch (const std::exception& e) {
    fail(std::string("exact-math probe threw: ") + e.what());
    return;
  }
  const double got = double(std::real(c[0]));
  const double expect = 256.125;
  if (got != expect)
    fail("exact-math probe " + routine_name(x.family, x.dtype) + ": got " + std::to_string(got) + ", want " +
         std::to_string(expect) + " (reduced-precision math, TF32?)");
  else
    ++passed;
}

void check_concurrency(Backend& gpu, Backend& cpu) {
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 8; ++i) {
        Level3Args x;
        x.family = (i % 2) ? L3Family::gemm : L3Family::trsm;
        x.dtype = (t % 2) ? Dtype::z : Dtype::d;
        x.m = 150 + 37 * t;
        x.n = 520 + 11 * i;
        x.k = 90 + 5 * i;
        x.side = 'L';
        x.transa = 'N';
        x.alpha = {0.5, 0.25};
        x.beta = {1.5, 0};
        if (x.dtype == Dtype::d) x.alpha = {0.5, 0};
        if (x.family == L3Family::trsm) x.beta = 0;
        l3check::set_packed_lds(x);
        const std::uint64_t seed = std::uint64_t(t * 100 + i);
        const bool ok = x.dtype == Dtype::d ? check_case<double>(gpu, cpu, x, seed, false, "concurrent")
                                            : check_case<std::complex<double>>(gpu, cpu, x, seed, false, "concurrent");
        if (!ok) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  std::printf("[concurrent] 4 threads x 8 calls, %d failed\n", bad.load());
}

void check_supports(Backend& gpu) {
  Level3Args x;
  x.family = L3Family::gemm;
  x.dtype = Dtype::d;
  x.m = x.n = x.k = 64;
  x.alpha = 1;
  l3check::set_packed_lds(x);
  if (!gpu.supports(x)) fail("supports(): false for a 64^3 dgemm");
  x.m = x.n = x.k = std::int64_t(1) << 20;  // 8 TiB per operand
  l3check::set_packed_lds(x);
  if (gpu.supports(x)) fail("supports(): true for a dgemm of 3 x 8 TiB");
  Level3Args h;
  h.family = L3Family::herk;
  h.dtype = Dtype::d;
  h.n = h.k = 8;
  h.alpha = 1;
  l3check::set_packed_lds(h);
  if (gpu.supports(h)) fail("supports(): true for herk on real data");
  ++passed;
}

void check_missing_device(int count) {
  for (int ordinal : {count, count + 7, -1}) {
    BackendOptions o;
    o.devices = {ordinal};
    try {
      auto b = make_cuda_backend(o);
      fail("make_cuda_backend accepted missing GPU ordinal " + std::to_string(ordinal));
    } catch (const BackendError& e) {
      std::printf("[missing device %d] BackendError: %s\n", ordinal, e.what());
      ++passed;
    }
  }
}

// Fills the GPU so that a call cannot get its device memory: the backend must throw BackendError
// (not abort), and once memory is back the same backend must work again.
void check_out_of_memory(Backend& cpu) {
  std::unique_ptr<Backend> gpu;
  try {
    gpu = make_cuda_backend({});
  } catch (const BackendError& e) {
    fail(std::string("make_cuda_backend for the OOM test: ") + e.what());
    return;
  }
  Level3Args x;
  x.family = L3Family::gemm;
  x.dtype = Dtype::d;
  x.m = x.n = x.k = 6000;  // 3 x 275 MiB on the device
  x.alpha = 1;
  x.beta = 1;
  l3check::set_packed_lds(x);
  std::size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
    fail("cudaMemGetInfo");
    return;
  }
  void* hog = nullptr;
  const std::size_t leave = std::size_t(200) << 20;  // less than the call needs
  if (free_b <= leave || cudaMalloc(&hog, free_b - leave) != cudaSuccess) {
    (void)cudaGetLastError();
    std::printf("[oom] could not fill the device; OOM check not run\n");
    return;
  }
  if (gpu->supports(x)) fail("supports() true while the device is full");
  const l3check::Operands<double> ops = l3check::make_operands<double>(x, 42);
  std::vector<double> c = ops.c;
  bool threw = false;
  try {
    gpu->level3(x, ops.a.data(), ops.b.data(), c.data());
  } catch (const BackendError& e) {
    threw = true;
    std::printf("[oom] BackendError as expected: %s\n", e.what());
    if (std::string(e.what()).find("out of") == std::string::npos)
      fail(std::string("OOM message unclear: ") + e.what());
  }
  (void)cudaFree(hog);
  if (!threw) fail("a dgemm that cannot fit on the device did not throw");
  if (!gpu->supports(x)) fail("supports() still false after the memory came back");
  if (check_case<double>(*gpu, cpu, x, 43, false, "after-oom")) ++passed;
}

void setenv_all(std::initializer_list<std::pair<const char*, const char*>> kv) {
  for (const char* name :
       {"RCPU_CUDA_STAGING", "RCPU_CUDA_STAGE_MB", "RCPU_CUDA_STAGE_SLOTS", "RCPU_CUDA_COPY_THREADS",
        "RCPU_CUDA_PIPELINE_STEPS", "RCPU_CUDA_MIN_STEP_MB", "RCPU_CUDA_K_OUTER", "RCPU_CUDA_FLOPS_PER_BYTE"})
    unsetenv(name);
  for (const auto& [k, v] : kv) setenv(k, v, 1);
}

}  // namespace

int main() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    std::printf("SKIPPED: no CUDA GPU (%s)\n",
                e != cudaSuccess ? cudaGetErrorString(e) : "cudaGetDeviceCount returned 0");
    return 77;
  }
  auto cpu = make_cpu_backend({});
  std::printf("cpu: %s\n", cpu->description().c_str());

  const std::vector<l3check::Shape> small = {{1, 1, 1}, {7, 5, 3}, {64, 33, 17}, {131, 97, 45}, {5, 4, 0}};
  const std::vector<l3check::Shape> with_large = {{1, 1, 1}, {7, 5, 3}, {131, 97, 45}, {5, 4, 0}, {600, 1100, 300}};
  const std::vector<Dtype> all_types = {Dtype::s, Dtype::d, Dtype::c, Dtype::z};

  try {
    // 1. Tiny staging slots, two of them, and a low pipelining threshold: every call goes through
    //    many chunks, and the 600 x 1100 shapes through several column steps.
    setenv_all({{"RCPU_CUDA_STAGE_MB", "1"},
                {"RCPU_CUDA_STAGE_SLOTS", "2"},
                {"RCPU_CUDA_MIN_STEP_MB", "1"},
                {"RCPU_CUDA_COPY_THREADS", "3"}});
    {
      auto gpu = make_cuda_backend({});
      std::printf("gpu (small chunks): %s\n", gpu->description().c_str());
      run_matrix(*gpu, *cpu, with_large, all_types, "small-chunks");
      // Page-locked operands with k deep enough for several chunks: gemm's k-outer schedule
      // (k_outer_plan.h) over all columns (at these sizes the copies outpace the GPU), every
      // transpose, both beta kinds.
      run_matrix(*gpu, *cpu, {{600, 1100, 1300}, {900, 300, 700}}, all_types, "k-outer-pinned", gemm_only,
                 /*pinned=*/true);
    }
    // The same with a balance of 1 flop a byte: a narrow k-outer block, then trailing column steps.
    setenv_all({{"RCPU_CUDA_MIN_STEP_MB", "1"}, {"RCPU_CUDA_FLOPS_PER_BYTE", "1"}});
    {
      auto gpu = make_cuda_backend({});
      run_matrix(*gpu, *cpu, {{600, 1100, 1300}, {900, 300, 700}}, all_types, "k-outer-trailing", gemm_only,
                 /*pinned=*/true);
    }
    // 2. Defaults, as rcpud runs.
    setenv_all({});
    auto gpu = make_cuda_backend({});
    std::printf("gpu (defaults): %s\n", gpu->description().c_str());
    run_matrix(*gpu, *cpu, small, all_types, "defaults");
    // Large enough for the default thresholds to pipeline (dgemm 3 steps, zgemm 7).
    run_matrix(*gpu, *cpu, {{3000, 4000, 1500}}, {Dtype::d, Dtype::z}, "defaults-large", gemm_only);
    run_matrix(*gpu, *cpu, {{131, 97, 45}, {600, 1100, 300}}, {Dtype::d, Dtype::c}, "pinned-host", gemm_and_trsm,
               /*pinned=*/true);
    check_exact_math<float>(*gpu);
    check_exact_math<std::complex<float>>(*gpu);
    check_supports(*gpu);
    check_concurrency(*gpu, *cpu);
    // 3. Driver-staged copies from pageable memory.
    setenv_all({{"RCPU_CUDA_STAGING", "pageable"}});
    {
      auto pageable = make_cuda_backend({});
      run_matrix(*pageable, *cpu, with_large, all_types, "pageable", gemm_and_trsm);
    }
    setenv_all({});
    check_missing_device(count);
    gpu.reset();
    check_out_of_memory(*cpu);
  } catch (const std::exception& ex) {
    fail(std::string("unexpected exception: ") + ex.what());
  }

  if (failures) {
    std::printf("FAILED: %d failure(s), %d passed\n", failures.load(), passed.load());
    return 1;
  }
  std::printf("PASSED: %d checks\n", passed.load());
  return 0;
}
