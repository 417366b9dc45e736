// What one client can make rcpud hold, probed the way an attacker would: raw requests on the
// server's own protocol against an in-process server, asserting on the memory budget, the live FFT
// plans and the replies. Also the client's side: a server that trickles its reply.
#include <fftw3.h>
#include <gtest/gtest.h>

#include <chrono>
#include <complex>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "client/core/remote.h"
#include "client/core/remote_connection.h"
#include "client/lapack/lapack_remote.h"
#include "common/lapack.h"
#include "protocol/fft_request.h"
#include "protocol/lapack_request.h"
#include "protocol/level3_request.h"
#include "protocol/wire.h"
#include "rcpu_opcodes.h"
#include "server/core/authenticate.h"
#include "server/core/server.h"
#include "server/kinds.h"
#include "transport/connect.h"

#include "fake_lapack_server.h"

namespace rcpu {
namespace {

using namespace rcpu::protocol;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct TestServer {
  explicit TestServer(server::ServerOptions o) {
    o.listen = "127.0.0.1:0";
    srv = std::make_unique<server::Server>(o, backend::make_cpu_backend({}), server::server_kinds());
    thread = std::thread([this] { srv->run(); });
  }
  ~TestServer() {
    srv->stop();
    thread.join();
  }
  std::unique_ptr<transport::Connection> connect() {
    auto conn = transport::connect(srv->endpoint(), 2000);
    client::client_handshake(*conn, srv->endpoint(), kCapLevel3 | kCapLapack);
    conn->set_timeouts(60000, 60000);
    return conn;
  }
  std::unique_ptr<server::Server> srv;
  std::thread thread;
};

// A 1-D double c2c of n points, packed, as the client sends it.
FftRequest fft_request(std::int64_t n, unsigned flags) {
  FftDescriptor d;
  d.dims = {{n, 1, 1}};
  FftRequest r;
  r.desc = fft_packed(d);
  r.planner_flags = flags;
  return r;
}

// One FFT on `conn`: the REQUEST, the input (unless `send_input` is false), then the reply. Returns
// the reply's kind (RESPONSE or ERROR); with a RESPONSE the output is read whole.
Kind raw_fft(transport::Connection& conn, std::int64_t n, unsigned flags, bool send_input = true) {
  const FftRequest req = fft_request(n, flags);
  const std::uint32_t op = fft_opcode(FftKind::c2c, FftPrecision::f64);
  send_message(conn, Kind::request, 1, op, req);
  if (!send_input) return Kind::request;
  std::vector<std::complex<double>> in(std::size_t(n), {1, 0});
  send_matrix(conn, 1, op, 0, in.data(), std::uint64_t(n) * 2, 1, std::uint64_t(n) * 2, sizeof(double));
  const FrameHeader h = recv_header(conn);
  if (h.kind == Kind::error) {
    (void)recv_body<ErrorReply>(conn, h);
    return Kind::error;
  }
  (void)recv_body<Response>(conn, h);
  recv_matrix(conn, 1, 1, in.data(), std::uint64_t(n) * 16);
  return h.kind;
}

// The reply's header and, for an ERROR, its code.
struct Reply {
  FrameHeader h;
  ErrorCode code = ErrorCode::internal;
};
Reply reply_of(transport::Connection& conn) {
  Reply r;
  r.h = recv_header(conn);
  if (r.h.kind == Kind::error) r.code = recv_body<ErrorReply>(conn, r.h).code;
  return r;
}

// A dgeqrf of a 1 x n matrix: 8n bytes of operands, but LAPACK's optimal workspace is n x the
// block size (32): 32 times the matrix.
void send_wide_dgeqrf(transport::Connection& conn, std::int64_t n) {
  LapackArgs a;
  a.opcode = std::uint32_t(Opcode::dgeqrf);
  a.dims[0] = 1;
  a.dims[1] = n;
  const LapackRequest req = make_lapack_request(*lapack_routine(a.opcode), a);
  send_message(conn, Kind::request, 1, a.opcode, req);
  std::vector<double> m(std::size_t(n), 1.0);
  for (const OperandDesc& d : req.operands)
    if ((d.role == Role::in || d.role == Role::inout) && d.bytes())
      send_matrix(conn, 1, a.opcode, d.index, m.data(), d.rows, d.cols, d.rows, d.elem_size);
}

// 1. The buffers of an FFT go back after the call: a session that stays connected after a large
// transform does not keep the budget from the next client.
TEST(ServerLimits, FftBuffersAreNotHeldBetweenCalls) {
  server::ServerOptions o;
  o.max_memory_bytes = 48ull << 20;
  o.client_max_memory_bytes = o.max_memory_bytes;  // the server's budget is under test, not a client's share
  TestServer s(o);
  auto first = s.connect();
  ASSERT_EQ(raw_fft(*first, 1 << 20, FFTW_ESTIMATE), Kind::response);  // 16 MiB in + 16 MiB out
  // A session serves one request at a time: once a tiny one is answered, the big one is over on the
  // server too (its last byte can reach the client before the server has let go of its buffers).
  ASSERT_EQ(raw_fft(*first, 16, FFTW_ESTIMATE), Kind::response);
  auto second = s.connect();  // `first` stays connected, as the client's pool keeps it
  EXPECT_EQ(raw_fft(*second, 1 << 20, FFTW_ESTIMATE), Kind::response)
      << "the first session's FFT buffers still hold the memory budget";
}

// 2. LAPACK's workspace counts in the memory budget: a call whose workspace would exceed it is
// refused with over_limit before anything is allocated, and the budget is whole again afterwards.
TEST(ServerLimits, LapackWorkspaceIsChargedToTheBudget) {
  server::ServerOptions o;
  o.max_memory_bytes = 64ull << 20;
  TestServer s(o);
  auto conn = s.connect();
  send_wide_dgeqrf(*conn, 1 << 20);  // 8 MiB of operands, 256 MiB of workspace
  const Reply r = reply_of(*conn);
  ASSERT_EQ(r.h.kind, Kind::error);
  EXPECT_EQ(r.code, ErrorCode::over_limit);
  EXPECT_EQ(r.h.flags & kFlagClosing, 0u);
  send_wide_dgeqrf(*conn, 1 << 12);  // 1 MiB of workspace: runs, on the same connection
  const Reply ok = reply_of(*conn);
  EXPECT_EQ(ok.h.kind, Kind::response);
}

// 3. A session's FFT plans are bounded, and freed when it ends.
TEST(ServerLimits, FftPlanCacheIsBoundedAndFreedWithTheSession) {
  const std::int64_t before = backend::fftw_live_plans();
  {
    TestServer s({});
    auto conn = s.connect();
    for (int n = 100; n < 120; ++n) ASSERT_EQ(raw_fft(*conn, n, FFTW_ESTIMATE), Kind::response);
    EXPECT_LE(backend::fftw_live_plans() - before, std::int64_t(backend::kMaxFftwPlans));
    FrameHeader bye;
    bye.kind = Kind::bye;
    send_frame(*conn, bye, {});
  }
  EXPECT_EQ(backend::fftw_live_plans(), before);
}

// 4. One client's FFTW_MEASURE planning of a huge transform does not hold another client's small
// FFT behind the planner for long.
TEST(ServerLimits, MeasurePlanningDoesNotHoldOtherClients) {
  server::ServerOptions o;
  o.fft_plan_seconds = 0.5;
  TestServer s(o);
  auto big = s.connect();
  const auto t0 = Clock::now();
  raw_fft(*big, 1 << 23, FFTW_MEASURE | FFTW_PATIENT, /*send_input=*/false);  // 256 MiB in + out
  std::this_thread::sleep_for(std::chrono::milliseconds(300));                // let it start planning
  auto small = s.connect();
  const auto t1 = Clock::now();
  ASSERT_EQ(raw_fft(*small, 64, FFTW_ESTIMATE), Kind::response);
  const double small_s = seconds_since(t1);
  EXPECT_LT(small_s, 10.0) << "a 64-point FFT waited " << small_s << " s behind another client's planning";
  big->shutdown();
  (void)t0;
}

// 5. Once a request's header is in, its body must follow within the deadline: a client that sends
// half a request and then trickles loses the session, and its reservation.
TEST(ServerLimits, TrickledRequestBodyEndsTheSessionAndFreesTheBudget) {
  server::ServerOptions o;
  o.max_memory_bytes = 48ull << 20;
  o.client_max_memory_bytes = o.max_memory_bytes;  // the server's budget is under test, not a client's share
  o.body_base_ms = 500;
  o.body_min_rate = 16ull << 20;  // 16 MiB of input: a deadline of 1.5 s
  TestServer s(o);
  auto slow = s.connect();
  const std::int64_t n = 1 << 20;  // 16 MiB in + 16 MiB out reserved for it
  const std::uint32_t op = fft_opcode(FftKind::c2c, FftPrecision::f64);
  send_message(*slow, Kind::request, 1, op, fft_request(n, FFTW_ESTIMATE));
  FrameHeader data;
  data.kind = Kind::data;
  data.request_id = 1;
  data.opcode = op;
  data.flags = 0;
  data.payload_length = std::uint64_t(n) * 16;
  const HeaderBytes head = encode_header(data);
  slow->send_all(head.data(), head.size());
  const std::vector<std::uint8_t> chunk(1 << 16, 0);
  slow->send_all(chunk.data(), chunk.size());  // half a frame... then 8 bytes every 200 ms
  bool closed = false;
  const auto t0 = Clock::now();
  while (seconds_since(t0) < 8 && !closed) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    try {
      slow->send_all(chunk.data(), 8);
    } catch (const std::exception&) {
      closed = true;
    }
    if (!closed && slow->readable_or_closed()) closed = true;
  }
  EXPECT_TRUE(closed) << "the server still waits for the trickled body";
  // The client sees the close a moment before the server's session has let go of its
  // reservation: a full-budget FFT must get through within a few seconds, not never.
  Kind got = Kind::error;
  for (int i = 0; i < 30 && got != Kind::response; ++i) {
    if (i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto next = s.connect();
    got = raw_fft(*next, n, FFTW_ESTIMATE);
  }
  EXPECT_EQ(got, Kind::response) << "the trickling session still holds the budget";
}

// 6. A request over --max-request-bytes whose inputs would have to be read is answered with an
// ERROR marked closing at once, not drained.
TEST(ServerLimits, OverRequestLimitClosesWithoutDraining) {
  server::ServerOptions o;
  o.max_request_bytes = 1 << 20;
  TestServer s(o);
  auto conn = s.connect();
  conn->set_timeouts(5000, 5000);
  Level3Args x;
  x.family = L3Family::gemm;
  x.dtype = Dtype::d;
  x.transa = x.transb = 'N';
  x.m = x.n = 400;
  x.k = 1;  // A and B 3.2 KB each, C (beta = 0: output only) 1.28 MB: over the limit
  x.alpha = {1, 0};
  x.beta = {0, 0};
  x.lda = x.m;
  x.ldb = x.k;
  x.ldc = x.m;
  Request req;
  req.args = x;
  req.operands = level3_operands(x);
  const std::uint32_t op = *level3_opcode(x.family, x.dtype);
  send_message(*conn, Kind::request, 1, op, req);  // ... and none of the inputs
  const Reply r = reply_of(*conn);
  ASSERT_EQ(r.h.kind, Kind::error);
  EXPECT_EQ(r.code, ErrorCode::over_limit);
  EXPECT_NE(r.h.flags & kFlagClosing, 0u) << "an over-limit request was answered as if the connection stayed usable";
}

// 7. The client: a server that starts its reply and then trickles it fails the call within the
// reply deadline (the call then runs locally), instead of holding it.
void trickling_server(transport::Listener& listener, double give_up_s) {
  try {
    FrameHeader h;
    LapackRequest req;
    const std::unique_ptr<transport::Connection> conn = testing::accept_lapack_request(listener, h, req);
    if (!conn) return;
    for (const OperandDesc& d : req.operands)
      if (d.role == Role::in || d.role == Role::inout) recv_matrix(*conn, h.request_id, d.index, nullptr, d.bytes());
    LapackResponse resp;
    resp.backend = "fake";
    const std::vector<std::uint8_t> body = encode(resp);
    FrameHeader rh;
    rh.kind = Kind::response;
    rh.request_id = h.request_id;
    rh.opcode = h.opcode;
    rh.payload_length = body.size();
    const HeaderBytes head = encode_header(rh);
    conn->send_all(head.data(), head.size());
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < body.size() && seconds_since(t0) < give_up_s; ++i) {
      conn->send_all(&body[i], 1);  // a byte every 100 ms: every read makes progress
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  } catch (const std::exception&) {
  }
}

TEST(ClientDeadlines, TrickledReplyFailsTheCall) {
  ::setenv("RCPU_REPLY_BASE_MS", "1000", 1);
  const testing::RemoteDgetrf r = testing::dgetrf_against(20, [](transport::Listener& l) { trickling_server(l, 8.0); });
  EXPECT_EQ(r.result.status, client::RemoteStatus::failed);
  EXPECT_LT(r.seconds, 6.0) << "the call waited " << r.seconds << " s for a trickled reply";
  EXPECT_TRUE(r.untouched);  // INFO (and A, IPIV) as they were
}

}  // namespace
}  // namespace rcpu
