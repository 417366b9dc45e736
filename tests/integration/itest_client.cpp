// The well-behaved client of the integration tests: real Level-3 calls through the client library
// (run_level3_remote, RCPU_SERVER from the environment), checked against the CPU backend run
// locally. The driver (driver.py) runs it in several modes:
//   hash                       print the opcode-table hash the server expects (hex)
//   check THREADS ITERS SEED   dgemm / zherk / dtrsm (+ others) from THREADS threads; all must be ok
//   bigcall N BETA             one large dgemm; prints "started" first. The driver kills the server
//                              mid-call: the call must fail and leave C bit-for-bit unchanged, or
//                              (a tiled call with C inout) say which columns are left: those are
//                              unchanged and all others hold the exact result; the next call must
//                              be "unavailable" at once
//   refused                    no server: "unavailable" quickly, then at once (back-off)
//   limit                      a request over the server's --max-request-bytes fails, a small one works
//   gaps N SECONDS             N small calls SECONDS apart (longer than the server's idle time-out):
//                              every one must run remotely, on a fresh connection where the server
//                              closed the idle one
//   unavailable TEXT           the server cannot be used (e.g. it fails to prove the client's key): a
//                              call is "unavailable" with TEXT in its cause and leaves C unchanged
// Exit status 0 = as expected; anything else prints why.
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "backends/backend.h"
#include "backends/cpu/cpu_backend.h"
#include "client/blas/level3_remote.h"
#include "level3_cases.h"
#include "protocol/messages.h"

using namespace rcpu;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

const char* status_name(client::RemoteStatus s) {
  switch (s) {
    case client::RemoteStatus::ok:
      return "ok";
    case client::RemoteStatus::unavailable:
      return "unavailable";
    case client::RemoteStatus::failed:
      return "failed";
    case client::RemoteStatus::rerun_local:
      return "rerun_local";
  }
  return "?";
}

// One random call remotely and locally; returns an empty string when they agree.
std::string one_call(L3Family f, Dtype t, std::mt19937_64& rng, std::int64_t max_dim) {
  const Level3Args x = testing::random_args(f, t, rng, max_dim, rng() % 2 == 0, rng() % 3 == 0);
  testing::Case remote = testing::make_case(x, rng);
  testing::Case local = remote;
  backend::make_cpu_backend({})->level3(x, local.ptr(local.a), local.ptr(local.b), local.ptr(local.c));
  const auto r = client::run_level3_remote(x, remote.ptr(remote.a), remote.ptr(remote.b), remote.ptr(remote.c));
  if (r.status != client::RemoteStatus::ok) return routine_name(f, t) + ": " + status_name(r.status) + ": " + r.cause;
  const double diff = testing::max_rel_diff(remote.c, local.c, t);
  if (!(diff < testing::tolerance(t))) return routine_name(f, t) + ": result differs by " + std::to_string(diff);
  return "";
}

int check(int threads, int iters, std::uint64_t seed) {
  const std::pair<L3Family, Dtype> mix[] = {{L3Family::gemm, Dtype::d}, {L3Family::herk, Dtype::z},
                                            {L3Family::trsm, Dtype::d}, {L3Family::syr2k, Dtype::s},
                                            {L3Family::hemm, Dtype::c}, {L3Family::trmm, Dtype::z}};
  std::vector<std::string> errors(threads);
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i)
    pool.emplace_back([&, i] {
      std::mt19937_64 rng(seed * 1000 + i);
      for (int k = 0; k < iters && errors[i].empty(); ++k) {
        const auto& [f, t] = mix[(i + k) % (k < 3 ? 3 : 6)];
        errors[i] = one_call(f, t, rng, 96);
      }
    });
  for (auto& t : pool) t.join();
  int bad = 0;
  for (const auto& e : errors)
    if (!e.empty()) {
      std::fprintf(stderr, "itest_client: %s\n", e.c_str());
      ++bad;
    }
  if (bad) return 1;
  std::printf("ok %d calls\n", threads * iters);
  return 0;
}

Level3Args square_dgemm(std::int64_t n, double beta) {
  Level3Args x;
  x.family = L3Family::gemm;
  x.dtype = Dtype::d;
  x.m = x.n = x.k = n;
  x.lda = x.ldb = x.ldc = n;
  x.alpha = 1;
  x.beta = beta;
  return x;
}

