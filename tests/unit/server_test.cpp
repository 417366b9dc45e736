// rcpud's pieces: options, the CPU backend against a naive reference (all 30 routines), and the
// whole remote path (client pool -> protocol -> in-process server -> backend) for every routine,
// plus the client's failure modes: no server, refused connection and back-off, over-limit
// requests, many threads, fork.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <complex>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../integration/level3_cases.h"
#include "backends/backend.h"
#include "backends/cpu/cpu_backend.h"
#include "client/blas/level3_remote.h"
#include "rcpu_opcodes.h"
#include "server/core/counters.h"
#include "server/core/machine_memory.h"
#include "server/core/options.h"
#include "server/core/server.h"
#include "server/kinds.h"
#include "transport/connect.h"

namespace rcpu {
namespace {

using testing::Case;
using cd = std::complex<double>;
using Clock = std::chrono::steady_clock;

// ---------------- options ----------------

server::ParseResult parse(std::vector<std::string> args) {
  std::vector<char*> argv;
  static std::vector<std::string> keep;
  keep = std::move(args);
  keep.insert(keep.begin(), "rcpud");
  for (auto& s : keep) argv.push_back(s.data());
  return server::parse_options(int(argv.size()), argv.data());
}

TEST(ServerOptions, DefaultsAndValues) {
  auto r = parse({});
  ASSERT_TRUE(r.options);
  EXPECT_EQ(r.options->listen, "127.0.0.1:7000");
  EXPECT_EQ(r.options->backend, "auto");
  EXPECT_EQ(r.options->max_request_bytes, 0u);  // the memory budget, filled in by the server
  EXPECT_EQ(r.options->max_sessions, 64);
  r = parse({"--listen", "0.0.0.0:0", "--backend", "cpu", "--devices", "0,1", "--max-request-bytes", "1G",
             "--max-sessions", "3", "--insecure", "--max-memory", "512M"});
  ASSERT_TRUE(r.options) << r.message;
  EXPECT_EQ(r.options->listen, "0.0.0.0:0");
  EXPECT_EQ(r.options->devices, (std::vector<int>{0, 1}));
  EXPECT_EQ(r.options->max_request_bytes, 1ull << 30);
  EXPECT_EQ(r.options->max_memory_bytes, 512ull << 20);
  EXPECT_EQ(r.options->max_sessions, 3);
  EXPECT_TRUE(r.options->insecure);
  EXPECT_EQ(parse({}).options->handshake_timeout_ms, 10000);
  EXPECT_EQ(parse({}).options->idle_timeout_ms, 120000);
  r = parse({"--handshake-timeout", "0.5", "--idle-timeout", "30", "--key-file", "a", "--key-file", "b"});
  ASSERT_TRUE(r.options) << r.message;
  EXPECT_EQ(r.options->handshake_timeout_ms, 500);
  EXPECT_EQ(r.options->idle_timeout_ms, 30000);
  EXPECT_EQ(r.options->key_files, (std::vector<std::string>{"a", "b"}));
  r = parse({"--auth", "shared-key,munge", "--munge-socket", "/run/m.sock"});
  ASSERT_TRUE(r.options) << r.message;
  EXPECT_EQ(r.options->auth_methods, (std::vector<std::string>{"shared-key", "munge"}));
  EXPECT_EQ(r.options->munge_socket, "/run/m.sock");
  for (std::vector<std::string> bad : std::vector<std::vector<std::string>>{{"--backend", "gpu"},
                                                                            {"--listen", "nowhere"},
                                                                            {"--max-sessions", "0"},
                                                                            {"--devices", "a"},
                                                                            {"--max-request-bytes", "12Q"},
                                                                            {"--bogus"},
                                                                            {"--idle-timeout", "0"},
                                                                            {"--handshake-timeout", "x"},
                                                                            {"--key-file", ""},
                                                                            {"--auth", "kerberos"},
                                                                            {"--auth", ""},
                                                                            {"extra"}}) {
    auto b = parse(bad);
    EXPECT_FALSE(b.options) << bad[0];
    EXPECT_EQ(b.exit_code, 2);
  }
  EXPECT_EQ(parse({"--help"}).exit_code, 0);
  // An address may name its transport; TCP's is the bare form.
  r = parse({"--listen", "tcp://[::1]:7001"});
  ASSERT_TRUE(r.options) << r.message;
  EXPECT_EQ(r.options->listen, "[::1]:7001");
  r = parse({"--listen", "carrier-pigeon://coop:1"});
  EXPECT_FALSE(r.options);
  EXPECT_NE(r.message.find("--listen: unknown transport 'carrier-pigeon'"), std::string::npos) << r.message;
  EXPECT_EQ(server::parse_size("4k"), 4096u);
  EXPECT_FALSE(server::parse_size("99999999999T"));
}

// ---------------- naive reference ----------------

struct Mat {
  std::int64_t r = 0, c = 0;
  std::vector<cd> v;
  Mat(std::int64_t rows, std::int64_t cols) : r(rows), c(cols), v(std::size_t(rows * cols)) {}
  cd& operator()(std::int64_t i, std::int64_t j) { return v[std::size_t(j * r + i)]; }
  cd operator()(std::int64_t i, std::int64_t j) const { return v[std::size_t(j * r + i)]; }
};

Mat load(const std::vector<std::uint8_t>& arr, Dtype t, const OperandShape& s) {
  Mat m(s.rows, s.cols);
  for (std::int64_t j = 0; j < s.cols; ++j)
    for (std::int64_t i = 0; i < s.rows; ++i) m(i, j) = testing::get(arr, t, std::size_t(j * s.ld + i));
  return m;
}

Mat op(const Mat& a, char trans) {
  if (trans == 'N') return a;
  Mat t(a.c, a.r);
  for (std::int64_t j = 0; j < a.c; ++j)
    for (std::int64_t i = 0; i < a.r; ++i) t(j, i) = trans == 'C' ? std::conj(a(i, j)) : a(i, j);
  return t;
}

Mat mul(const Mat& a, const Mat& b) {
  Mat p(a.r, b.c);
  for (std::int64_t j = 0; j < b.c; ++j)
    for (std::int64_t l = 0; l < a.c; ++l)
      for (std::int64_t i = 0; i < a.r; ++i) p(i, j) += a(i, l) * b(l, j);
  return p;
}

bool in_triangle(char uplo, std::int64_t i, std::int64_t j) { return uplo == 'U' ? i <= j : i >= j; }

// The reference result: the application's C (B for trmm/trsm) array after the call.
std::vector<std::uint8_t> reference(const Case& cs) {
  const Level3Args& x = cs.args;
  const Dtype t = x.dtype;
  const Level3Shapes s = level3_shapes(x);
  std::vector<std::uint8_t> out = cs.c;
  const Mat A = load(cs.a, t, s.a);
  const Mat C = load(cs.c, t, s.c);
  Mat R(s.c.rows, s.c.cols);
  const bool beta0 = x.beta == cd(0, 0);
  auto plus_beta_c = [&](std::int64_t i, std::int64_t j) { return beta0 ? cd(0) : x.beta * C(i, j); };
  switch (x.family) {
    case L3Family::gemm: {
      const Mat P = mul(op(A, x.transa), op(load(cs.b, t, s.b), x.transb));
      for (std::int64_t j = 0; j < x.n; ++j)
        for (std::int64_t i = 0; i < x.m; ++i) R(i, j) = x.alpha * P(i, j) + plus_beta_c(i, j);
      break;
    }
    case L3Family::symm:
    case L3Family::hemm: {
      const bool herm = x.family == L3Family::hemm;
      Mat F(A.r, A.c);
      for (std::int64_t j = 0; j < A.c; ++j)
        for (std::int64_t i = 0; i < A.r; ++i) {
          F(i, j) = in_triangle(x.uplo, i, j) ? A(i, j) : (herm ? std::conj(A(j, i)) : A(j, i));
          if (herm && i == j) F(i, j) = A(i, i).real();
        }
      const Mat B = load(cs.b, t, s.b);
      const Mat P = x.side == 'L' ? mul(F, B) : mul(B, F);
      for (std::int64_t j = 0; j < x.n; ++j)
        for (std::int64_t i = 0; i < x.m; ++i) R(i, j) = x.alpha * P(i, j) + plus_beta_c(i, j);
      break;
    }
    case L3Family::syrk:
    case L3Family::herk:
    case L3Family::syr2k:
    case L3Family::her2k: {
      const bool herm = x.family == L3Family::herk || x.family == L3Family::her2k;
      const char tr = herm ? 'C' : 'T';
      const Mat opA = op(A, x.transa == 'N' ? 'N' : tr);
      Mat P(x.n, x.n);
      if (x.family == L3Family::syrk || x.family == L3Family::herk) {
        P = mul(opA, op(opA, tr));
        for (auto& e : P.v) e *= x.alpha;
      } else {
        const Mat opB = op(load(cs.b, t, s.b), x.transa == 'N' ? 'N' : tr);
        const Mat P1 = mul(opA, op(opB, tr)), P2 = mul(opB, op(opA, tr));
        for (std::size_t i = 0; i < P.v.size(); ++i)
          P.v[i] = x.alpha * P1.v[i] + (herm ? std::conj(x.alpha) : x.alpha) * P2.v[i];
      }
      for (std::int64_t j = 0; j < x.n; ++j)
        for (std::int64_t i = 0; i < x.n; ++i) {
          if (!in_triangle(x.uplo, i, j)) {
            R(i, j) = C(i, j);
            continue;
          }
          cd cij = beta0 ? cd(0) : x.beta * (herm && i == j ? cd(C(i, i).real()) : C(i, j));
          R(i, j) = P(i, j) + cij;
          if (herm && i == j) R(i, j) = R(i, j).real();
        }
      break;
    }
    case L3Family::trmm:
    case L3Family::trsm: {
      Mat T(A.r, A.c);
      for (std::int64_t j = 0; j < A.c; ++j)
        for (std::int64_t i = 0; i < A.r; ++i)
          T(i, j) = i == j ? (x.diag == 'U' ? cd(1) : A(i, i)) : (in_triangle(x.uplo, i, j) ? A(i, j) : cd(0));
      const Mat opT = op(T, x.transa);
      if (x.family == L3Family::trmm) {
        const Mat P = x.side == 'L' ? mul(opT, C) : mul(C, opT);
        for (std::size_t i = 0; i < P.v.size(); ++i) R.v[i] = x.alpha * P.v[i];
      } else {
        // Solve opT X = alpha B (left) or X opT = alpha B, i.e. opT^T X^T = alpha B^T (right).
        const Mat M = x.side == 'L' ? opT : op(opT, 'T');
        Mat X = x.side == 'L' ? C : op(C, 'T');
        for (auto& e : X.v) e *= x.alpha;
        const std::int64_t n = M.r;
        // M is triangular: detect which way by its non-zeros (robust for every option mix).
        bool is_upper = true;
        for (std::int64_t j = 0; j < n && is_upper; ++j)
          for (std::int64_t i = j + 1; i < n; ++i)
            if (M(i, j) != cd(0)) {
              is_upper = false;
              break;
            }
        for (std::int64_t col = 0; col < X.c; ++col) {
          if (is_upper) {
            for (std::int64_t i = n - 1; i >= 0; --i) {
              cd v = X(i, col);
              for (std::int64_t l = i + 1; l < n; ++l) v -= M(i, l) * X(l, col);
              X(i, col) = v / M(i, i);
            }
          } else {
            for (std::int64_t i = 0; i < n; ++i) {
              cd v = X(i, col);
              for (std::int64_t l = 0; l < i; ++l) v -= M(i, l) * X(l, col);
              X(i, col) = v / M(i, i);
            }
          }
        }
        R = x.side == 'L' ? X : op(X, 'T');
      }
      break;
    }
  }
  for (std::int64_t j = 0; j < s.c.cols; ++j)
    for (std::int64_t i = 0; i < s.c.rows; ++i) testing::set(out, t, std::size_t(j * s.c.ld + i), R(i, j));
  return out;
}

std::vector<std::pair<L3Family, Dtype>> all_routines() {
  std::vector<std::pair<L3Family, Dtype>> out;
  for (int f = 0; f <= int(L3Family::trsm); ++f)
    for (int t = 0; t <= int(Dtype::z); ++t)
      if (level3_opcode(L3Family(f), Dtype(t))) out.emplace_back(L3Family(f), Dtype(t));
  return out;
}

std::string describe(const Level3Args& x) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%s side=%c uplo=%c trans=%c/%c diag=%c m=%lld n=%lld k=%lld lda=%lld ldb=%lld ldc=%lld beta=(%g,%g)",
                routine_name(x.family, x.dtype).c_str(), x.side, x.uplo, x.transa, x.transb, x.diag, (long long)x.m,
                (long long)x.n, (long long)x.k, (long long)x.lda, (long long)x.ldb, (long long)x.ldc, x.beta.real(),
                x.beta.imag());
  return buf;
}

