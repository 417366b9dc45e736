// The parts of backend.h every backend shares.
#include "backends/backend.h"

#include <new>
#include <string>

namespace rcpu::backend {
namespace {

class HostPanels final : public StreamedCall {
 public:
  HostPanels(Backend& be, const Level3Args& args, const void* a, const void* b, void* c)
      : be_(be), args_(args), a_(a), b_(static_cast<const unsigned char*>(b)), c_(static_cast<unsigned char*>(c)) {}
  void compute_panel(std::int64_t col0, std::int64_t cols) override {
    std::uint64_t b_off = 0, c_off = 0;
    const Level3Args p = level3_panel(args_, col0, cols, b_off, c_off);
    const std::size_t elem = element_size(args_.dtype);
    be_.level3(p, a_, b_ ? b_ + b_off * elem : nullptr, c_ + c_off * elem);
  }

 private:
  Backend& be_;
  Level3Args args_;
  const void* a_;
  const unsigned char* b_;
  unsigned char* c_;
};

// An FFT on host memory: nothing to overlap, the whole transform runs in execute().
class HostFft final : public StreamedFft {
 public:
  HostFft(Backend& be, FftPlanCache& cache, const FftDescriptor& d, unsigned flags, void* in, void* out)
      : be_(be), cache_(cache), d_(d), flags_(flags), in_(in), out_(out) {}
  void execute(const std::vector<FftRange>&) override { be_.fft(cache_, d_, flags_, in_, out_); }

 private:
  Backend& be_;
  FftPlanCache& cache_;
  FftDescriptor d_;
  unsigned flags_;
  void* in_;
  void* out_;
};

}  // namespace

std::unique_ptr<StreamedCall> Backend::begin_streamed(const Level3Args& args, const void* a, const void* b, void* c) {
  return std::make_unique<HostPanels>(*this, args, a, b, c);
}

namespace {
thread_local WorkspaceGate* t_gate = nullptr;
}  // namespace

WorkspaceScope::WorkspaceScope(WorkspaceGate* gate) : outer_(t_gate) { t_gate = gate; }
WorkspaceScope::~WorkspaceScope() { t_gate = outer_; }

void reserve_workspace(std::uint64_t bytes, const char* what) {
  if (!t_gate || t_gate->try_reserve(bytes)) return;
  throw WorkspaceRefused(std::string(what) + " of " + std::to_string(bytes) +
                         " bytes exceeds the server memory budget");
}

void* Backend::alloc_host(std::size_t bytes) { return ::operator new(bytes, std::nothrow); }
void Backend::free_host(void* p, std::size_t) { ::operator delete(p); }

bool Backend::supports_lapack(const LapackArgs&) const { return false; }

std::int64_t Backend::lapack(const LapackArgs&, void* const*) {
  throw BackendError(name() + " backend runs no LAPACK calls");
}

// A backend without FFTs: the server never routes one to it (supports_fft is false).
bool Backend::supports_fft(const FftDescriptor&) const { return false; }
std::unique_ptr<FftPlanCache> Backend::new_fft_cache() { return std::make_unique<FftPlanCache>(); }
void Backend::prepare_fft(FftPlanCache&, const FftDescriptor&, unsigned, void*, void*) {
  throw BackendError(name() + ": no FFTs");
}
void Backend::fft(FftPlanCache&, const FftDescriptor&, unsigned, void*, void*) {
  throw BackendError(name() + ": no FFTs");
}

std::unique_ptr<StreamedFft> Backend::begin_fft(FftPlanCache& cache, const FftDescriptor& packed,
                                                unsigned planner_flags, void* in, void* out) {
  return std::make_unique<HostFft>(*this, cache, packed, planner_flags, in, out);
}

}  // namespace rcpu::backend
