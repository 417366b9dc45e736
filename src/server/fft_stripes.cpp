#include "server/fft_stripes.h"

#include <algorithm>

#include "protocol/fft_request.h"
#include "protocol/wire.h"

namespace rcpu::server {

using namespace rcpu::protocol;

void FftStripedCall::fail_all(transport::Connection* keep) {
  abort = true;
  for (transport::Connection* c : conns)
    if (c && c != keep) c->shutdown();
  cv.notify_all();
}

int FftStripedCall::joined() const {
  return int(std::count(attached.begin(), attached.end(), true)) - (attached.empty() ? 0 : int(attached[0]));
}

void run_fft_stripe(FftStripedCall& call, transport::Connection& conn, int s) {
  auto aborted = [] { return transport::TransportError(transport::TransportError::Kind::closed, "striped FFT aborted"); };
  {
    std::unique_lock lock(call.mu);
    call.cv.wait(lock, [&] { return call.started || call.abort; });
    if (call.abort) throw aborted();
  }
  const auto [in0, in1] = fft_stripe_range(call.in_bytes, std::uint64_t(s), std::uint64_t(call.stripes));
  const auto [out0, out1] = fft_stripe_range(call.out_bytes, std::uint64_t(s), std::uint64_t(call.stripes));
  try {
    const std::uint64_t wire = recv_matrix(conn, call.request_id, 0, call.in + in0, in1 - in0);
    std::lock_guard lock(call.mu);
    call.wire_in += wire;
    ++call.received;
    call.cv.notify_all();
  } catch (...) {
    std::lock_guard lock(call.mu);
    call.fail_all(call.conns[0]);  // the primary stays up to answer ERROR
    throw;
  }
  {
    // The primary fails the call (waking this wait) when a stripe never arrives, the backend
    // fails or the server stops: this thread needs no clock of its own.
    std::unique_lock lock(call.mu);
    call.cv.wait(lock, [&] { return call.computed || call.abort; });
    if (call.abort) throw aborted();
  }
  try {
    const std::uint64_t wire =
        out1 > out0 ? send_matrix(conn, call.request_id, call.opcode, 1, call.out + out0, out1 - out0, 1, out1 - out0, 1)
                    : 0;
    std::lock_guard lock(call.mu);
    call.wire_out += wire;
  } catch (...) {
    std::lock_guard lock(call.mu);
    call.fail_all(call.conns[0]);  // the primary stays up to answer ERROR
    throw;
  }
}

}  // namespace rcpu::server
