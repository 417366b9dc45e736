// FFTs: the shared description (common/fft.h), the FFT request codec and checks
// (protocol/fft_request.h), the client's gather/scatter of strided arrays, and the whole remote
// path against an in-process rcpud (CPU backend), including malformed requests.
#include <fftw3.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <complex>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>

#include "backends/backend.h"
#include "backends/cpu/cpu_backend.h"
#include "client/core/remote.h"
#include "client/core/remote_connection.h"
#include "client/fftw/fft_pack.h"
#include "client/fftw/remote_fft.h"
#include "common/fft.h"
#include "protocol/fft_request.h"
#include "protocol/wire.h"
#include "rcpu_opcodes.h"
#include "server/core/server.h"
#include "server/kinds.h"
#include "transport/connect.h"

namespace rcpu {
namespace {

using namespace rcpu::protocol;

FftDescriptor c2c(std::vector<FftDim> dims, std::vector<FftDim> howmany = {}) {
  FftDescriptor d;
  d.dims = std::move(dims);
  d.howmany = std::move(howmany);
  return d;
}

TEST(Fft, SizesOfRealTransforms) {
  FftDescriptor d = c2c({{6, 10, 10}, {10, 1, 1}}, {{3, 60, 60}});
  d.kind = FftKind::r2c;
  EXPECT_EQ(fft_points(d), 60u);
  EXPECT_EQ(fft_batch(d), 3u);
  EXPECT_EQ(fft_packed_in_elems(d), 60u);
  EXPECT_EQ(fft_packed_out_elems(d), 36u);  // 6 x (10/2+1)
  EXPECT_EQ(fft_in_bytes(d), 3u * 60 * 8);
  EXPECT_EQ(fft_out_bytes(d), 3u * 36 * 16);
  const FftDescriptor p = fft_packed(d);
  ASSERT_EQ(p.dims.size(), 2u);
  EXPECT_EQ(p.dims[0], (FftDim{6, 10, 6}));
  EXPECT_EQ(p.dims[1], (FftDim{10, 1, 1}));
  ASSERT_EQ(p.howmany.size(), 1u);
  EXPECT_EQ(p.howmany[0], (FftDim{3, 60, 36}));
  EXPECT_EQ(fft_packed(p), p);
  EXPECT_DOUBLE_EQ(fft_flops(c2c({{1024, 1, 1}})), 5.0 * 1024 * 10);
}

TEST(Fft, ValidateRejectsAbsurdDescriptors) {
  const std::uint64_t big = ~std::uint64_t(0);
  EXPECT_FALSE(fft_validate(c2c({{8, 1, 1}}), big));
  EXPECT_TRUE(fft_validate(c2c({}), big));                                       // rank 0
  EXPECT_TRUE(fft_validate(c2c(std::vector<FftDim>(9, FftDim{2, 1, 1})), big));  // rank 9
  EXPECT_TRUE(fft_validate(c2c({{0, 1, 1}}), big));
  EXPECT_TRUE(fft_validate(c2c({{-5, 1, 1}}), big));
  EXPECT_TRUE(fft_validate(c2c({{8, 1, 1}}, {{0, 1, 1}}), big));
  EXPECT_TRUE(fft_validate(c2c({{std::int64_t(1) << 40, 1, 1}, {std::int64_t(1) << 40, 1, 1}}), big));  // overflow
  EXPECT_TRUE(fft_validate(c2c({{1024, 1, 1}}), 1024 * 16));  // 32 KiB in + out > limit
  FftDescriptor d = c2c({{8, 1, 1}});
  d.sign = 0;
  EXPECT_TRUE(fft_validate(d, big));
  d.sign = 1;
  d.kind = FftKind(7);
  EXPECT_TRUE(fft_validate(d, big));
}

TEST(FftRequest, CodecRoundTripAndChecks) {
  FftRequest r;
  r.desc = fft_packed(c2c({{5, 1, 1}, {7, 1, 1}}, {{2, 1, 1}, {3, 1, 1}}));
  r.desc.sign = 1;
  r.planner_flags = FFTW_MEASURE;
  const auto bytes = encode(r);
  const FftRequest back = decode<FftRequest>(bytes);
  EXPECT_EQ(back.desc, r.desc);
  EXPECT_EQ(back.planner_flags, r.planner_flags);
  const std::uint32_t op = fft_opcode(FftKind::c2c, FftPrecision::f64);
  EXPECT_EQ(op, 0x1001u);
  EXPECT_STREQ(opcode_name(op), "fft_c2c_d");
  EXPECT_TRUE(is_fft_opcode(op));
  EXPECT_FALSE(is_fft_opcode(0x0101));
  EXPECT_FALSE(check_fft_request(op, r, ~0ull));
  EXPECT_TRUE(check_fft_request(fft_opcode(FftKind::r2c, FftPrecision::f64), r, ~0ull));  // opcode mismatch
  FftRequest strided = r;
  strided.desc.dims[1].is = 2;  // not packed
  EXPECT_TRUE(check_fft_request(op, strided, ~0ull));
  // Every truncation fails to decode; random bytes never crash or allocate without bound.
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    std::vector<std::uint8_t> cut(bytes.begin(), bytes.begin() + std::ptrdiff_t(n));
    EXPECT_THROW(decode<FftRequest>(cut), DecodeError) << n;
  }
  std::mt19937_64 rng(1);
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::uint8_t> junk(rng() % 200);
    for (auto& b : junk) b = std::uint8_t(rng());
    try {
      const FftRequest x = decode<FftRequest>(junk);
      (void)check_fft_request(op, x, 1ull << 30);
    } catch (const DecodeError&) {
    }
  }
}

