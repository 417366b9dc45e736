// The remote path of an FFT (see remote_fft.h for the contract): gather, send, receive, scatter.
// Three ways, tried in this order:
//   - batches split: a large batched transform cut into independent requests run side by side;
//   - striped: one large transform's bytes cut over several connections (core/striped_call.h);
//   - stop-and-wait on one pooled connection (core/stop_and_wait.h), like a Level-3 call without
//     tiles: the request, the packed input (DATA frames), then RESPONSE and the packed output.
#include "client/fftw/remote_fft.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <new>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

#include "client/core/remote_connection.h"
#include "client/core/remote_pool.h"
#include "client/core/reply.h"
#include "client/core/stop_and_wait.h"
#include "client/core/striped_call.h"
#include "client/fftw/fft_pack.h"
#include "protocol/fft_request.h"
#include "protocol/wire.h"

namespace rcpu::fftw {
namespace {

using namespace rcpu::protocol;
using client::RemoteResult;
using client::RemoteStatus;
using Clock = std::chrono::steady_clock;

// One remote FFT: its request (the packed layout) and where its bytes come from and go. Packed
// copies of the sides the application's layout does not already match: the input is gathered
// before anything is sent (so in-place transforms are safe); a strided or in-place output lands in
// staging and is scattered only once complete (finish). A packed, out-of-place output is received
// in place: if the call breaks midway, the local rerun overwrites every element of it anyway.
struct FftCall {
  FftCall(const FftDescriptor& desc, unsigned planner_flags)
      : d(desc),
        req{fft_packed(desc), planner_flags},
        opcode(fft_opcode(desc.kind, desc.precision)),
        in_op(fft_input_operand(req.desc)),
        out_op(fft_output_operand(req.desc)) {}
  const FftDescriptor& d;
  const FftRequest req;
  const std::uint32_t opcode;
  const OperandDesc in_op, out_op;
  bool send_direct = false, receive_direct = false;
  std::unique_ptr<std::uint8_t[]> packed_in, packed_out;
  const std::uint8_t* src = nullptr;  // the packed input
  std::uint8_t* dst = nullptr;        // where the packed output lands

