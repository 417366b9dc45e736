// An FFT REQUEST on one connection (docs/protocol.md, "FFT requests"): a stop-and-wait call
// (core/stop_and_wait.h). Decode and check the descriptor, reserve memory, let the backend plan
// (cached per session), receive the packed input, run, send the packed output.
#pragma once

#include <optional>

#include "protocol/fft_request.h"
#include "protocol/frame.h"
#include "server/core/session.h"
#include "server/fftw/fft_call.h"

namespace rcpu::server::fftw {

// Serves a decoded one-connection FFT request. Returns why the connection must be closed (a
// request that fails its checks), or nothing: other failures (server memory, backend errors) get
// an ERROR reply and the session goes on.
std::optional<FftFatal> serve_fft_request(Session& session, FftSessionState& state, const protocol::FrameHeader& h,
                                          const protocol::FftRequest& req);

}  // namespace rcpu::server::fftw