TEST(FftGather, ScatterWritesExactlyTheOutputElements) {
  // An r2c output side: 2 batches (dist 40 complex), 3 x (8/2+1) complex with row stride 7 and
  // element stride 1, embedded in a larger array: gather after scatter gives the packed data
  // back, and elements outside the layout keep their values.
  FftDescriptor d;
  d.kind = FftKind::r2c;
  d.dims = {{3, 9, 7}, {8, 1, 1}};
  d.howmany = {{2, 30, 40}};
  const std::size_t packed_n = 2 * 3 * 5;
  std::vector<std::complex<double>> packed(packed_n), array(80, {-1, -1});
  for (std::size_t i = 0; i < packed_n; ++i) packed[i] = {double(i), -double(i)};
  fftw::fft_scatter(d, 1, packed.data(), array.data());
  std::vector<std::complex<double>> again(packed_n);
  fftw::fft_gather(d, 1, array.data(), again.data());
  EXPECT_EQ(again, packed);
  std::size_t touched = 0;
  for (std::size_t i = 0; i < array.size(); ++i) touched += array[i] != std::complex<double>(-1, -1);
  EXPECT_EQ(touched, packed_n);                       // rows of 5 at stride 7, batches 40 apart: nothing else written
  EXPECT_EQ(array[5], std::complex<double>(-1, -1));  // the gap after the first row
}

// ---------------- the remote path against an in-process server ----------------

// A primary backend that claims every FFT and fails to plan (mode 0) or to run (mode 1) it.
class FailingFftBackend final : public backend::Backend {
 public:
  explicit FailingFftBackend(int mode) : mode_(mode) {}
  std::string name() const override { return "failing"; }
  std::string description() const override { return "test backend whose FFTs fail"; }
  bool supports(const Level3Args&) const override { return false; }
  void level3(const Level3Args&, const void*, const void*, void*) override { throw backend::BackendError("no"); }
  bool supports_fft(const FftDescriptor&) const override { return true; }
  void prepare_fft(backend::FftPlanCache&, const FftDescriptor&, unsigned, void*, void*) override {
    if (mode_ == 0) throw backend::BackendError("cannot plan");
  }
  void fft(backend::FftPlanCache&, const FftDescriptor&, unsigned, void*, void* out) override {
    static_cast<char*>(out)[0] = 42;  // scribbles on the output, then fails
    throw backend::BackendError("device error");
  }

