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

std::uint64_t recv_fft_input(transport::Connection& conn, const FftStripedCall& call, backend::StreamedFft& fft,
                             std::uint64_t first, std::uint64_t end) {
  if (end == first) return 0;
  return recv_matrix_pieces(conn, call.request_id, 0, call.in + first, end - first, kFftPiece,
                            [&](std::uint64_t offset, std::uint64_t n) { fft.input_arrived(first + offset, n); });
}

std::uint64_t send_fft_output(transport::Connection& conn, const FftStripedCall& call, backend::StreamedFft& fft,
                              std::uint64_t first, std::uint64_t end) {
  std::uint64_t wire = 0;
  for (std::uint64_t at = first; at < end;) {
    const std::uint64_t n = std::min(kFftPiece, end - at);
    fft.wait_output(at, n);
    wire += send_matrix(conn, call.request_id, call.opcode, 1, call.out + at, n, 1, n, 1);
    at += n;
  }
  return wire;
}

void run_fft_stripe(FftStripedCall& call, transport::Connection& conn, int s) {
  auto aborted = [] {
    return transport::TransportError(transport::TransportError::Kind::closed, "striped FFT aborted");
  };
  backend::StreamedFft* fft = nullptr;
  {
    std::unique_lock lock(call.mu);
    call.cv.wait(lock, [&] { return call.started || call.abort; });
    if (call.abort) throw aborted();
    fft = call.fft;
  }
  const auto [in0, in1] = fft_stripe_range(call.in_bytes, std::uint64_t(s), std::uint64_t(call.stripes));
  const auto [out0, out1] = fft_stripe_range(call.out_bytes, std::uint64_t(s), std::uint64_t(call.stripes));
  try {
    const std::uint64_t wire = recv_fft_input(conn, call, *fft, in0, in1);
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
    fft = call.fft;  // the CPU backend's, if the device failed and the primary reran it there
  }
  try {
    const std::uint64_t wire = send_fft_output(conn, call, *fft, out0, out1);
    std::lock_guard lock(call.mu);
    call.wire_out += wire;
  } catch (const backend::BackendError&) {
    // The device failed after the primary's RESPONSE went out: no ERROR can follow it any more, so
    // every connection goes down, the primary's too, and the client reruns the call locally.
    std::lock_guard lock(call.mu);
    call.fail_all();
    throw;
  } catch (...) {
    std::lock_guard lock(call.mu);
    call.fail_all(call.conns[0]);  // the primary stays up to answer ERROR
    throw;
  }
}

}  // namespace rcpu::server
