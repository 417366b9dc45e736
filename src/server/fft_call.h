// One FFT request of a session (docs/protocol.md, "FFT requests"): decode and check the
// descriptor, reserve memory, let the backend plan (cached per session), receive the packed input,
// run, send the packed output.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "backends/backend.h"
#include "protocol/frame.h"
#include "protocol/status.h"
#include "server/fft_stripes.h"
#include "server/memory_budget.h"
#include "server/session.h"

namespace rcpu::server {

// A host buffer kept across the session's FFT calls (page-locked when the backend gives such memory:
// allocating and pinning gigabytes per call would cost more than the transfer), 64-byte aligned
// (every FFTW plan made on one such buffer runs on any other), counted in the memory budget.
class FftHostBuffer {
 public:
  FftHostBuffer() = default;
  FftHostBuffer(const FftHostBuffer&) = delete;
  FftHostBuffer& operator=(const FftHostBuffer&) = delete;
  ~FftHostBuffer() { release(); }
  // At least `bytes`, or null when the budget or the allocation says no.
  std::uint8_t* get(backend::Backend& be, MemoryBudget& budget, std::uint64_t bytes);

 private:
  void release();
  backend::Backend* be_ = nullptr;
  MemoryBudget* budget_ = nullptr;
  void* raw_ = nullptr;
  std::uint64_t cap_ = 0;
};

// The session's FFT state: one plan cache per backend it used, and its buffers. Destroyed with
// the session, however it ends.
struct FftSessionState {
  std::unique_ptr<backend::FftPlanCache> primary, cpu;
  FftHostBuffer in, out;
};

// Why the connection of an FFT request must be closed; the caller sends ERROR(code, closing).
struct FftFatal {
  protocol::ErrorCode code;
  std::string message;
};

// Serves one REQUEST whose opcode is an FFT opcode, one connection's or (kFlagStriped) striped
// over several, whose other connections JOIN through ctx.fft_calls. Returns why the connection
// must be closed (a body that does not decode, an absurd or over-limit descriptor: what follows
// on the stream cannot be trusted or drained; any failure of a striped call); the caller then
// sends ERROR and hangs up. Other failures of a one-connection call (server memory, backend
// errors) get an ERROR reply and the session goes on.
std::optional<FftFatal> serve_fft(transport::Connection& conn, SessionContext& ctx, FftSessionState& state,
                                  const protocol::FrameHeader& h);

}  // namespace rcpu::server