 private:
  int mode_;
};

struct FftServer {
  explicit FftServer(std::uint64_t max_request = 1ull << 32, std::unique_ptr<backend::Backend> primary = nullptr) {
    server::ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.max_request_bytes = max_request;
    srv = std::make_unique<server::Server>(o, primary ? std::move(primary) : backend::make_cpu_backend({}),
                                           server::server_kinds());
    thread = std::thread([this] { srv->run(); });
    setenv("RCPU_SERVER", srv->endpoint().c_str(), 1);
    client::remote_reset();
  }
  ~FftServer() {
    unsetenv("RCPU_SERVER");
    client::remote_reset();
    srv->stop();
    thread.join();
  }
  std::unique_ptr<server::Server> srv;
  std::thread thread;
};

// A strided, batched c2c transform remotely vs. the CPU backend's FFTW on the packed data.
TEST(FftRemote, StridedBatchedMatchesFftwAndLeavesTheRestAlone) {
  FftServer s;
  FftDescriptor d = c2c({{12, 3, 3}, {10, 36, 36}}, {{3, 1, 1}});  // interleaved batches, transposed dims
  d.sign = 1;
  std::mt19937_64 rng(3);
  std::normal_distribution<double> g;
  std::vector<std::complex<double>> in(360 + 8), out(in.size(), {7, 7});
  for (auto& x : in) x = {g(rng), g(rng)};
  const auto in_before = in;
  const client::RemoteResult r = fftw::run_fft_remote(d, in.data(), out.data(), FFTW_ESTIMATE);
  ASSERT_EQ(r.status, client::RemoteStatus::ok) << r.cause;
  EXPECT_EQ(r.timing.backend, "cpu");
  EXPECT_EQ(in, in_before);
  // Reference: FFTW's guru64 interface on the same strided layout.
  std::vector<std::complex<double>> want(out.size(), {7, 7}), in_copy = in;
  fftw_iodim64 dims[] = {{12, 3, 3}, {10, 36, 36}};
  fftw_iodim64 hm[] = {{3, 1, 1}};
  fftw_plan p = fftw_plan_guru64_dft(2, dims, 1, hm, reinterpret_cast<fftw_complex*>(in_copy.data()),
                                     reinterpret_cast<fftw_complex*>(want.data()), 1, FFTW_ESTIMATE);
  ASSERT_TRUE(p);
  fftw_execute(p);
  fftw_destroy_plan(p);
  double err = 0;
  for (std::size_t i = 0; i < out.size(); ++i) err = std::max(err, std::abs(out[i] - want[i]));
  EXPECT_LT(err, 1e-11);
}

// A malformed request gets an ERROR and its connection is closed; the server keeps serving.
TEST(FftRemote, MalformedRequestIsRefusedAndTheServerGoesOn) {
  FftServer s;
  auto conn = transport::connect(s.srv->endpoint(), 2000);
  client::client_handshake(*conn, s.srv->endpoint(), kCapLevel3);
  FrameHeader h;
  for (int variant = 0; variant < 3; ++variant) {
    FftRequest bad;
    bad.desc = c2c({{1024, 1, 1}});
    if (variant == 0) bad.desc.dims[0].n = -1;
    if (variant == 1) bad.desc.sign = 0;
    if (variant == 2) bad.desc.dims = {{std::int64_t(1) << 40, 1, 1}, {std::int64_t(1) << 40, 1, 1}};
    auto c = transport::connect(s.srv->endpoint(), 2000);
    client::client_handshake(*c, s.srv->endpoint(), kCapLevel3);
    send_message(*c, Kind::request, 2, fft_opcode(FftKind::c2c, FftPrecision::f64), bad);
    h = recv_header(*c);
    ASSERT_EQ(h.kind, Kind::error) << variant;
    const ErrorReply e = recv_body<ErrorReply>(*c, h);
    EXPECT_EQ(e.code, ErrorCode::bad_request);
    EXPECT_TRUE(h.flags & kFlagClosing);
  }
  // The server still runs transforms.
  std::vector<std::complex<double>> in(64, {1, 0}), out(64);
  const client::RemoteResult r = fftw::run_fft_remote(c2c({{64, 1, 1}}), in.data(), out.data(), FFTW_ESTIMATE);
  ASSERT_EQ(r.status, client::RemoteStatus::ok) << r.cause;
  EXPECT_NEAR(out[0].real(), 64.0, 1e-12);
  EXPECT_NEAR(std::abs(out[1]), 0.0, 1e-12);
}

