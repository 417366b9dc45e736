#include "server/fftw/fft_call.h"

#include <fftw3.h>  // the planner flags travel as FFTW spells them

#include <algorithm>
#include <cstdint>

#include "common/log.h"
#include "rcpu_opcodes.h"

namespace rcpu::server::fftw {

using namespace rcpu::protocol;

namespace {

std::uint8_t* aligned64(std::uint8_t* p) {
  return reinterpret_cast<std::uint8_t*>((reinterpret_cast<std::uintptr_t>(p) + 63) & ~std::uintptr_t(63));
}

}  // namespace

std::optional<FftBuffers> borrow_fft_buffers(Session& session, std::uint64_t in_bytes, std::uint64_t out_bytes) {
  const std::uint64_t need[2] = {std::max<std::uint64_t>(in_bytes, 64) + 64,
                                 std::max<std::uint64_t>(out_bytes, 64) + 64};
  BufferCache& cache = session.buffers();
  if (!cache.prepare(need)) return std::nullopt;
  return FftBuffers{aligned64(cache.get(0)), aligned64(cache.get(1))};
}

FftBackends::FftBackends(SessionContext& ctx, FftSessionState& state, const FrameHeader& h, const FftRequest& req,
                         std::uint8_t* in, std::uint8_t* out, std::unique_ptr<backend::StreamedFft>* streamed)
    : ctx_(ctx),
      state_(state),
      h_(h),
      d_(req.desc),
      in_(in),
      out_(out),
      streamed_(streamed),
      primary_(ctx.primary.supports_fft(req.desc)),
      flags_(req.planner_flags) {}

void FftBackends::prepare() {
  auto& cache = cache_of(primary_);
  if (!cache) {
    cache = backend().new_fft_cache();
    cache->plan_seconds = ctx_.options.fft_plan_seconds;
  }
  backend().prepare_fft(*cache, d_, flags_, in_, out_);
  // Before the input too: a device backend allocates its buffers here, for input_arrived.
  if (streamed_) *streamed_ = backend().begin_fft(*cache, d_, flags_, in_, out_);
}

Fallback FftBackends::fallback_to_cpu(const char* what) {
  Fallback f;
  if (!primary_ || &ctx_.cpu == &ctx_.primary) return f;
  f.be = &ctx_.cpu;
  f.before = [this, what](const backend::BackendError& e) {
    log::info(std::string("FFT ") + opcode_name(h_.opcode) + ": " + ctx_.primary.name() + what + e.what() +
              "); the CPU backend runs it");
    primary_ = false;
  };
  return f;
}

std::optional<BackendFailure> FftBackends::plan() {
  std::uint64_t ns = 0;  // planning is not the call's compute time
  return run_on_backend(
      backend(), ns, [this] { prepare(); }, fallback_to_cpu(" cannot plan it ("));
}

std::optional<BackendFailure> FftBackends::transform(std::uint64_t& ns, const std::function<void()>& run) {
  Fallback to_cpu = fallback_to_cpu(" failed (");
  if (to_cpu.be) {
    auto logged = to_cpu.before;
    to_cpu.before = [this, logged](const backend::BackendError& e) {
      logged(e);
      if (streamed_) streamed_->reset();  // waits until the device lets go of the buffers
      flags_ = FFTW_ESTIMATE;
      prepare();
    };
  }
  return run_on_backend(backend(), ns, run, to_cpu);
}

void FftBackends::run_whole() { backend().fft(*cache_of(primary_), d_, flags_, in_, out_); }

}  // namespace rcpu::server::fftw