TEST(CpuBackend, MatchesNaiveReferenceForEveryRoutine) {
  auto be = backend::make_cpu_backend({});
  EXPECT_EQ(be->name(), "cpu");
  EXPECT_NE(be->description().find("OpenBLAS"), std::string::npos);
  std::mt19937_64 rng(1);
  for (auto [f, t] : all_routines())
    for (int rep = 0; rep < 6; ++rep) {
      const Level3Args x = testing::random_args(f, t, rng, 9, rep % 2 == 1, rep % 3 == 0);
      ASSERT_FALSE(level3_validate(x)) << describe(x);
      Case cs = testing::make_case(x, rng);
      const std::vector<std::uint8_t> want = reference(cs);
      be->level3(x, cs.ptr(cs.a), cs.ptr(cs.b), cs.ptr(cs.c));
      EXPECT_LT(testing::max_rel_diff(cs.c, want, t), testing::tolerance(t)) << describe(x);
    }
}

TEST(CpuBackend, RejectsDimensionsBeyondTheBlasInteger) {
  auto be = backend::make_cpu_backend({});
  Level3Args x;
  x.m = std::int64_t(1) << 31;
  x.n = x.k = 1;
  x.lda = x.m;
  EXPECT_THROW(be->level3(x, nullptr, nullptr, nullptr), backend::BackendError);
}