// Striped FFTs (kFlagStriped): a stripe count out of range is refused and the connection closed;
// a JOIN naming a bad stripe is refused; a joined stripe whose connection breaks fails the whole
// call (ERROR on the primary, which is closed), its token is retired, and the server goes on.
TEST(FftRemote, StripedCallFailuresAreClearAndTheServerGoesOn) {
  FftServer s;
  auto connect = [&] {
    auto c = transport::connect(s.srv->endpoint(), 2000);
    const HelloOk ok = client::client_handshake(*c, s.srv->endpoint(), kCapLevel3);
    EXPECT_TRUE(ok.capabilities & kCapFftStripes);
    return c;
  };
  auto expect_closing_error = [](transport::Connection& c, const char* what) {
    const FrameHeader h = recv_header(c);
    ASSERT_EQ(h.kind, Kind::error) << what;
    const ErrorReply e = recv_body<ErrorReply>(c, h);
    EXPECT_EQ(e.code, ErrorCode::bad_request) << what << ": " << e.message;
    EXPECT_TRUE(h.flags & kFlagClosing) << what;
  };
  const std::uint32_t opcode = fft_opcode(FftKind::c2c, FftPrecision::f64);
  StripedFftRequest req;
  req.fft.desc = c2c({{64, 1, 1}});
  req.fft.planner_flags = FFTW_ESTIMATE;
  for (std::uint32_t stripes : {1u, kMaxStripes + 1}) {
    auto c = connect();
    req.stripes = stripes;
    send_message(*c, Kind::request, 2, opcode, req, kFlagStriped);
    expect_closing_error(*c, "stripe count");
  }
  req.stripes = 2;
  req.token = {0x5eed, 0x5eed};
  auto primary = connect();
  send_message(*primary, Kind::request, 7, opcode, req, kFlagStriped);
  std::vector<std::complex<double>> in(64, {1, 0});
  send_matrix(*primary, 7, opcode, 0, in.data(), 512, 1, 512, 1);  // stripe 0: bytes [0, 1024/2)
  auto bad = connect();
  send_message(*bad, Kind::join, 7, opcode, Join{req.token, 5}, kFlagStriped);
  expect_closing_error(*bad, "JOIN of stripe 5 of 2");
  {
    auto joined = connect();
    send_message(*joined, Kind::join, 7, opcode, Join{req.token, 1}, kFlagStriped);
    joined->shutdown();  // stripe 1 breaks before its bytes: the call fails
  }
  expect_closing_error(*primary, "primary of a call whose stripe broke");
  auto late = connect();
  send_message(*late, Kind::join, 7, opcode, Join{req.token, 1}, kFlagStriped);
  expect_closing_error(*late, "JOIN of a retired call");
  // The server still runs transforms.
  std::vector<std::complex<double>> out(64);
  const client::RemoteResult r = fftw::run_fft_remote(c2c({{64, 1, 1}}), in.data(), out.data(), FFTW_ESTIMATE);
  ASSERT_EQ(r.status, client::RemoteStatus::ok) << r.cause;
  EXPECT_NEAR(out[0].real(), 64.0, 1e-12);
}