  // False when the staging buffers cannot be allocated (nothing was sent yet).
  bool prepare(const void* in, void* out) {
    send_direct = fft_side_is_packed(d, 0);
    receive_direct = fft_side_is_packed(d, 1) && in != out;
    if (!send_direct) packed_in.reset(new (std::nothrow) std::uint8_t[in_op.bytes()]);
    if (!receive_direct) packed_out.reset(new (std::nothrow) std::uint8_t[out_op.bytes()]);
    if ((!send_direct && !packed_in) || (!receive_direct && !packed_out)) return false;
    if (!send_direct) fft_gather(d, 0, in, packed_in.get());
    src = send_direct ? static_cast<const std::uint8_t*>(in) : packed_in.get();
    dst = receive_direct ? static_cast<std::uint8_t*>(out) : packed_out.get();
    return true;
  }
  // After every byte of the output has arrived.
  void finish(void* out) const {
    if (!receive_direct) fft_scatter(d, 1, packed_out.get(), out);
  }
};

constexpr const char kOverLimit[] = "FFT over the server's size limit";
constexpr const char kNoStaging[] = "out of memory for the FFT staging buffers";

RemoteResult run(const FftDescriptor& d, const void* in, void* out, unsigned planner_flags) {
  FftCall call(d, planner_flags);
  std::string cause;
  std::optional<client::Lease> lease = client::pool().acquire(cause);
  if (!lease) return client::remote_failure(RemoteStatus::unavailable, cause);
  if (fft_validate(call.req.desc, lease->conn->info().max_request_bytes))
    return client::give_up(std::move(*lease), kOverLimit);
  if (!call.prepare(in, out)) return client::give_up(std::move(*lease), kNoStaging);

  client::StopAndWaitCall exchange;
  exchange.opcode = call.opcode;
  exchange.request = encode(call.req);
  const OperandDesc &in_op = call.in_op, &out_op = call.out_op;
  exchange.sends.push_back({in_op.index, call.src, in_op.rows, 1, in_op.rows, in_op.elem_size});
  exchange.receives.push_back({out_op.index, call.dst, out_op.bytes()});
  exchange.read_response = [&](Connection& conn, const FrameHeader& h) {
    const Response resp = client::read_response(conn, h, out_op);
    return client::ServerReport{resp.server_ns, resp.backend};
  };
  RemoteResult r = client::run_stop_and_wait(std::move(*lease), exchange);
  if (r.status == RemoteStatus::ok) call.finish(out);
  return r;
}

// A batched, out-of-place transform of at least kSplitMinBytes is cut along its outermost batch
// loop into up to RCPU_STREAMS independent requests on as many connections, run side by side, so
// that one part's transfer overlaps another's compute and several connections share the link
// (one loopback stream is far slower than several). Each part is a whole request of its own;
// parts never overlap, the input is never written, and if any part fails the caller's local
// rerun writes every output element again (out of place: FFTW writes them all).
constexpr std::uint64_t kSplitMinBytes = 16ull << 20;

std::optional<RemoteResult> run_split(const FftDescriptor& d, const void* in, void* out, unsigned planner_flags) {
  const int streams = client::streams_per_call();
  if (streams < 2 || in == out || fft_in_bytes(d) + fft_out_bytes(d) < kSplitMinBytes) return std::nullopt;
  std::size_t loop = 0;
  while (loop < d.howmany.size() && d.howmany[loop].n < 2) ++loop;
  if (loop == d.howmany.size()) return std::nullopt;
  const std::int64_t n = d.howmany[loop].n;
  const std::int64_t parts = std::min<std::int64_t>(streams, n);
  std::vector<RemoteResult> results(static_cast<std::size_t>(parts));
  std::vector<std::thread> threads;
  auto part = [&](std::int64_t k) {
    const std::int64_t first = n * k / parts, count = n * (k + 1) / parts - first;
    FftDescriptor sub = d;
    sub.howmany[loop].n = count;
    const auto* i =
        static_cast<const std::uint8_t*>(in) + first * d.howmany[loop].is * std::int64_t(fft_elem_size(d, 0));
    auto* o = static_cast<std::uint8_t*>(out) + first * d.howmany[loop].os * std::int64_t(fft_elem_size(d, 1));
    try {
      results[std::size_t(k)] = run(sub, i, o, planner_flags);
    } catch (const std::exception& e) {
      results[std::size_t(k)] = client::remote_failure(RemoteStatus::failed, e.what());
    }
  };
  try {
    for (std::int64_t k = 1; k < parts; ++k) threads.emplace_back(part, k);
  } catch (const std::system_error&) {
    for (auto& t : threads) t.join();
    return std::nullopt;  // no threads: one request instead
  }
  part(0);
  for (auto& t : threads) t.join();
  RemoteResult all = results[0];
  all.timing.streams = int(parts);
  for (std::size_t k = 1; k < results.size(); ++k) {
    const RemoteResult& r = results[k];
    if (r.status != RemoteStatus::ok && all.status == RemoteStatus::ok) {
      all.status = r.status;
      all.cause = r.cause;
    }
    all.timing.bytes_sent += r.timing.bytes_sent;
    all.timing.bytes_received += r.timing.bytes_received;
    all.timing.to_server_s = std::max(all.timing.to_server_s, r.timing.to_server_s);
    all.timing.on_server_s = std::max(all.timing.on_server_s, r.timing.on_server_s);
    all.timing.from_server_s = std::max(all.timing.from_server_s, r.timing.from_server_s);
  }
  return all;
}

// ONE transform of at least kSplitMinBytes that run_split cannot cut (a single transform, or in
// place) travels striped over up to RCPU_STREAMS connections (docs/protocol.md, "Striped FFTs"):
// stripe s carries bytes [s*len/k, (s+1)*len/k) of the packed input and, after the server has
// run the transform once, the same share of the packed output. Why: one loopback TCP stream
// carries ~3.6 GB/s where eight carry 19-27 GB/s, and a single transform is otherwise bound by one.
// Returns nothing when striping does not apply (too small, one stream, an old server, no extra
// connection free at once); the caller then sends one stop-and-wait request. Any failure fails the
// whole call: every connection of it is discarded and the caller runs the transform locally; the
// application's arrays are written only after every byte has arrived (as in run()).
std::optional<RemoteResult> run_striped(const FftDescriptor& d, const void* in, void* out, unsigned planner_flags) {
  const int streams = std::min<int>(client::streams_per_call(), int(kMaxStripes));
  if (streams < 2 || fft_in_bytes(d) + fft_out_bytes(d) < kSplitMinBytes) return std::nullopt;
  FftCall call(d, planner_flags);
  const OperandDesc &in_op = call.in_op, &out_op = call.out_op;

  std::string cause;
  std::optional<client::Lease> first = client::pool().acquire(cause);
  if (!first) return client::remote_failure(RemoteStatus::unavailable, cause);
  if (!(first->conn->info().capabilities & kCapFftStripes)) {
    first->pool->release(std::move(*first));
    return std::nullopt;
  }
  if (fft_validate(call.req.desc, first->conn->info().max_request_bytes))
    return client::give_up(std::move(*first), kOverLimit);
  client::StripedCall striped(std::move(*first), std::size_t(streams));
  const std::size_t k = striped.stripes();
  if (k < 2) {
    striped.give_back();
    return std::nullopt;
  }
  if (!call.prepare(in, out)) {
    striped.give_back();
    return client::remote_failure(RemoteStatus::failed, kNoStaging);
  }

  const std::uint64_t id = striped.request_id();
  const StripedFftRequest sreq{call.req, std::uint32_t(k), striped.token()};
  const auto t0 = Clock::now();
  auto send_share = [&](std::size_t s) {
    const auto [a, b] = fft_stripe_range(in_op.bytes(), s, k);
    striped.sent[s] += send_matrix(striped.conn(s), id, call.opcode, in_op.index, call.src + a, b - a, 1, b - a, 1);
    striped.t_sent[s] = Clock::now();
  };
  auto receive_share = [&](std::size_t s) {
    const auto [a, b] = fft_stripe_range(out_op.bytes(), s, k);
    // The share, transform included, within the per-read time-out plus the reply deadline of its
    // bytes (reply.h): a server trickling them cannot hold the call for ever.
    const int io_ms = client::io_timeout_ms();  // 0: wait for ever, as asked
    if (io_ms > 0)
      striped.conn(s).set_read_deadline(int(std::min<long>(long(io_ms) + client::reply_deadline_ms(b - a), 1L << 30)));
    striped.received[s] += recv_matrix(striped.conn(s), id, out_op.index, call.dst + a, b - a);
    striped.conn(s).set_read_deadline(0);
  };
  auto joined_stripe = [&](std::size_t s) {
    striped.sent[s] +=
        send_message(striped.conn(s), Kind::join, id, call.opcode, Join{sreq.token, std::uint32_t(s)}, kFlagStriped);
    send_share(s);
    receive_share(s);
  };

  Response resp;
  try {
    striped.sent[0] += send_message(striped.conn(0), Kind::request, id, call.opcode, sreq, kFlagStriped);
    for (std::size_t s = 1; s < k; ++s) striped.start([&, s] { joined_stripe(s); });
    send_share(0);
    FrameHeader h;
    if (auto refused = client::read_reply_header(striped.conn(0), id, h, striped.received[0])) {
      striped.refused(*refused);
    } else {
      resp = client::read_response(striped.conn(0), h, out_op);
      receive_share(0);
    }
  } catch (const std::exception& e) {
    striped.fail(std::string("connection lost: ") + e.what());
  }
  striped.join();
  striped.give_back();
  if (const std::string failure = striped.cause(); !failure.empty())
    return client::remote_failure(RemoteStatus::failed, failure);
  call.finish(out);
  RemoteResult r;
  striped.fill_timing(r.timing, t0, Clock::now(), resp.server_ns);
  r.timing.backend = resp.backend;
  r.timing.striped = true;
  r.status = RemoteStatus::ok;
  return r;
}

}  // namespace

RemoteResult run_fft_remote(const FftDescriptor& d, const void* in, void* out, unsigned planner_flags) {
  try {
    if (auto split = run_split(d, in, out, planner_flags)) return *split;
    if (auto striped = run_striped(d, in, out, planner_flags)) return *striped;
    return run(d, in, out, planner_flags);
  } catch (const std::bad_alloc&) {
    return client::remote_failure(RemoteStatus::failed, "out of memory");
  } catch (const std::exception& e) {
    return client::remote_failure(RemoteStatus::failed, e.what());
  } catch (...) {
    return client::remote_failure(RemoteStatus::failed, "unknown error");
  }
}

}  // namespace rcpu::fftw