// Made-up opcodes cannot grow the server's counters: they share one entry.
TEST(Counters, UnknownOpcodesShareOneEntry) {
  server::Counters c;
  for (std::uint32_t i = 0; i < 100000; ++i) c.add_error(0x7f000000u + i);
  c.add_error(std::uint32_t(Opcode::dgemm));
  const auto snap = c.snapshot();
  EXPECT_EQ(snap.size(), 2u);
  EXPECT_EQ(snap.at(server::Counters::kUnknownOpcode).errors, 100000u);
  EXPECT_EQ(snap.at(std::uint32_t(Opcode::dgemm)).errors, 1u);
  EXPECT_NE(c.report().find("unknown: 0 calls, 100000 errors"), std::string::npos) << c.report();
}

// The default budget follows a control group's memory limit: v2 (the group's and its parents'
// memory.max, the tightest) and v1 (memory.limit_in_bytes), "max" and v1's huge value meaning none.
TEST(MachineMemory, ControlGroupLimits) {
  char tmpl[] = "/tmp/rcpu-cgroup-XXXXXX";
  const std::string root = ::mkdtemp(tmpl);
  auto write = [&](const std::string& path, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(root + path).parent_path());
    std::ofstream(root + path) << text;
  };
  EXPECT_FALSE(server::cgroup_memory_limit(root));  // nothing to read: no limit
  write("/proc/self/cgroup", "0::/slurm/job7/step0\n");
  write("/sys/fs/cgroup/memory.max", "max\n");
  write("/sys/fs/cgroup/slurm/job7/memory.max", "17179869184\n");
  write("/sys/fs/cgroup/slurm/job7/step0/memory.max", "max\n");
  EXPECT_EQ(server::cgroup_memory_limit(root), 16ull << 30);  // the job's limit binds its step
  write("/sys/fs/cgroup/slurm/job7/step0/memory.max", "4294967296\n");
  EXPECT_EQ(server::cgroup_memory_limit(root), 4ull << 30);
  write("/proc/self/cgroup", "9:cpu,cpuacct:/x\n4:memory:/docker/abc\n");
  write("/sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
  write("/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "2147483648\n");
  EXPECT_EQ(server::cgroup_memory_limit(root), 2ull << 30);
  std::filesystem::remove_all(root);
  EXPECT_GT(server::usable_memory_bytes(), 0u);
  EXPECT_EQ(server::MemoryBudget::default_limit(), server::usable_memory_bytes() / 4 * 3);
}

// ---------------- the whole remote path against an in-process server ----------------

class InProcessServer {
 public:
  explicit InProcessServer(server::ServerOptions o = {}) {
    o.listen = "127.0.0.1:0";
    srv_ = std::make_unique<server::Server>(o, backend::make_cpu_backend({}), server::server_kinds());
    thread_ = std::thread([this] { srv_->run(); });
  }
  ~InProcessServer() {
    srv_->stop();
    thread_.join();
  }
  std::string endpoint() const { return srv_->endpoint(); }
  server::Server& server() { return *srv_; }

 private:
  std::unique_ptr<server::Server> srv_;
  std::thread thread_;
};

void point_client_at(const std::string& endpoint) {
  setenv("RCPU_SERVER", endpoint.c_str(), 1);
  client::remote_reset();
}

class Remote : public ::testing::Test {
 protected:
  void SetUp() override { point_client_at(server_.endpoint()); }
  void TearDown() override {
    unsetenv("RCPU_SERVER");
    client::remote_reset();
  }
  InProcessServer server_;
};

// Runs one random call remotely and directly on the CPU backend (with the application's leading
// dimensions); the whole C arrays, padding included, must agree.
void check_remote_call(const Level3Args& x, std::mt19937_64& rng) {
  Case remote = testing::make_case(x, rng);
  Case local = remote;
  auto be = backend::make_cpu_backend({});
  be->level3(x, local.ptr(local.a), local.ptr(local.b), local.ptr(local.c));
  const client::RemoteResult r =
      client::run_level3_remote(x, remote.ptr(remote.a), remote.ptr(remote.b), remote.ptr(remote.c));
  ASSERT_EQ(r.status, client::RemoteStatus::ok) << r.cause << " " << describe(x);
  EXPECT_LT(testing::max_rel_diff(remote.c, local.c, x.dtype), testing::tolerance(x.dtype)) << describe(x);
  EXPECT_GT(r.timing.bytes_sent, 0u);
  EXPECT_GT(r.timing.bytes_received, 0u);
  EXPECT_GE(r.timing.on_server_s, 0.0);
}

TEST_F(Remote, EveryRoutineMatchesTheBackend) {
  std::mt19937_64 rng(2);
  for (auto [f, t] : all_routines())
    for (int rep = 0; rep < 4; ++rep)
      check_remote_call(testing::random_args(f, t, rng, 40, rep % 2 == 0, rep >= 2), rng);
}

TEST_F(Remote, LargeOperandsSpanManyFrames) {
  std::mt19937_64 rng(3);
  Level3Args x = testing::random_args(L3Family::gemm, Dtype::d, rng, 1, false, false);
  x.transa = x.transb = 'N';
  x.m = 700;
  x.n = 300;
  x.k = 900;
  x.lda = 703;
  x.ldb = 900;
  x.ldc = 700;
  check_remote_call(x, rng);
  x.beta = 0;
  check_remote_call(x, rng);  // C received in place
}

TEST_F(Remote, ManyThreadsShareThePool) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 6; ++i)
    threads.emplace_back([i, &failures] {
      std::mt19937_64 rng(100 + i);
      for (int rep = 0; rep < 8; ++rep) {
        const Level3Args x =
            testing::random_args(rep % 2 ? L3Family::gemm : L3Family::herk, Dtype::z, rng, 30, true, false);
        Case cs = testing::make_case(x, rng);
        Case ref = cs;
        backend::make_cpu_backend({})->level3(x, ref.ptr(ref.a), ref.ptr(ref.b), ref.ptr(ref.c));
        auto r = client::run_level3_remote(x, cs.ptr(cs.a), cs.ptr(cs.b), cs.ptr(cs.c));
        if (r.status != client::RemoteStatus::ok || testing::max_rel_diff(cs.c, ref.c, x.dtype) > 1e-11) ++failures;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  client::RemoteServerInfo info;
  EXPECT_EQ(client::remote_probe(&info).status, client::RemoteStatus::ok);
  EXPECT_EQ(info.backend, "cpu");
  EXPECT_EQ(info.endpoint, server_.endpoint());
  const auto counts = server_.server().counters().snapshot();
  EXPECT_EQ(counts.at(*level3_opcode(L3Family::gemm, Dtype::z)).calls, 24u);
  EXPECT_LE(server_.server().counters().sessions(), 8u);  // the pool's default cap
}

TEST_F(Remote, ChildAfterForkUsesItsOwnConnection) {
  std::mt19937_64 rng(4);
  const Level3Args x = testing::random_args(L3Family::gemm, Dtype::d, rng, 20, false, false);
  Case cs = testing::make_case(x, rng);
  ASSERT_EQ(client::run_level3_remote(x, cs.ptr(cs.a), cs.ptr(cs.b), cs.ptr(cs.c)).status, client::RemoteStatus::ok);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    Case c2 = cs;
    const auto r = client::run_level3_remote(x, c2.ptr(c2.a), c2.ptr(c2.b), c2.ptr(c2.c));
    _exit(r.status == client::RemoteStatus::ok ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // The parent's pooled connection survived the child (nothing was sent on it from there).
  EXPECT_EQ(client::run_level3_remote(x, cs.ptr(cs.a), cs.ptr(cs.b), cs.ptr(cs.c)).status, client::RemoteStatus::ok);
}

TEST(RemoteFailures, NoServerConfigured) {
  unsetenv("RCPU_SERVER");
  client::remote_reset();
  EXPECT_FALSE(client::remote_configured());
  Level3Args x;
  x.m = x.n = x.k = 2;
  x.lda = x.ldb = x.ldc = 2;
  x.alpha = 1;
  double a[4] = {}, b[4] = {}, c[4] = {};
  const auto r = client::run_level3_remote(x, a, b, c);
  EXPECT_EQ(r.status, client::RemoteStatus::unavailable);
  EXPECT_EQ(r.cause, "RCPU_SERVER is not set");
}

TEST(RemoteFailures, RefusedConnectionBacksOff) {
  std::string closed;  // an address nobody listens on: bind one, note it, close it
  {
    auto l = transport::listen("127.0.0.1:0");
    closed = l->address();
  }
  point_client_at(closed);
  Level3Args x;
  x.m = x.n = x.k = 2;
  x.lda = x.ldb = x.ldc = 2;
  x.alpha = 1;
  double a[4] = {}, b[4] = {}, c[4] = {5, 5, 5, 5};
  auto t0 = Clock::now();
  auto r = client::run_level3_remote(x, a, b, c);
  EXPECT_EQ(r.status, client::RemoteStatus::unavailable);
  EXPECT_NE(r.cause.find("Connection refused"), std::string::npos) << r.cause;
  // Within the back-off the next call does not even try.
  t0 = Clock::now();
  r = client::run_level3_remote(x, a, b, c);
  EXPECT_EQ(r.status, client::RemoteStatus::unavailable);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 0.01);
  EXPECT_EQ(c[0], 5);
  unsetenv("RCPU_SERVER");
  client::remote_reset();
}

TEST(RemoteFailures, OverLimitRequestFailsAndConnectionStaysUsable) {
  server::ServerOptions o;
  o.max_request_bytes = 100000;
  InProcessServer s(o);
  point_client_at(s.endpoint());
  std::mt19937_64 rng(6);
  Level3Args x = testing::random_args(L3Family::gemm, Dtype::d, rng, 1, false, false);
  x.m = x.n = x.k = 100;  // 3 x 80 KB
  x.lda = x.ldb = x.ldc = 100;
  Case cs = testing::make_case(x, rng);
  const auto before = cs.c;
  auto r = client::run_level3_remote(x, cs.ptr(cs.a), cs.ptr(cs.b), cs.ptr(cs.c));
  EXPECT_EQ(r.status, client::RemoteStatus::failed);
  EXPECT_NE(r.cause.find("limit"), std::string::npos) << r.cause;
  EXPECT_EQ(cs.c, before);
  x.m = x.n = x.k = 20;
  x.lda = x.ldb = x.ldc = 20;
  check_remote_call(x, rng);
  unsetenv("RCPU_SERVER");
  client::remote_reset();
}

TEST(RemoteFailures, ServerRestartLeavesNoBrokenPooledConnection) {
  std::mt19937_64 rng(7);
  Level3Args x = testing::random_args(L3Family::gemm, Dtype::d, rng, 10, false, false);
  std::string endpoint;
  {
    InProcessServer s;
    endpoint = s.endpoint();
    point_client_at(endpoint);
    check_remote_call(x, rng);
  }
  // Same port, new server: the idle pooled connection is stale and must be noticed, not used.
  server::ServerOptions o;
  o.listen = endpoint;
  auto srv = std::make_unique<server::Server>(o, backend::make_cpu_backend({}), server::server_kinds());
  std::thread t([&] { srv->run(); });
  check_remote_call(x, rng);
  srv->stop();
  t.join();
  unsetenv("RCPU_SERVER");
  client::remote_reset();
}

}  // namespace
}  // namespace rcpu