// Over the server's request limit: the client does not even send it, and says why.
TEST(FftRemote, OverTheLimitFailsCleanly) {
  FftServer s(1 << 16);
  std::vector<std::complex<double>> in(8192), out(8192, {3, 3});
  const client::RemoteResult r = fftw::run_fft_remote(c2c({{8192, 1, 1}}), in.data(), out.data(), FFTW_ESTIMATE);
  EXPECT_EQ(r.status, client::RemoteStatus::failed);
  EXPECT_NE(r.cause.find("limit"), std::string::npos) << r.cause;
  EXPECT_EQ(out[0], std::complex<double>(3, 3));
}

// The primary backend failing to plan or to run a transform: the CPU backend runs it in the same
// request, and the result is right.
TEST(FftRemote, APrimaryBackendFailureFallsThroughToTheCpuBackend) {
  for (int mode : {0, 1}) {
    FftServer s(1ull << 32, std::make_unique<FailingFftBackend>(mode));
    std::vector<std::complex<double>> in(256), out(256);
    for (std::size_t i = 0; i < in.size(); ++i) in[i] = {std::cos(0.1 * double(i)), 0.5};
    const client::RemoteResult r = fftw::run_fft_remote(c2c({{256, 1, 1}}), in.data(), out.data(), FFTW_MEASURE);
    ASSERT_EQ(r.status, client::RemoteStatus::ok) << r.cause;
    EXPECT_EQ(r.timing.backend, "cpu") << mode;
    std::complex<double> sum = 0;
    for (const auto& x : in) sum += x;
    EXPECT_NEAR(std::abs(out[0] - sum), 0.0, 1e-10) << mode;
  }
}

// A primary backend whose striped FFTs behave like a device's (StreamedFft): it checks that the
// server announced every input byte exactly once before execute(), computes with FFTW into its own
// "device" copy, and hands the output back piece by piece from another thread, round robin over the
// server's readers; `out` holds garbage until a piece is handed back, so a sender that did not wait
// for its piece sends wrong numbers. Mode 0 works; 1 fails in execute() (the CPU backend must run
// it); 2 fails a late output piece, after the RESPONSE (the call must fail, the client runs it).
class AsyncFftBackend final : public backend::Backend {
 public:
  explicit AsyncFftBackend(int mode) : mode_(mode) {}
  std::string name() const override { return "async"; }
  std::string description() const override { return "test backend with deferred FFT output"; }
  bool supports(const Level3Args&) const override { return false; }
  void level3(const Level3Args&, const void*, const void*, void*) override { throw backend::BackendError("no"); }
  bool supports_fft(const FftDescriptor& d) const override { return backend::fftw_supports(d); }
  std::unique_ptr<backend::FftPlanCache> new_fft_cache() override { return backend::fftw_new_cache(); }
  void prepare_fft(backend::FftPlanCache& c, const FftDescriptor& d, unsigned flags, void* in, void* out) override {
    backend::fftw_prepare(c, d, flags, in, out);
  }
  void fft(backend::FftPlanCache& c, const FftDescriptor& d, unsigned flags, void* in, void* out) override {
    backend::fftw_run(c, d, flags, in, out);
  }
  std::unique_ptr<backend::StreamedFft> begin_fft(backend::FftPlanCache& c, const FftDescriptor& d, unsigned flags,
                                                  void* in, void* out) override {
    ++begun;
    return std::make_unique<Streamed>(*this, c, d, flags, in, out, mode_);
  }
  std::atomic<int> begun{0};

