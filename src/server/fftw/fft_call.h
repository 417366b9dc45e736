// What every FFT request of a session needs (docs/protocol.md, "FFT requests"), on one connection
// (fftw/fft_request.h) or striped over several (fftw/fft_stripes.h): the session's FFT buffers and
// plans, and the choice of the backend that plans and runs the transform.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "backends/backend.h"
#include "protocol/fft_request.h"
#include "protocol/frame.h"
#include "protocol/status.h"
#include "server/core/memory_budget.h"
#include "server/core/session.h"
#include "server/core/stop_and_wait.h"

namespace rcpu::server::fftw {

// The packed input and output of one FFT call, borrowed from the server's operand pool
// (Session::buffers: charged to the memory budget while lent, page-locked when the backend gives
// such memory, given back after the request, idle ones freed before any reservation is refused),
// 64-byte aligned (every FFTW plan made on one such buffer runs on any other).
struct FftBuffers {
  std::uint8_t* in = nullptr;
  std::uint8_t* out = nullptr;
};
// Nothing when the budget or the allocator says no.
std::optional<FftBuffers> borrow_fft_buffers(Session& session, std::uint64_t in_bytes, std::uint64_t out_bytes);

// The session's FFT state: one plan cache per backend it used (each bounded by the backend, e.g.
// the CPU backend's LRU of kMaxFftwPlans). Destroyed with the session, however it ends.
struct FftSessionState {
  std::unique_ptr<backend::FftPlanCache> primary, cpu;
};

// Why the connection of an FFT request must be closed; the caller sends ERROR(code, closing).
struct FftFatal {
  protocol::ErrorCode code;
  std::string message;
};

// Which backend plans and runs one transform: the primary backend if it describes the transform,
// else (or when it fails) the CPU backend: a failure of the GPU path must not cost the client a
// round trip and a local rerun.
class FftBackends {
 public:
  // `streamed` non-null: a striped call, run through the backend's StreamedFft, begun by plan().
  FftBackends(SessionContext& ctx, FftSessionState& state, const protocol::FrameHeader& h,
              const protocol::FftRequest& req, std::uint8_t* in, std::uint8_t* out,
              std::unique_ptr<backend::StreamedFft>* streamed = nullptr);

  // The backend the transform runs on (the CPU backend after a fall-through).
  backend::Backend& backend() const { return primary_ ? ctx_.primary : ctx_.cpu; }

  // Plans, before the input arrives (MEASURE planning may overwrite the buffers; a device backend
  // allocates its buffers here, for input_arrived). A primary that cannot plan passes the call to
  // the CPU backend.
  std::optional<BackendFailure> plan();
  // Runs the transform, timing it into `ns`: `run` runs it on backend() with the plan of plan().
  // When the primary fails, the CPU backend runs it from the same buffers (the device only read the
  // host input), with an FFTW_ESTIMATE plan (which never touches them).
  std::optional<BackendFailure> transform(std::uint64_t& ns, const std::function<void()>& run);

  // One-connection calls: the transform on backend(), in and out as given.
  void run_whole();

 private:
  std::unique_ptr<backend::FftPlanCache>& cache_of(bool primary) { return primary ? state_.primary : state_.cpu; }
  void prepare();
  // The CPU backend, when the primary runs the call and another backend is there to fall to.
  Fallback fallback_to_cpu(const char* what);

  SessionContext& ctx_;
  FftSessionState& state_;
  const protocol::FrameHeader h_;
  const FftDescriptor d_;
  std::uint8_t* const in_;
  std::uint8_t* const out_;
  std::unique_ptr<backend::StreamedFft>* const streamed_;
  bool primary_;
  unsigned flags_;
};

}  // namespace rcpu::server::fftw
