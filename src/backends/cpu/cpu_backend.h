// The CPU backend (OpenBLAS, FFTW): every Level-3, LAPACK and FFT call on host memory. It is the
// registry's fallback (registry.h): the server sends it whatever another backend does not run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "backends/backend.h"

namespace rcpu::backend {

// One device of options.virtual_devices (options.devices is ignored).
std::unique_ptr<Backend> make_cpu_backend(const BackendOptions& options);

// The CPU backend's FFTs (FFTW; backends/cpu/fftw_ops.cpp), also the fallthrough of other backends.
bool fftw_supports(const FftDescriptor& packed);
// The most plans one FFTW plan cache (one session's) keeps; the least recently used goes first.
inline constexpr std::size_t kMaxFftwPlans = 8;
// FFTW plans alive in the process (every cache together): what the tests watch.
std::int64_t fftw_live_plans();
std::unique_ptr<FftPlanCache> fftw_new_cache();
void fftw_prepare(FftPlanCache& cache, const FftDescriptor& packed, unsigned planner_flags, void* in, void* out);
void fftw_run(FftPlanCache& cache, const FftDescriptor& packed, unsigned planner_flags, void* in, void* out);

}  // namespace rcpu::backend