 private:
  struct Streamed final : backend::StreamedFft {
    Streamed(AsyncFftBackend& be, backend::FftPlanCache& c, const FftDescriptor& d, unsigned flags, void* in, void* out,
             int mode)
        : be(be),
          cache(c),
          d(d),
          flags(flags),
          in(in),
          out(static_cast<std::uint8_t*>(out)),
          mode(mode),
          seen(fft_in_bytes(d), 0) {}
    ~Streamed() override {
      if (worker.joinable()) worker.join();
    }
    void input_arrived(std::uint64_t offset, std::uint64_t bytes) noexcept override {
      std::lock_guard lock(mu);
      for (std::uint64_t i = offset; i < offset + bytes && i < seen.size(); ++i) ++seen[i];
    }
    void execute(const std::vector<backend::FftRange>& readers) override {
      {
        std::lock_guard lock(mu);
        for (int x : seen)
          if (x != 1) throw std::logic_error("input byte announced " + std::to_string(x) + " times");
      }
      if (mode == 1) throw backend::BackendError("device failed");
      be.fft(cache, d, flags, in, out);
      const std::uint64_t bytes = fft_out_bytes(d);
      device.assign(out, out + bytes);
      std::memset(out, 0xff, bytes);  // NaNs until handed back
      worker = std::thread([this, readers] { hand_back(readers); });
    }
    void wait_output(std::uint64_t offset, std::uint64_t bytes) override {
      std::unique_lock lock(mu);
      auto complete = [&] {
        std::uint64_t covered = 0;  // handed-back pieces never overlap
        for (const auto& [a, b] : done) {
          const std::uint64_t lo = std::max(a, offset), hi = std::min(b, offset + bytes);
          if (hi > lo) covered += hi - lo;
        }
        return covered == bytes;
      };
      cv.wait(lock, [&] { return failed || complete(); });
      // A range handed back before the failure is good, however late its reader looks: only the
      // pieces that never came fail.
      if (!complete()) throw backend::BackendError("device failed late");
    }
    void hand_back(std::vector<backend::FftRange> readers) {
      constexpr std::uint64_t kPiece = 1 << 20;
      for (bool more = true; more;) {
        more = false;
        for (auto& r : readers) {
          if (r.begin >= r.end) continue;
          const std::uint64_t n = std::min(kPiece, r.end - r.begin);
          std::this_thread::sleep_for(std::chrono::microseconds(200));  // a slow device: senders must wait
          std::lock_guard lock(mu);
          if (mode == 2 && &r == &readers.back() && r.begin + n == r.end) {  // the very last piece fails
            failed = true;
            cv.notify_all();
            return;
          }
          std::memcpy(out + r.begin, device.data() + r.begin, n);
          done.emplace_back(r.begin, r.begin + n);
          r.begin += n;
          more = more || r.begin < r.end;
          cv.notify_all();
        }
      }
    }
    AsyncFftBackend& be;
    backend::FftPlanCache& cache;
    FftDescriptor d;
    unsigned flags;
    void* in;
    std::uint8_t* out;
    int mode;
    std::mutex mu;
    std::condition_variable cv;
    std::vector<int> seen;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> done;
    bool failed = false;
    std::vector<std::uint8_t> device;
    std::thread worker;
  };
  int mode_;
};

