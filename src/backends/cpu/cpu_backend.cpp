// The CPU backend: every Level-3 family in s/d/c/z and every offloaded LAPACK routine through
// OpenBLAS (calls generated from the spec: level3_cpu.h, lapack_cpu.h), FFTs through FFTW.
// It is also where every other backend's unsupported calls end up (the server falls through to it).
#include "backends/cpu/cpu_backend.h"

#include <algorithm>
#include <mutex>
#include <string>

#include "backends/cpu/lapack_cpu.h"
#include "backends/cpu/level3_cpu.h"
#include "backends/registry.h"

// OpenBLAS extensions (cblas.h / openblas_config.h), declared here rather than taken from its
// headers so the build does not depend on which OpenBLAS headers (or none) a machine has.
extern "C" {
char* openblas_get_config(void);
char* openblas_get_corename(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);
}

namespace rcpu::backend {
namespace {

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }

  std::string description() const override {
    const char* config = openblas_get_config();
    const char* core = openblas_get_corename();
    return std::string("cpu: ") + (config ? config : "OpenBLAS") + ", core " + (core ? core : "?") + ", " +
           std::to_string(openblas_get_num_threads()) + " threads";
  }

  bool is_host() const override { return true; }
  bool runs_every_call() const override { return true; }

  bool supports(const Level3Args& args) const override { return level3_cpu_supports(args.family, args.dtype); }

  void level3(const Level3Args& args, const void* a, const void* b, void* c) override {
    level3_cpu_call(args, a, b, c);
  }

  // LAPACK: OpenBLAS's own LAPACK, every offloaded routine (generated from the spec).
  bool supports_lapack(const LapackArgs& args) const override { return lapack_cpu_supports(args.opcode); }
  std::int64_t lapack(const LapackArgs& args, void* const* p) override { return lapack_cpu_call(args, p); }

  // FFTs: FFTW (fftw_ops.cpp).
  bool supports_fft(const FftDescriptor& d) const override { return fftw_supports(d); }
  std::unique_ptr<FftPlanCache> new_fft_cache() override { return fftw_new_cache(); }
  void prepare_fft(FftPlanCache& c, const FftDescriptor& d, unsigned flags, void* in, void* out) override {
    fftw_prepare(c, d, flags, in, out);
  }
  void fft(FftPlanCache& c, const FftDescriptor& d, unsigned flags, void* in, void* out) override {
    fftw_run(c, d, flags, in, out);
  }
};

// rcpud --backend cpu: the CPU as --virtual-devices devices (--devices does not apply).
std::vector<std::unique_ptr<Backend>> make_cpu_devices(const BackendOptions& options, std::string*) {
  std::vector<std::unique_ptr<Backend>> out;
  for (int i = 0; i < options.virtual_devices; ++i) out.push_back(make_cpu_backend(options));
  return out;
}

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(const BackendOptions& options) {
  // Virtual devices (placement): OpenBLAS's thread count is process-wide (no per-thread setting
  // before 0.3.27), so each of N devices running at once gets 1/N of the threads.
  if (options.virtual_devices > 1) {
    static std::once_flag once;
    std::call_once(
        once, [&] { openblas_set_num_threads(std::max(1, openblas_get_num_threads() / options.virtual_devices)); });
  }
  return std::make_unique<CpuBackend>();
}

BackendEntry cpu_backend_entry() {
  BackendEntry e;
  e.name = "cpu";
  e.help = "OpenBLAS and FFTW on this machine's CPU (--virtual-devices)";
  e.auto_preference = 0;
  e.fallback = true;
  e.make_devices = make_cpu_devices;
  return e;
}

}  // namespace rcpu::backend
