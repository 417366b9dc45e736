// One FFT striped over several connections of a client (docs/protocol.md, "Striped FFTs"): the
// primary connection's session (serve_striped_fft) owns the buffers, plans and computes; every
// joined connection's session thread receives its range of the packed input into the one input
// buffer and, once the transform has run, sends its range of the packed output. What they share
// lives here, under the call's one mutex (core/striping.h: what every striped call shares). Input
// and output move in pieces (kFftPiece) through the backend's StreamedFft, so a GPU copies each
// piece while the others are still on the wire.
#pragma once

#include <cstdint>
#include <optional>

#include "backends/backend.h"
#include "protocol/fft_request.h"
#include "protocol/frame.h"
#include "server/core/session.h"
#include "server/core/striping.h"
#include "server/fftw/fft_call.h"
#include "transport/transport.h"

namespace rcpu::server::fftw {
// The unit of overlap: each stripe announces its input to the backend, and waits for its output
// from it, in pieces of this size. Small enough that the copies left after the last byte arrives
// (about one piece per stripe) are short, large enough that per-piece costs (a device copy, an
// event, a DATA frame) vanish.
inline constexpr std::uint64_t kFftPiece = 4ull << 20;

struct FftStripedCall final : StripedCall {
  using StripedCall::StripedCall;

  // Fixed before `started` is set.
  std::uint64_t request_id = 0;
  std::uint32_t opcode = 0;
  std::uint8_t* in = nullptr;
  std::uint8_t* out = nullptr;
  std::uint64_t in_bytes = 0, out_bytes = 0;
  // The running transform: set with `started`, replaced (CPU fallback) only before `computed`.
  // Owned by the primary, which outlives every joined stripe's use of it.
  backend::StreamedFft* fft = nullptr;

  // Under mu (StripedCall).
  bool computed = false;                    // the transform ran: the joined stripes may send (each piece once in `out`)
  int received = 0;                         // joined stripes whose input range is in
  std::uint64_t wire_in = 0, wire_out = 0;  // bytes of the joined stripes

  // Joined stripe `s`: receives its input range, waits for the transform, sends its output range.
  // A failed call ends the session (CloseSession).
  void serve_stripe(transport::Connection& conn, int s) override;
};

// Receives bytes [first, end) of the call's packed input on `conn` into call.in, announcing each
// piece to `fft` as it lands. Returns the wire bytes.
std::uint64_t recv_fft_input(transport::Connection& conn, const FftStripedCall& call, backend::StreamedFft& fft,
                             std::uint64_t first, std::uint64_t end);
// Sends bytes [first, end) of the call's packed output on `conn` (operand 1), piece by piece, each
// once `fft` has it in call.out. Returns the wire bytes. Throws BackendError when the device failed.
std::uint64_t send_fft_output(transport::Connection& conn, const FftStripedCall& call, backend::StreamedFft& fft,
                              std::uint64_t first, std::uint64_t end);

// Serves a decoded striped FFT request (kFlagStriped, stripe count checked) as the call's primary.
// Returns why the connection must be closed: any failure of a striped call closes it, and the
// client discards every connection of the call.
std::optional<FftFatal> serve_striped_fft(Session& session, FftSessionState& state, const protocol::FrameHeader& h,
                                          const protocol::StripedFftRequest& sreq);

}  // namespace rcpu::server::fftw
