// One FFT request of a session (docs/protocol.md, "FFT requests"): decode and check the
// descriptor, reserve memory, let the backend plan (cached per session), receive the packed input,
// run, send the packed output.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "backends/backend.h"
#include "protocol/frame.h"
#include "server/session.h"

namespace rcpu::server {

// The session's FFT state: one plan cache per backend it used. Destroyed with the session.
struct FftSessionState {
  std::unique_ptr<backend::FftPlanCache> primary, cpu;
};

// Serves one REQUEST whose opcode is an FFT opcode. Returns a message when the connection must be
// closed (a body that does not decode, an absurd or over-limit descriptor: what follows on the
// stream cannot be trusted or drained); the caller then sends ERROR and hangs up. Other failures
// (server memory, backend errors) get an ERROR reply and the session goes on.
std::optional<std::string> serve_fft(transport::Connection& conn, SessionContext& ctx, FftSessionState& state,
                                     const protocol::FrameHeader& h);

}  // namespace rcpu::server