// Runs one c2c transform striped over `k` raw connections, as the client's run_striped does
// (docs/protocol.md, "Striped FFTs"): the client's own stripe count does not depend on this
// machine's cores. Returns the backend named in the RESPONSE, or "" when the call failed on any
// connection (an ERROR, a connection shut down).
std::string run_striped_raw(FftServer& s, std::size_t k, const std::vector<std::complex<double>>& in,
                            std::vector<std::complex<double>>& out) {
  std::vector<std::unique_ptr<transport::Connection>> conns;
  for (std::size_t c = 0; c < k; ++c) {
    conns.push_back(transport::connect(s.srv->endpoint(), 2000));
    client::client_handshake(*conns.back(), s.srv->endpoint(), kCapLevel3);
  }
  const std::uint32_t opcode = fft_opcode(FftKind::c2c, FftPrecision::f64);
  StripedFftRequest req;
  req.fft.desc = fft_packed(c2c({{std::int64_t(in.size()), 1, 1}}));
  req.fft.planner_flags = FFTW_ESTIMATE;
  req.stripes = std::uint32_t(k);
  req.token = {0xfeed, 0xfeed};
  const std::uint64_t bytes = in.size() * sizeof(in[0]);
  const auto* src = reinterpret_cast<const std::uint8_t*>(in.data());
  auto* dst = reinterpret_cast<std::uint8_t*>(out.data());
  std::mutex mu;
  bool failed = false;
  std::string backend_name;
  auto stripe = [&](std::size_t c) {
    try {
      transport::Connection& conn = *conns[c];
      if (c == 0)
        send_message(conn, Kind::request, 9, opcode, req, kFlagStriped);
      else
        send_message(conn, Kind::join, 9, opcode, Join{req.token, std::uint32_t(c)}, kFlagStriped);
      const auto [a, b] = fft_stripe_range(bytes, c, k);
      send_matrix(conn, 9, opcode, 0, src + a, b - a, 1, b - a, 1);
      if (c == 0) {
        const FrameHeader h = recv_header(conn);
        if (h.kind != Kind::response) throw std::runtime_error("no RESPONSE");
        const Response resp = recv_body<Response>(conn, h);
        std::lock_guard lock(mu);
        backend_name = resp.backend;
      }
      recv_matrix(conn, 9, 1, dst + a, b - a);
    } catch (const std::exception&) {
      std::lock_guard lock(mu);
      failed = true;
      for (auto& x : conns) x->shutdown();  // as the client does: the first failure ends the call
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t c = 0; c < k; ++c) threads.emplace_back(stripe, c);
  for (std::thread& t : threads) t.join();
  return failed ? std::string() : backend_name;
}

// One 2^20-point c2c transform (16 MiB each way, several 4 MiB pieces per stripe) striped over 3
// connections through a backend whose output comes back late and piece by piece: the result is
// right (mode 0), the CPU backend takes over when execute() fails (1), and a failure after the
// RESPONSE fails the call on the client's side (2); the server goes on serving.
TEST(FftRemote, StripedCallsWaitForEachOutputPieceOfAStreamedBackend) {
  const std::size_t n = 1 << 20;
  std::vector<std::complex<double>> in(n);
  for (std::size_t i = 0; i < n; ++i) in[i] = {std::cos(0.001 * double(i)), std::sin(0.003 * double(i))};
  std::vector<std::complex<double>> want(n), copy = in;
  fftw_plan p = fftw_plan_dft_1d(int(n), reinterpret_cast<fftw_complex*>(copy.data()),
                                 reinterpret_cast<fftw_complex*>(want.data()), FFTW_FORWARD, FFTW_ESTIMATE);
  ASSERT_TRUE(p);
  fftw_execute(p);
  fftw_destroy_plan(p);
  for (int mode : {0, 1, 2}) {
    auto be = std::make_unique<AsyncFftBackend>(mode);
    AsyncFftBackend* raw = be.get();
    FftServer s(1ull << 32, std::move(be));
    std::vector<std::complex<double>> out(n);
    const std::string backend_name = run_striped_raw(s, 3, in, out);
    EXPECT_EQ(raw->begun.load(), 1) << mode;  // striped: through begin_fft
    if (mode == 2) {
      EXPECT_EQ(backend_name, "") << mode;
    } else {
      EXPECT_EQ(backend_name, mode == 0 ? "async" : "cpu") << mode;
      double err = 0;
      for (std::size_t i = 0; i < n; ++i) err = std::max(err, std::abs(out[i] - want[i]));
      EXPECT_LT(err, 1e-6) << mode;
    }
    // The server still runs transforms.
    std::vector<std::complex<double>> small(64, {1, 0}), small_out(64);
    const client::RemoteResult r =
        fftw::run_fft_remote(c2c({{64, 1, 1}}), small.data(), small_out.data(), FFTW_ESTIMATE);
    ASSERT_EQ(r.status, client::RemoteStatus::ok) << mode << ": " << r.cause;
    EXPECT_NEAR(small_out[0].real(), 64.0, 1e-12) << mode;
  }
}

}  // namespace
}  // namespace rcpu