int bigcall(std::int64_t n, double beta) {
  const Level3Args x = square_dgemm(n, beta);
  std::mt19937_64 rng(9);
  testing::Case cs = testing::make_case(x, rng);
  const std::vector<std::uint8_t> before = cs.c;
  std::printf("started\n");
  std::fflush(stdout);
  const auto t0 = Clock::now();
  const auto r = client::run_level3_remote(x, cs.ptr(cs.a), cs.ptr(cs.b), cs.ptr(cs.c));
  const double took = since(t0);
  const bool unchanged = cs.c == before;
  std::printf("status=%s unchanged=%d partial=%d columns_left=%zu seconds=%.3f cause=%s\n", status_name(r.status),
              int(unchanged), int(r.partial), r.columns_left.size(), took, r.cause.c_str());
  if (r.status != client::RemoteStatus::failed) return 1;
  if (!r.partial && !unchanged) return 1;
  if (r.partial) {
    // The columns that arrived are final, the others untouched (local_columns.h finishes them).
    testing::Case ref = cs;
    ref.c = before;
    backend::make_cpu_backend({})->level3(x, ref.ptr(ref.a), ref.ptr(ref.b), ref.ptr(ref.c));
    std::vector<char> left(std::size_t(n), 0);
    for (const auto& [c0, cols] : r.columns_left)
      for (std::int64_t j = c0; j < c0 + cols; ++j) left[std::size_t(j)] = 1;
    const std::size_t col_bytes = std::size_t(n) * sizeof(double);
    std::int64_t arrived = 0;
    for (std::int64_t j = 0; j < n; ++j) {
      const std::size_t off = std::size_t(j) * col_bytes;
      bool ok = true;
      if (left[std::size_t(j)]) {
        ok = std::memcmp(cs.c.data() + off, before.data() + off, col_bytes) == 0;  // bit for bit
      } else {
        // The server's panel and this full call may round differently: compare with the tolerance.
        const auto* got = reinterpret_cast<const double*>(cs.c.data() + off);
        const auto* want = reinterpret_cast<const double*>(ref.c.data() + off);
        for (std::int64_t i = 0; i < n && ok; ++i)
          ok = std::abs(got[i] - want[i]) <= 1e-12 * (1.0 + std::abs(want[i])) * double(n);
      }
      if (!ok) {
        std::printf("column %" PRId64 " is not %s\n", j, left[std::size_t(j)] ? "untouched" : "the result");
        return 1;
      }
      arrived += !left[std::size_t(j)];
    }
    std::printf("%" PRId64 " columns arrived and are final, the others untouched\n", arrived);
  }
  const std::vector<std::uint8_t> after = cs.c;
  // The server is gone: the next call must give up at once (refused, then back-off).
  const auto t1 = Clock::now();
  const auto r2 = client::run_level3_remote(x, cs.ptr(cs.a), cs.ptr(cs.b), cs.ptr(cs.c));
  std::printf("next=%s seconds=%.3f cause=%s\n", status_name(r2.status), since(t1), r2.cause.c_str());
  return r2.status == client::RemoteStatus::unavailable && since(t1) < 1.0 && cs.c == after ? 0 : 1;
}

int refused() {
  const Level3Args x = square_dgemm(4, 0);
  std::vector<double> a(16, 1), b(16, 1), c(16, 7);
  auto t0 = Clock::now();
  const auto r1 = client::run_level3_remote(x, a.data(), b.data(), c.data());
  const double first = since(t0);
  t0 = Clock::now();
  const auto r2 = client::run_level3_remote(x, a.data(), b.data(), c.data());
  const double second = since(t0);
  std::printf("first=%s %.4fs second=%s %.4fs cause=%s\n", status_name(r1.status), first, status_name(r2.status),
              second, r1.cause.c_str());
  const bool ok = r1.status == client::RemoteStatus::unavailable && r2.status == client::RemoteStatus::unavailable &&
                  first < 1.0 && second < 0.01 && r1.cause.find("Connection refused") != std::string::npos &&
                  r2.cause == r1.cause && c == std::vector<double>(16, 7);
  return ok ? 0 : 1;
}

int limit() {
  std::mt19937_64 rng(11);
  Level3Args big = square_dgemm(300, 1);  // 3 x 720 KB
  testing::Case cs = testing::make_case(big, rng);
  const auto before = cs.c;
  const auto r = client::run_level3_remote(big, cs.ptr(cs.a), cs.ptr(cs.b), cs.ptr(cs.c));
  std::printf("big=%s cause=%s\n", status_name(r.status), r.cause.c_str());
  if (r.status != client::RemoteStatus::failed || r.cause.find("limit") == std::string::npos || cs.c != before)
    return 1;
  const std::string err = one_call(L3Family::gemm, Dtype::d, rng, 40);
  std::printf("small=%s\n", err.empty() ? "ok" : err.c_str());
  return err.empty() ? 0 : 1;
}

int gaps(int calls, double seconds) {
  std::mt19937_64 rng(13);
  for (int i = 0; i < calls; ++i) {
    if (i) std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    const std::string err = one_call(L3Family::gemm, Dtype::d, rng, 40);
    if (!err.empty()) {
      std::printf("call %d: %s\n", i, err.c_str());
      return 1;
    }
  }
  std::printf("ok %d calls %.1f s apart\n", calls, seconds);
  return 0;
}

int unavailable(const std::string& text) {
  const Level3Args x = square_dgemm(8, 1);
  std::vector<double> a(64, 1), b(64, 2), c(64, 7);
  const auto r = client::run_level3_remote(x, a.data(), b.data(), c.data());
  std::printf("status=%s cause=%s\n", status_name(r.status), r.cause.c_str());
  return r.status == client::RemoteStatus::unavailable && r.cause.find(text) != std::string::npos &&
                 c == std::vector<double>(64, 7)
             ? 0
             : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  auto arg = [&](int i, long fallback) { return argc > i ? std::atol(argv[i]) : fallback; };
  if (mode == "hash") {
    std::printf("%016" PRIx64 "\n", protocol::opcode_table_hash());
    return 0;
  }
  if (mode == "check") return check(int(arg(2, 2)), int(arg(3, 6)), std::uint64_t(arg(4, 1)));
  if (mode == "bigcall") return bigcall(arg(2, 3000), double(arg(3, 1)));
  if (mode == "refused") return refused();
  if (mode == "limit") return limit();
  if (mode == "unavailable" && argc > 2) return unavailable(argv[2]);
  if (mode == "gaps" && argc > 3) return gaps(int(arg(2, 3)), std::atof(argv[3]));
  std::fprintf(
      stderr, "usage: itest_client hash|check T I SEED|bigcall N BETA|refused|limit|gaps N SECONDS|unavailable TEXT\n");
  return 2;
}
