// The remote path of an FFT (see remote_fft.h for the contract): gather, send, receive, scatter.
// Stop-and-wait on one pooled connection, like a Level-3 call without tiles: the request, the
// packed input (DATA frames), then RESPONSE and the packed output.
#include "client/fftw/remote_fft.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

#include "client/remote_pool.h"
#include "protocol/fft_request.h"
#include "protocol/wire.h"

namespace rcpu::fftw {
namespace {

using namespace rcpu::protocol;
using Clock = std::chrono::steady_clock;
struct Loop {
  std::int64_t n;       // iterations
  std::int64_t stride;  // in elements of the side's type, in the application's array
};

// The loops of one side, outermost first: the batch loops, then the transform dimensions (on the
// half-spectrum side of a real transform the last dimension has n/2+1 elements).
std::vector<Loop> loops(const FftDescriptor& d, int side) {
  std::vector<Loop> l;
  for (const FftDim& h : d.howmany) l.push_back({h.n, side == 0 ? h.is : h.os});
  for (std::size_t i = 0; i < d.dims.size(); ++i) {
    std::int64_t n = d.dims[i].n;
    const bool half = (side == 0 && d.kind == FftKind::c2r) || (side == 1 && d.kind == FftKind::r2c);
    if (half && i + 1 == d.dims.size()) n = n / 2 + 1;
    l.push_back({n, side == 0 ? d.dims[i].is : d.dims[i].os});
  }
  return l;
}

std::size_t elem_size(const FftDescriptor& d, int side) {
  const bool real = (side == 0 && d.kind == FftKind::r2c) || (side == 1 && d.kind == FftKind::c2r);
  return fft_real_size(d.precision) * (real ? 1 : 2);
}

// Visits every element of a side in packed order: f(packed element index, array element offset).
// The innermost loop is handed over as a run (count, stride) so contiguous runs become one memcpy.
template <class F>
void visit(const FftDescriptor& d, int side, F f) {
  const std::vector<Loop> l = loops(d, side);
  for (const Loop& x : l)
    if (x.n <= 0) return;
  const std::size_t depth = l.size();
  std::vector<std::int64_t> idx(depth, 0);
  const Loop inner = l.back();
  std::uint64_t packed = 0;
  for (;;) {
    std::int64_t offset = 0;
    for (std::size_t i = 0; i + 1 < depth; ++i) offset += idx[i] * l[i].stride;
    f(packed, offset, inner.n, inner.stride);
    packed += std::uint64_t(inner.n);
    std::size_t i = depth - 1;
    for (;;) {
      if (i == 0) return;
      --i;
      if (++idx[i] < l[i].n) break;
      idx[i] = 0;
    }
  }
}

}  // namespace

void fft_gather(const FftDescriptor& d, int side, const void* array, void* packed) {
  const std::size_t e = elem_size(d, side);
  const auto* a = static_cast<const std::uint8_t*>(array);
  auto* p = static_cast<std::uint8_t*>(packed);
  visit(d, side, [&](std::uint64_t pk, std::int64_t off, std::int64_t n, std::int64_t stride) {
    if (stride == 1) return void(std::memcpy(p + pk * e, a + off * std::int64_t(e), std::size_t(n) * e));
    for (std::int64_t j = 0; j < n; ++j)
      std::memcpy(p + (pk + std::uint64_t(j)) * e, a + (off + j * stride) * std::int64_t(e), e);
  });
}

void fft_scatter(const FftDescriptor& d, int side, const void* packed, void* array) {
  const std::size_t e = elem_size(d, side);
  auto* a = static_cast<std::uint8_t*>(array);
  const auto* p = static_cast<const std::uint8_t*>(packed);
  visit(d, side, [&](std::uint64_t pk, std::int64_t off, std::int64_t n, std::int64_t stride) {
    if (stride == 1) return void(std::memcpy(a + off * std::int64_t(e), p + pk * e, std::size_t(n) * e));
    for (std::int64_t j = 0; j < n; ++j)
      std::memcpy(a + (off + j * stride) * std::int64_t(e), p + (pk + std::uint64_t(j)) * e, e);
  });
}

namespace {

// Whether one side of the application's layout already is the packed layout (contiguous, batches
// one after another): then it travels straight from / into the application's array, saving a copy
// as slow as the link itself (one memcpy stream moves ~3 GB/s).
bool side_is_packed(const FftDescriptor& d, int side) {
  const FftDescriptor p = fft_packed(d);
  for (std::size_t i = 0; i < d.dims.size(); ++i) {
    const bool unit_len = d.dims[i].n == 1;  // a length-1 dimension's stride never matters
    if (!unit_len && (side == 0 ? d.dims[i].is != p.dims[i].is : d.dims[i].os != p.dims[i].os)) return false;
  }
  std::size_t loops = 0;
  for (const FftDim& h : d.howmany) {
    if (h.n == 1) continue;
    if (++loops > 1) return false;
    if (side == 0 ? h.is != p.howmany[0].is : h.os != p.howmany[0].os) return false;
  }
  return true;
}

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
    send_direct = side_is_packed(d, 0);
    receive_direct = side_is_packed(d, 1) && in != out;
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

client::RemoteResult run(const FftDescriptor& d, const void* in, void* out, unsigned planner_flags) {
  FftCall call(d, planner_flags);
  const FftRequest& req = call.req;
  const std::uint32_t opcode = call.opcode;
  const OperandDesc &in_op = call.in_op, &out_op = call.out_op;

  std::string cause;
  std::optional<client::Lease> lease = client::pool().acquire(cause);
  if (!lease) return client::remote_failure(client::RemoteStatus::unavailable, cause);
  client::RemoteConnection& rc = *lease->conn;
  if (fft_validate(req.desc, rc.info().max_request_bytes)) {
    lease->pool->release(std::move(*lease));
    return client::remote_failure(client::RemoteStatus::failed, "FFT over the server's size limit");
  }
  if (!call.prepare(in, out)) {
    lease->pool->release(std::move(*lease));
    return client::remote_failure(client::RemoteStatus::failed, "out of memory for the FFT staging buffers");
  }

  client::RemoteResult r;
  transport::Connection& conn = rc.conn();
  const std::uint64_t id = rc.next_request_id();
  try {
    const auto t0 = Clock::now();
    r.timing.bytes_sent += send_message(conn, Kind::request, id, opcode, req);
    r.timing.bytes_sent +=
        send_matrix(conn, id, opcode, in_op.index, call.src, in_op.rows, 1, in_op.rows, in_op.elem_size);
    const auto t1 = Clock::now();
    r.timing.to_server_s = client::seconds(t1 - t0);
    FrameHeader h;
    if (auto refused = client::read_reply_header(*lease, id, h, r.timing.bytes_received))
      return client::remote_failure(client::RemoteStatus::failed, *refused);
    const Response resp = recv_body<Response>(conn, h);
    if (!(resp.output == out_op)) throw ProtocolError(ErrorCode::bad_frame, "response describes another operand");
    r.timing.bytes_received += recv_matrix(conn, id, out_op.index, call.dst, out_op.bytes());
    r.timing.on_server_s = double(resp.server_ns) * 1e-9;
    r.timing.from_server_s = std::max(0.0, client::seconds(Clock::now() - t1) - r.timing.on_server_s);
    r.timing.backend = resp.backend;
  } catch (const std::exception& e) {
    lease->pool->discard(std::move(*lease));
    return client::remote_failure(client::RemoteStatus::failed, std::string("connection lost: ") + e.what());
  }
  lease->pool->release(std::move(*lease));
  call.finish(out);
  r.status = client::RemoteStatus::ok;
  return r;
}

// A batched, out-of-place transform of at least kSplitMinBytes is cut along its outermost batch
// loop into up to RCPU_STREAMS independent requests on as many connections, run side by side, so
// that one part's transfer overlaps another's compute and several connections share the link
// (one loopback stream is far slower than several). Each part is a whole request of its own;
// parts never overlap, the input is never written, and if any part fails the caller's local
// rerun writes every output element again (out of place: FFTW writes them all).
constexpr std::uint64_t kSplitMinBytes = 16ull << 20;

std::optional<client::RemoteResult> run_split(const FftDescriptor& d, const void* in, void* out,
                                              unsigned planner_flags) {
  const int streams = client::streams_per_call();
  if (streams < 2 || in == out || fft_in_bytes(d) + fft_out_bytes(d) < kSplitMinBytes) return std::nullopt;
  std::size_t loop = 0;
  while (loop < d.howmany.size() && d.howmany[loop].n < 2) ++loop;
  if (loop == d.howmany.size()) return std::nullopt;
  const std::int64_t n = d.howmany[loop].n;
  const std::int64_t parts = std::min<std::int64_t>(streams, n);
  std::vector<client::RemoteResult> results(static_cast<std::size_t>(parts));
  std::vector<std::thread> threads;
  auto part = [&](std::int64_t k) {
    const std::int64_t first = n * k / parts, count = n * (k + 1) / parts - first;
    FftDescriptor sub = d;
    sub.howmany[loop].n = count;
    const auto* i = static_cast<const std::uint8_t*>(in) + first * d.howmany[loop].is * std::int64_t(elem_size(d, 0));
    auto* o = static_cast<std::uint8_t*>(out) + first * d.howmany[loop].os * std::int64_t(elem_size(d, 1));
    try {
      results[std::size_t(k)] = run(sub, i, o, planner_flags);
    } catch (const std::exception& e) {
      results[std::size_t(k)] = client::remote_failure(client::RemoteStatus::failed, e.what());
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
  client::RemoteResult all = results[0];
  all.timing.streams = int(parts);
  for (std::size_t k = 1; k < results.size(); ++k) {
    const client::RemoteResult& r = results[k];
    if (r.status != client::RemoteStatus::ok && all.status == client::RemoteStatus::ok) {
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
std::optional<client::RemoteResult> run_striped(const FftDescriptor& d, const void* in, void* out,
                                                unsigned planner_flags) {
  const int streams = std::min<int>(client::streams_per_call(), int(kMaxStripes));
  if (streams < 2 || fft_in_bytes(d) + fft_out_bytes(d) < kSplitMinBytes) return std::nullopt;
  FftCall call(d, planner_flags);
  const FftRequest& req = call.req;
  const std::uint32_t opcode = call.opcode;
  const OperandDesc &in_op = call.in_op, &out_op = call.out_op;

  std::string cause;
  std::optional<client::Lease> first = client::pool().acquire(cause);
  if (!first) return client::remote_failure(client::RemoteStatus::unavailable, cause);
  if (!(first->conn->info().capabilities & kCapFftStripes)) {
    first->pool->release(std::move(*first));
    return std::nullopt;
  }
  if (fft_validate(req.desc, first->conn->info().max_request_bytes)) {
    first->pool->release(std::move(*first));
    return client::remote_failure(client::RemoteStatus::failed, "FFT over the server's size limit");
  }
  // The other stripes only from connections free right now: a call never waits for connections
  // (threads that each hold one and wait for more could deadlock).
  std::vector<client::Lease> leases;
  leases.push_back(std::move(*first));
  while (int(leases.size()) < streams) {
    std::string ignored;
    std::optional<client::Lease> extra = leases[0].pool->acquire(ignored, /*wait=*/false);
    if (!extra) break;
    leases.push_back(std::move(*extra));
  }
  if (leases.size() < 2) {
    leases[0].pool->release(std::move(leases[0]));
    return std::nullopt;
  }
  auto give_back = [&](bool broken) {
    for (client::Lease& l : leases) broken ? l.pool->discard(std::move(l)) : l.pool->release(std::move(l));
  };
  const std::size_t k = leases.size();

  if (!call.prepare(in, out)) {
    give_back(false);
    return client::remote_failure(client::RemoteStatus::failed, "out of memory for the FFT staging buffers");
  }
  const std::uint8_t* src = call.src;
  std::uint8_t* dst = call.dst;

  std::vector<transport::Connection*> conns;
  for (client::Lease& l : leases) conns.push_back(&l.conn->conn());
  const std::uint64_t id = leases[0].conn->next_request_id();
  const StripedFftRequest sreq{req, std::uint32_t(k), client::call_token()};

  // The first failure wins; it shuts every connection of the call down, waking every thread.
  std::mutex mu;
  std::string failure;
  auto fail = [&](const std::string& why) {
    std::lock_guard lock(mu);
    if (failure.empty()) failure = why;
    for (transport::Connection* c : conns) c->shutdown();
  };
  std::vector<std::uint64_t> sent(k, 0), received(k, 0);
  const auto t0 = Clock::now();
  std::vector<Clock::time_point> t_sent(k, t0);  // when each stripe's input was out
  auto send_share = [&](std::size_t s) {
    const auto [a, b] = fft_stripe_range(in_op.bytes(), s, k);
    sent[s] += send_matrix(*conns[s], id, opcode, in_op.index, src + a, b - a, 1, b - a, 1);
    t_sent[s] = Clock::now();
  };
  auto receive_share = [&](std::size_t s) {
    const auto [a, b] = fft_stripe_range(out_op.bytes(), s, k);
    received[s] += recv_matrix(*conns[s], id, out_op.index, dst + a, b - a);
  };
  auto joined_stripe = [&](std::size_t s) {
    try {
      sent[s] += send_message(*conns[s], Kind::join, id, opcode, Join{sreq.token, std::uint32_t(s)}, kFlagStriped);
      send_share(s);
      receive_share(s);
    } catch (const std::exception& e) {
      fail(std::string("connection lost: ") + e.what());
    }
  };

  client::RemoteResult r;
  std::vector<std::thread> threads;
  try {
    sent[0] += send_message(*conns[0], Kind::request, id, opcode, sreq, kFlagStriped);
    for (std::size_t s = 1; s < k; ++s) threads.emplace_back(joined_stripe, s);
    send_share(0);
    const FrameHeader h = recv_header(*conns[0]);
    received[0] += kHeaderSize + h.payload_length;
    if (h.kind == Kind::error) {
      const ErrorReply e = recv_body<ErrorReply>(*conns[0], h);
      fail(std::string("server error: ") + error_code_text(e.code));
    } else {
      if (h.kind != Kind::response || h.request_id != id)
        throw ProtocolError(ErrorCode::bad_frame, std::string("expected RESPONSE, got ") + kind_name(h.kind));
      const Response resp = recv_body<Response>(*conns[0], h);
      if (!(resp.output == out_op)) throw ProtocolError(ErrorCode::bad_frame, "response describes another operand");
      receive_share(0);
      r.timing.on_server_s = double(resp.server_ns) * 1e-9;
      r.timing.backend = resp.backend;
    }
  } catch (const std::exception& e) {
    fail(std::string("connection lost: ") + e.what());
  }
  for (std::thread& t : threads) t.join();
  if (!failure.empty()) {
    give_back(/*broken=*/true);
    return client::remote_failure(client::RemoteStatus::failed, failure);
  }
  give_back(false);
  call.finish(out);
  for (std::size_t s = 0; s < k; ++s) {
    r.timing.bytes_sent += sent[s];
    r.timing.bytes_received += received[s];
  }
  // To the server: until the last stripe's input was out (the server starts once all of it is in).
  r.timing.to_server_s = client::seconds(*std::max_element(t_sent.begin(), t_sent.end()) - t0);
  r.timing.from_server_s =
      std::max(0.0, client::seconds(Clock::now() - t0) - r.timing.to_server_s - r.timing.on_server_s);
  r.timing.streams = int(k);
  r.timing.striped = true;
  r.status = client::RemoteStatus::ok;
  return r;
}

}  // namespace

client::RemoteResult run_fft_remote(const FftDescriptor& d, const void* in, void* out, unsigned planner_flags) {
  try {
    if (auto split = run_split(d, in, out, planner_flags)) return *split;
    if (auto striped = run_striped(d, in, out, planner_flags)) return *striped;
    return run(d, in, out, planner_flags);
  } catch (const std::bad_alloc&) {
    return client::remote_failure(client::RemoteStatus::failed, "out of memory");
  } catch (const std::exception& e) {
    return client::remote_failure(client::RemoteStatus::failed, e.what());
  } catch (...) {
    return client::remote_failure(client::RemoteStatus::failed, "unknown error");
  }
}

}  // namespace rcpu::fftw
