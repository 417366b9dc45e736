// The CPU backend's FFTs: FFTW's guru64 interface on the packed layout, one plan per descriptor
// cached per session. FFTW's planner is not thread-safe and every session has its own thread, so
// planning and destroying plans take one process-wide lock; executing a plan is thread-safe in
// FFTW and runs without it (fftw_execute_dft & co. on the session's buffers, which are always
// 64-byte aligned, as were the buffers the plan was made on).
#include <fftw3.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <list>
#include <mutex>
#include <tuple>
#include <utility>
#include <vector>

#include "backends/cpu/cpu_backend.h"

namespace rcpu::backend {
namespace {

std::mutex& planner_mutex() {
  static std::mutex m;
  return m;
}

// Larger transforms are planned with FFTW_ESTIMATE whatever the application asked: one
// measurement of such a transform alone takes longer than the planning time limit.
constexpr std::uint64_t kMeasureMaxBytes = 64ull << 20;

// The rigor the application asked for, capped at FFTW_MEASURE (a PATIENT/EXHAUSTIVE plan of a
// large transform can take minutes of server time), FFTW_ESTIMATE past kMeasureMaxBytes of input
// and output, without WISDOM_ONLY (the server has its own wisdom); always out of place on the
// server's own buffers, so the input may be destroyed.
unsigned server_flags(const FftDescriptor& d, unsigned app_flags) {
  const unsigned rigor = app_flags & (FFTW_ESTIMATE | FFTW_MEASURE | FFTW_PATIENT | FFTW_EXHAUSTIVE);
  const std::uint64_t bytes = fft_in_bytes(d) + fft_out_bytes(d);
  const unsigned capped = (rigor & FFTW_ESTIMATE) || bytes > kMeasureMaxBytes ? FFTW_ESTIMATE : FFTW_MEASURE;
  return capped | FFTW_DESTROY_INPUT;
}

std::atomic<std::int64_t> g_live_plans{0};

void destroy_plan(int precision, void* p) {
  if (precision == int(FftPrecision::f64))
    fftw_destroy_plan(static_cast<fftw_plan>(p));
  else
    fftwf_destroy_plan(static_cast<fftwf_plan>(p));
  g_live_plans.fetch_sub(1);
}

using Key = std::tuple<int, int, int, std::vector<std::int64_t>, unsigned>;
Key key_of(const FftDescriptor& d, unsigned flags) {
  std::vector<std::int64_t> v;
  for (const FftDim& x : d.dims) v.insert(v.end(), {x.n, x.is, x.os});
  v.push_back(-1);
  for (const FftDim& x : d.howmany) v.insert(v.end(), {x.n, x.is, x.os});
  return {int(d.kind), int(d.precision), d.sign, v, flags};
}

// At most kMaxFftwPlans plans, the least recently used destroyed first (each plan holds its
// twiddle tables: megabytes for a large transform).
class FftwCache final : public FftPlanCache {
 public:
  ~FftwCache() override {
    std::lock_guard<std::mutex> lock(planner_mutex());
    for (auto& [k, p] : plans_) destroy_plan(std::get<1>(k), p);
  }
  void* find(const Key& k) {
    auto it = std::find_if(plans_.begin(), plans_.end(), [&](const auto& e) { return e.first == k; });
    if (it == plans_.end()) return nullptr;
    plans_.splice(plans_.begin(), plans_, it);  // most recently used first
    return it->second;
  }
  void add(const Key& k, void* p) {
    plans_.emplace_front(k, p);
    std::lock_guard<std::mutex> lock(planner_mutex());
    while (plans_.size() > kMaxFftwPlans) {
      destroy_plan(std::get<1>(plans_.back().first), plans_.back().second);
      plans_.pop_back();
    }
  }

