// One FFT striped over several connections of a client (docs/protocol.md, "Striped FFTs"): the
// primary connection's session (serve_fft) owns the buffers, plans and computes; every joined
// connection's session thread receives its range of the packed input into the one input buffer
// and, once the transform has run, sends its range of the packed output. Everything they share
// lives here, under one mutex. Input and output move in pieces (kFftPiece) through the backend's
// StreamedFft, so a GPU copies each piece while the others are still on the wire.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "server/stripe_registry.h"
#include "transport/transport.h"

namespace rcpu::server {

// The unit of overlap: each stripe announces its input to the backend, and waits for its output
// from it, in pieces of this size. Small enough that the copies left after the last byte arrives
// (about one piece per stripe) are short, large enough that per-piece costs (a device copy, an
// event, a DATA frame) vanish.
inline constexpr std::uint64_t kFftPiece = 4ull << 20;

struct FftStripedCall {
  // Fixed before `started` is set.
  std::uint64_t request_id = 0;
  std::uint32_t opcode = 0;
  std::uint8_t* in = nullptr;
  std::uint8_t* out = nullptr;
  std::uint64_t in_bytes = 0, out_bytes = 0;
  int stripes = 2;
  // The running transform: set with `started`, replaced (CPU fallback) only before `computed`.
  // Owned by the primary, which outlives every joined stripe's use of it.
  backend::StreamedFft* fft = nullptr;

  std::mutex mu;
  std::condition_variable cv;
  std::vector<transport::Connection*> conns;  // null: not attached (or finished)
  std::vector<bool> attached;
  bool started = false;                     // buffers ready: the joined stripes may receive
  bool computed = false;                    // the transform ran: the joined stripes may send (each piece once in `out`)
  bool abort = false;                       // the call failed: every thread of it stops
  int received = 0;                         // joined stripes whose input range is in
  int finished = 0;                         // joined stripes that are over (either way)
  std::uint64_t wire_in = 0, wire_out = 0;  // bytes of the joined stripes

  // Shuts down every attached connection but `keep` (mu held): every thread of the call wakes.
  void fail_all(transport::Connection* keep = nullptr);
  int joined() const;  // attached stripes other than 0 (mu held)
};

using FftCallRegistry = StripeRegistry<FftStripedCall>;

// Receives bytes [first, end) of the call's packed input on `conn` into call.in, announcing each
// piece to `fft` as it lands. Returns the wire bytes.
std::uint64_t recv_fft_input(transport::Connection& conn, const FftStripedCall& call, backend::StreamedFft& fft,
                             std::uint64_t first, std::uint64_t end);
// Sends bytes [first, end) of the call's packed output on `conn` (operand 1), piece by piece, each
// once `fft` has it in call.out. Returns the wire bytes. Throws BackendError when the device failed.
std::uint64_t send_fft_output(transport::Connection& conn, const FftStripedCall& call, backend::StreamedFft& fft,
                              std::uint64_t first, std::uint64_t end);

// Serves joined stripe `s` (1 .. stripes-1) of `call` on `conn` until its output range is sent.
// Throws (after failing the call) when the connection or the framing fails, or the call failed.
void run_fft_stripe(FftStripedCall& call, transport::Connection& conn, int s);

}  // namespace rcpu::server
