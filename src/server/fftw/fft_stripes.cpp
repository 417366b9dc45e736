#include "server/fftw/fft_stripes.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include "common/log.h"
#include "protocol/wire.h"
#include "rcpu_opcodes.h"
#include "server/core/testing.h"
#include "server/fftw/fftw_kind.h"

namespace rcpu::server::fftw {

using namespace rcpu::protocol;
using Clock = std::chrono::steady_clock;

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

namespace {

void run_joined_stripe(FftStripedCall& call, transport::Connection& conn, int s) {
  auto aborted = [] {
    return transport::TransportError(transport::TransportError::Kind::closed, "striped FFT aborted");
  };
  backend::StreamedFft* fft = nullptr;
  {
    std::lock_guard lock(call.mu);
    fft = call.fft;  // set with `started`
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

}  // namespace

void FftStripedCall::serve_stripe(transport::Connection& conn, int s) {
  try {
    run_joined_stripe(*this, conn, s);
  } catch (const transport::TransportError&) {
    throw CloseSession{};  // the call failed: the client discards this connection
  } catch (const backend::BackendError& e) {
    // The device failed while this stripe's output was coming back; the call is failed already.
    log::info("session " + conn.peer() + ": striped FFT failed: " + e.what());
    throw CloseSession{};
  }
}

std::optional<FftFatal> serve_striped_fft(Session& session, FftSessionState& state, const FrameHeader& h,
                                          const StripedFftRequest& sreq) {
  transport::Connection& conn = session.conn();
  SessionContext& ctx = session.ctx();
  const FftRequest& req = sreq.fft;
  // The call runs through the backend's StreamedFft (input announced piece by piece as it lands,
  // output sent piece by piece as it comes back). Declared before `owner` so it outlives every
  // joined stripe, which uses it until `owner` has waited for them all.
  std::unique_ptr<backend::StreamedFft> streamed;
  // Registered before anything else can fail, and retired on every way out, so a JOIN never waits
  // for a call that will not come. This thread returns only once every joined stripe is over:
  // they read and write this session's buffers.
  auto call = std::make_shared<FftStripedCall>(int(sreq.stripes), conn);
  StripedCallOwner owner(ctx.stripes, kName, StripeKey{session.client_identity(), sreq.token}, call, conn);
  if (!owner.registered()) return FftFatal{ErrorCode::bad_request, "striped FFT: call token already in use"};

  if (auto err = check_fft_request(h.opcode, req, ctx.options.max_request_bytes)) {
    ctx.counters.add_error(h.opcode);
    return FftFatal{ErrorCode::bad_request, std::string(opcode_name(h.opcode)) + " rejected: " + *err};
  }
  const FftDescriptor& d = req.desc;
  const OperandDesc in_op = fft_input_operand(d), out_op = fft_output_operand(d);
  const std::uint64_t k = sreq.stripes;
  session.expect_request_bytes(h.payload_length + in_op.bytes());  // this connection's range, at most
  std::uint64_t wire_in = kHeaderSize + h.payload_length;

  // A call that cannot run is failed as a whole (its other connections would need draining too),
  // and the client discards every connection of it.
  auto refuse = [&](ErrorCode code, const std::string& message) -> std::optional<FftFatal> {
    ctx.counters.add_error(h.opcode);
    log::info(std::string("FFT ") + opcode_name(h.opcode) + " refused: " + message);
    return FftFatal{code, message};
  };
  // Held until the call is over (core/client_limits.h).
  const Admission admitted = session.admit_call(h, in_op.bytes() + out_op.bytes());
  if (!admitted.ticket) return refuse(limit_error_code(admitted.refused), admitted.why);
  const std::optional<FftBuffers> bufs = borrow_fft_buffers(session, in_op.bytes(), out_op.bytes());
  std::uint8_t* const in = bufs ? bufs->in : nullptr;
  std::uint8_t* const out = bufs ? bufs->out : nullptr;
  if (!bufs)
    return refuse(ErrorCode::out_of_memory,
                  "server memory budget exhausted (" + std::to_string(ctx.memory.limit()) + " bytes)");
  FftBackends backends(ctx, state, h, req, in, out, &streamed);
  if (auto failed = backends.plan()) return refuse(failed->code, failed->message);
  {
    std::lock_guard lock(call->mu);
    call->request_id = h.request_id;
    call->opcode = h.opcode;
    call->in = in;
    call->out = out;
    call->in_bytes = in_op.bytes();
    call->out_bytes = out_op.bytes();
    call->fft = streamed.get();
    call->started = true;
    call->cv.notify_all();
  }
  {
    const auto [first, end] = fft_stripe_range(in_op.bytes(), 0, k);
    try {
      wire_in += recv_fft_input(conn, *call, *streamed, first, end);
    } catch (...) {
      std::lock_guard lock(call->mu);
      call->fail_all(&conn);
      throw;
    }
  }
  {
    std::unique_lock lock(call->mu);
    if (testing::hooks().fail_fft_stripes) {
      call->fail_all();  // this connection too: no reply at all
      return FftFatal{ErrorCode::internal, "injected failure (RCPUD_TEST_FAIL_FFT_STRIPES)"};
    }
    // Every stripe attaches and delivers within the I/O time-out, or the call fails (which wakes
    // the joined stripes' threads); so does a server that is stopping.
    call->wait_for_stripes(lock, ctx.options.io_timeout_ms, &ctx.stopping,
                           [&] { return call->received >= int(k) - 1 || call->abort; });
    if (call->received < int(k) - 1) {
      call->fail_all(&conn);
      ctx.counters.add_error(h.opcode);
      return FftFatal{ErrorCode::bad_request, "striped FFT: a stripe failed or never delivered its input"};
    }
    wire_in += call->wire_in;
  }
  // Runs the transform. It returns once the primary's first output piece is back: the transform
  // is over by then (the device copies back in order), so a device failure still gets the CPU
  // backend or an ERROR reply rather than a dropped call; later pieces come back while the
  // stripes send the earlier ones.
  std::vector<backend::FftRange> readers;
  for (std::uint64_t s = 0; s < k; ++s) {
    const auto [a, b] = fft_stripe_range(out_op.bytes(), s, k);
    readers.push_back({a, b});
  }
  const auto t_inputs = Clock::now();
  std::uint64_t compute_ns = 0;
  if (auto failed = backends.transform(compute_ns, [&] {
        streamed->execute(readers);
        streamed->wait_output(0, std::min(out_op.bytes(), kFftPiece));
      })) {
    ctx.counters.add_error(h.opcode);
    return FftFatal{failed->code, failed->message};
  }
  backend::Backend& be = backends.backend();
  Response resp;
  resp.compute_ns = compute_ns;
  resp.output = out_op;
  resp.server_ns = std::uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t_inputs).count());
  resp.backend = be.name();
  ctx.counters.add_call(h.opcode, wire_in, 0, compute_ns);
  {
    std::lock_guard lock(call->mu);
    call->fft = streamed.get();  // the CPU backend's after a fallback
    call->computed = true;       // the joined stripes send their ranges of the output
    call->cv.notify_all();
  }
  std::uint64_t wire_out = send_message(conn, Kind::response, h.request_id, h.opcode, resp);
  const auto [first, end] = fft_stripe_range(out_op.bytes(), 0, k);
  try {
    wire_out += send_fft_output(conn, *call, *streamed, first, end);
  } catch (const backend::BackendError& e) {
    // The RESPONSE is out, so no ERROR can follow it: every connection of the call goes down
    // and the client reruns the transform locally, as if the server had crashed.
    std::lock_guard lock(call->mu);
    call->fail_all();
    ctx.counters.add_error(h.opcode);
    return FftFatal{ErrorCode::backend_failed, be.name() + ": " + e.what()};
  }
  owner.ran_to_end();
  {
    std::unique_lock lock(call->mu);
    call->cv.wait(lock, [&] { return call->finished == call->joined(); });
    wire_out += call->wire_out;
  }
  ctx.counters.add_bytes_out(h.opcode, wire_out);
  return std::nullopt;
}

}  // namespace rcpu::server::fftw