 private:
  std::list<std::pair<Key, void*>> plans_;
};

template <class IoDim>
std::vector<IoDim> iodims(const std::vector<FftDim>& v) {
  std::vector<IoDim> r;
  for (const FftDim& x : v) r.push_back(IoDim{x.n, x.is, x.os});
  return r;
}

void* make_plan_locked(const FftDescriptor& d, unsigned flags, void* in, void* out) {
  const auto dims = iodims<fftw_iodim64>(d.dims);
  const auto hm = iodims<fftw_iodim64>(d.howmany);
  const int r = int(dims.size()), hr = int(hm.size());
  if (d.precision == FftPrecision::f64) {
    switch (d.kind) {
      case FftKind::c2c:
        return fftw_plan_guru64_dft(r, dims.data(), hr, hm.data(), static_cast<fftw_complex*>(in),
                                    static_cast<fftw_complex*>(out), d.sign, flags);
      case FftKind::r2c:
        return fftw_plan_guru64_dft_r2c(r, dims.data(), hr, hm.data(), static_cast<double*>(in),
                                        static_cast<fftw_complex*>(out), flags);
      case FftKind::c2r:
        return fftw_plan_guru64_dft_c2r(r, dims.data(), hr, hm.data(), static_cast<fftw_complex*>(in),
                                        static_cast<double*>(out), flags);
    }
  } else {
    switch (d.kind) {
      case FftKind::c2c:
        return fftwf_plan_guru64_dft(r, dims.data(), hr, hm.data(), static_cast<fftwf_complex*>(in),
                                     static_cast<fftwf_complex*>(out), d.sign, flags);
      case FftKind::r2c:
        return fftwf_plan_guru64_dft_r2c(r, dims.data(), hr, hm.data(), static_cast<float*>(in),
                                         static_cast<fftwf_complex*>(out), flags);
      case FftKind::c2r:
        return fftwf_plan_guru64_dft_c2r(r, dims.data(), hr, hm.data(), static_cast<fftwf_complex*>(in),
                                         static_cast<float*>(out), flags);
    }
  }
  return nullptr;
}

void* make_plan(const FftDescriptor& d, unsigned flags, double seconds, void* in, void* out) {
  void* p = nullptr;
  {
    std::lock_guard<std::mutex> lock(planner_mutex());
    // The time limit is the planner's (process-wide) state: set for each plan, under the lock.
    fftw_set_timelimit(seconds);
    fftwf_set_timelimit(seconds);
    p = make_plan_locked(d, flags, in, out);
  }
  if (p) g_live_plans.fetch_add(1);
  return p;
}

}  // namespace

bool fftw_supports(const FftDescriptor&) { return true; }

std::int64_t fftw_live_plans() { return g_live_plans.load(); }

std::unique_ptr<FftPlanCache> fftw_new_cache() { return std::make_unique<FftwCache>(); }

void fftw_prepare(FftPlanCache& cache, const FftDescriptor& d, unsigned planner_flags, void* in, void* out) {
  auto& c = dynamic_cast<FftwCache&>(cache);
  const unsigned flags = server_flags(d, planner_flags);
  const Key k = key_of(d, flags);
  if (c.find(k)) return;
  void* p = make_plan(d, flags, c.plan_seconds, in, out);
  if (!p) throw BackendError("cpu: FFTW cannot plan this transform");
  c.add(k, p);
}

void fftw_run(FftPlanCache& cache, const FftDescriptor& d, unsigned planner_flags, void* in, void* out) {
  auto& c = dynamic_cast<FftwCache&>(cache);
  void* p = c.find(key_of(d, server_flags(d, planner_flags)));  // made by fftw_prepare
  if (!p) throw BackendError("cpu: FFT executed without a plan");
  if (d.precision == FftPrecision::f64) {
    auto* pl = static_cast<fftw_plan>(p);
    switch (d.kind) {
      case FftKind::c2c:
        return fftw_execute_dft(pl, static_cast<fftw_complex*>(in), static_cast<fftw_complex*>(out));
      case FftKind::r2c:
        return fftw_execute_dft_r2c(pl, static_cast<double*>(in), static_cast<fftw_complex*>(out));
      case FftKind::c2r:
        return fftw_execute_dft_c2r(pl, static_cast<fftw_complex*>(in), static_cast<double*>(out));
    }
  } else {
    auto* pl = static_cast<fftwf_plan>(p);
    switch (d.kind) {
      case FftKind::c2c:
        return fftwf_execute_dft(pl, static_cast<fftwf_complex*>(in), static_cast<fftwf_complex*>(out));
      case FftKind::r2c:
        return fftwf_execute_dft_r2c(pl, static_cast<float*>(in), static_cast<fftwf_complex*>(out));
      case FftKind::c2r:
        return fftwf_execute_dft_c2r(pl, static_cast<fftwf_complex*>(in), static_cast<float*>(out));
    }
  }
}

}  // namespace rcpu::backend
