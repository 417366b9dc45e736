// The placement layer (server/placement/): the proportional cut, the split of every Level-3 family
// into pieces, and Placement over several CPU "virtual devices" compared with one direct CPU run:
// every family x side/uplo/trans x s/d/c/z, odd sizes, padded leading dimensions, 1..4 devices with
// unequal rates; streamed (tiled) calls; the least-busy choice; failures; measured rates.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include "../integration/level3_cases.h"
#include "backends/backend.h"
#include "backends/cpu/cpu_backend.h"
#include "server/placement/placement.h"
#include "server/placement/slowed_backend.h"
#include "server/placement/split.h"

namespace rcpu {
namespace {

using namespace server::placement;
using backend::Backend;
using backend::BackendError;
using testing::Case;

// ---------------- proportional_ranges ----------------

void expect_cover(const std::vector<Range>& r, std::int64_t total) {
  std::int64_t at = 0;
  for (const Range& x : r) {
    if (x.size() == 0) continue;
    EXPECT_EQ(x.begin, at);
    at = x.end;
  }
  EXPECT_EQ(at, total);
}

TEST(PlacementSplit, ProportionalRanges) {
  auto r = proportional_ranges(100, {1, 1}, 1);
  expect_cover(r, 100);
  EXPECT_EQ(r[0].size(), 50);
  r = proportional_ranges(100, {1, 3}, 1);
  expect_cover(r, 100);
  EXPECT_EQ(r[0].size(), 25);
  EXPECT_EQ(r[1].size(), 75);
  r = proportional_ranges(101, {2, 1, 1, 0}, 1);  // a zero weight gets nothing
  expect_cover(r, 101);
  EXPECT_EQ(r[3].size(), 0);
  EXPECT_NEAR(double(r[0].size()), 50.5, 1.0);
  // Too narrow for every device: the fastest ones are kept, each piece at least min_chunk wide.
  r = proportional_ranges(5, {1, 3, 2}, 3);
  expect_cover(r, 5);
  EXPECT_EQ(r[1].size(), 5);
  r = proportional_ranges(7, {1, 3, 2}, 3);
  expect_cover(r, 7);
  EXPECT_EQ(r[0].size(), 0);
  EXPECT_GE(r[1].size(), 3);
  EXPECT_GE(r[2].size(), 3);
  // Cost-weighted: an upper triangle's first columns are cheap, so the first range is wider.
  r = proportional_ranges(1000, {1, 1}, 1, [](std::int64_t x) { return 0.5 * double(x) * double(x + 1); });
  expect_cover(r, 1000);
  EXPECT_NEAR(double(r[0].size()), 707, 2);
  EXPECT_TRUE(proportional_ranges(0, {1, 1}, 1)[0].size() == 0);
}

// Every piece's sub-calls are valid calls; the pieces of rank-k updates follow the rates in flops.
TEST(PlacementSplit, PiecesAreValidAndProportional) {
  Level3Args x;
  x.family = L3Family::gemm;
  x.m = 300;
  x.n = 400;
  x.k = 50;
  x.alpha = 1;
  x.lda = 300;
  x.ldb = 50;
  x.ldc = 300;
  auto pieces = split_call(x, {1, 3}, 1);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0].calls[0].args.n, 100);
  EXPECT_EQ(pieces[1].calls[0].args.n, 300);
  // gemm with a narrow C is cut by rows.
  x.n = 3;
  x.ldb = 50;
  pieces = split_call(x, {1, 1}, 16);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0].calls[0].args.m, 150);
  for (char uplo : {'U', 'L'}) {
    Level3Args s;
    s.family = L3Family::syr2k;
    s.uplo = uplo;
    s.transa = 'T';
    s.n = 500;
    s.k = 40;
    s.alpha = 1;
    s.beta = 0.5;
    s.lda = s.ldb = 40;
    s.ldc = 500;
    pieces = split_call(s, {1, 2, 1}, 1);
    ASSERT_EQ(pieces.size(), 3u);
    double total = 0;
    for (const Piece& p : pieces) {
      total += p.flops;
      for (const SubCall& sc : p.calls) EXPECT_FALSE(level3_validate(sc.args)) << *level3_validate(sc.args);
    }
    EXPECT_NEAR(total, level3_flops(s), 1e-6 * total);
    EXPECT_NEAR(pieces[1].flops / total, 0.5, 0.02) << uplo;
  }
}

// ---------------- test devices ----------------

// A CPU device that checks the backend contract the placement must keep: operands packed (every
// leading dimension equals its operand's row count), sub-calls valid. Counts its calls.
class CheckedCpu final : public Backend {
 public:
  CheckedCpu() : cpu_(backend::make_cpu_backend({})) {}
  std::string name() const override { return "cpu"; }
  std::string description() const override { return "checked cpu"; }
  bool supports(const Level3Args& args) const override { return cpu_->supports(args); }
  void level3(const Level3Args& x, const void* a, const void* b, void* c) override {
    if (auto err = level3_validate(x)) throw BackendError("invalid sub-call: " + *err);
    const Level3Shapes s = level3_shapes(x);
    auto packed = [](const OperandShape& o) {
      return o.role == Role::none || o.cols <= 1 || o.ld == std::max<std::int64_t>(1, o.rows);
    };
    if (!packed(s.a) || !packed(s.b) || !packed(s.c)) {
      ++unpacked;
      if (strict) throw BackendError("operands not packed");
    }
    ++calls;
    cpu_->level3(x, a, b, c);
  }
  std::unique_ptr<backend::StreamedCall> begin_streamed(const Level3Args& x, const void* a, const void* b,
                                                        void* c) override {
    ++streams;
    return Backend::begin_streamed(x, a, b, c);
  }
  bool strict = false;  // the server's own buffers are packed; tests also pass padded ones
  std::atomic<int> calls{0}, unpacked{0}, streams{0};

 private:
  std::unique_ptr<Backend> cpu_;
};

struct Devices {
  std::vector<CheckedCpu*> raw;
  std::unique_ptr<Placement> pl;
};

Devices make_placement(int n, std::vector<double> rates, double min_flops = 0, std::int64_t min_cols = 1) {
  Devices d;
  std::vector<std::unique_ptr<Backend>> v;
  for (int i = 0; i < n; ++i) {
    auto c = std::make_unique<CheckedCpu>();
    d.raw.push_back(c.get());
    v.push_back(std::move(c));
  }
  Options o;
  o.rates = std::move(rates);
  o.split_min_flops = min_flops;
  o.split_min_cols = min_cols;
  o.log_rates = false;
  d.pl = std::make_unique<Placement>(std::move(v), o);
  return d;
}

// The call run by placement and directly on one CPU backend: the whole arrays (padding included)
// must agree.
void check_against_direct(Backend& placed, const Level3Args& x, std::mt19937_64& rng, const std::string& what) {
  Case placed_case = testing::make_case(x, rng);
  Case direct = placed_case;
  backend::make_cpu_backend({})->level3(x, direct.ptr(direct.a), direct.ptr(direct.b), direct.ptr(direct.c));
  placed.level3(x, placed_case.ptr(placed_case.a), placed_case.ptr(placed_case.b), placed_case.ptr(placed_case.c));
  const double diff = testing::max_rel_diff(placed_case.c, direct.c, x.dtype);
  EXPECT_LE(diff, testing::tolerance(x.dtype) * 10)
      << what << " m=" << x.m << " n=" << x.n << " k=" << x.k << " side=" << x.side << " uplo=" << x.uplo
      << " trans=" << x.transa << x.transb;
}

const L3Family kFamilies[] = {L3Family::gemm,  L3Family::symm,  L3Family::hemm, L3Family::syrk, L3Family::herk,
                              L3Family::syr2k, L3Family::her2k, L3Family::trmm, L3Family::trsm};

bool hermitian(L3Family f) { return f == L3Family::hemm || f == L3Family::herk || f == L3Family::her2k; }

// Every family x type, random options, odd sizes, padded or packed, 1..4 devices of unequal rates.
TEST(Placement, EveryFamilyMatchesOneDevice) {
  std::mt19937_64 rng(7);
  for (int ndev = 1; ndev <= 4; ++ndev) {
    std::vector<double> rates;
    for (int i = 0; i < ndev; ++i) rates.push_back(1.0 + i);  // unequal on purpose
    Devices d = make_placement(ndev, rates);
    for (L3Family f : kFamilies)
      for (Dtype t : {Dtype::s, Dtype::d, Dtype::c, Dtype::z}) {
        if (hermitian(f) && !is_complex(t)) continue;
        for (int rep = 0; rep < 6; ++rep) {
          const bool padded = rep % 2 == 1;
          Level3Args x = testing::random_args(f, t, rng, 37, padded, rep % 3 == 2);
          check_against_direct(*d.pl, x, rng, routine_name(f, t) + " on " + std::to_string(ndev) + " devices");
        }
      }
    if (ndev > 1) {
      int busy = 0;
      for (CheckedCpu* c : d.raw) busy += c->calls.load() > 0;
      EXPECT_EQ(busy, ndev) << "every device ran pieces";
      for (const auto& s : d.pl->stats()) EXPECT_GT(s.pieces, 0u);
    }
  }
}

// Every option combination of every family, packed operands as the server passes them: the
// devices must only ever see packed operands.
TEST(Placement, EveryOptionPackedOperands) {
  std::mt19937_64 rng(11);
  Devices d = make_placement(3, {1, 2, 1.5});
  for (CheckedCpu* c : d.raw) c->strict = true;
  int ran = 0;
  for (L3Family f : kFamilies) {
    const Dtype t = hermitian(f) ? Dtype::z : Dtype::d;
    for (char side : {'L', 'R'})
      for (char uplo : {'U', 'L'})
        for (char ta : {'N', 'T', 'C'})
          for (char tb : {'N', 'T'}) {
            Level3Args x = testing::random_args(f, t, rng, 29, false, false);
            if (f == L3Family::gemm) x.transa = ta, x.transb = tb;
            if (f == L3Family::symm || f == L3Family::hemm || f == L3Family::trmm || f == L3Family::trsm) x.side = side;
            if (f != L3Family::gemm) x.uplo = uplo;
            if (f == L3Family::trmm || f == L3Family::trsm) x.transa = ta;
            if (f == L3Family::syrk || f == L3Family::syr2k) x.transa = ta;
            if (f == L3Family::herk || f == L3Family::her2k) x.transa = ta == 'T' ? 'C' : ta;
            const Level3Shapes s = level3_shapes(x);  // packed, as the server passes them
            x.lda = std::max<std::int64_t>(1, s.a.rows);
            x.ldb = std::max<std::int64_t>(1, s.b.rows);
            x.ldc = std::max<std::int64_t>(1, s.c.rows);
            if (f == L3Family::trmm || f == L3Family::trsm) x.ldb = x.ldc;
            x.m = std::max<std::int64_t>(x.m, 5);
            x.n = std::max<std::int64_t>(x.n, 5);
            if (auto err = level3_validate(x)) continue;
            const Level3Shapes s2 = level3_shapes(x);
            x.lda = std::max<std::int64_t>(1, s2.a.rows);
            x.ldb = std::max<std::int64_t>(1, s2.b.rows);
            x.ldc = std::max<std::int64_t>(1, s2.c.rows);
            if (f == L3Family::trmm || f == L3Family::trsm) x.ldb = x.ldc;
            check_against_direct(*d.pl, x, rng, routine_name(f, t));
            ++ran;
          }
  }
  EXPECT_GE(ran, 150);  // the option letters a family rejects are skipped, the rest all run
  for (CheckedCpu* c : d.raw) EXPECT_EQ(c->unpacked.load(), 0);
}

// gemm whose C is too narrow to cut by columns is cut by rows: every transpose pair, padded or not.
TEST(Placement, NarrowGemmByRows) {
  Devices d = make_placement(3, {2, 1, 1}, 0, /*min_cols=*/4);
  std::mt19937_64 rng(29);
  int by_rows = 0;
  for (Dtype t : {Dtype::d, Dtype::z})
    for (char ta : {'N', 'T', 'C'})
      for (char tb : {'N', 'T', 'C'})
        for (bool padded : {false, true}) {
          Level3Args x = testing::random_args(L3Family::gemm, t, rng, 40, padded, false);
          x.transa = ta;
          x.transb = tb;
          x.m = 37;
          x.n = 1 + std::int64_t(rng() % 7);  // < 2 x 4 columns
          const Level3Shapes s = level3_shapes(x);
          x.lda = s.a.rows + (padded ? 2 : 0);
          x.ldb = s.b.rows + (padded ? 1 : 0);
          x.ldc = s.c.rows + (padded ? 3 : 0);
          const auto pieces = d.pl->plan(x);
          ASSERT_EQ(pieces.size(), 3u);
          by_rows += pieces[0].calls[0].args.m < x.m;
          check_against_direct(*d.pl, x, rng, std::string("gemm by rows ") + ta + tb);
        }
  EXPECT_EQ(by_rows, 36);
}

// A call no single device can hold (each refuses more than 100 x 100 outputs) is still served,
// split: level3() in pieces, and a streamed call panel by panel, each panel split.
class SmallDevice final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  std::string description() const override { return "small"; }
  bool supports(const Level3Args& x) const override { return level3_shapes(x).c.cols <= 100; }
  void level3(const Level3Args& x, const void* a, const void* b, void* c) override {
    if (!supports(x)) throw BackendError("too large for this device");
    cpu->level3(x, a, b, c);
  }
  std::unique_ptr<Backend> cpu = backend::make_cpu_backend({});
};

TEST(Placement, CallLargerThanEveryDevice) {
  std::vector<std::unique_ptr<Backend>> v;
  for (int i = 0; i < 2; ++i) v.push_back(std::make_unique<SmallDevice>());
  Options o;
  o.rates = {1, 1};
  o.split_min_flops = 0;
  o.split_min_cols = 8;
  o.log_rates = false;
  Placement pl(std::move(v), o);
  std::mt19937_64 rng(31);
  Level3Args x = testing::random_args(L3Family::gemm, Dtype::d, rng, 20, false, false);
  x.transb = 'N';
  x.n = 150;
  const Level3Shapes s = level3_shapes(x);
  x.lda = std::max<std::int64_t>(1, s.a.rows);
  x.ldb = std::max<std::int64_t>(1, s.b.rows);
  x.ldc = std::max<std::int64_t>(1, s.c.rows);
  EXPECT_EQ(pl.pick_device(x), -1);
  EXPECT_TRUE(pl.supports(x));
  check_against_direct(pl, x, rng, "larger than every device");
  Case placed = testing::make_case(x, rng);
  Case direct = placed;
  backend::make_cpu_backend({})->level3(x, direct.ptr(direct.a), direct.ptr(direct.b), direct.ptr(direct.c));
  auto call = pl.begin_streamed(x, placed.ptr(placed.a), placed.ptr(placed.b), placed.ptr(placed.c));
  for (std::int64_t c0 = 0; c0 < x.n; c0 += 120) {
    call->start_panel(c0, std::min<std::int64_t>(120, x.n - c0));
    call->finish_panel();
  }
  call.reset();
  EXPECT_LE(testing::max_rel_diff(placed.c, direct.c, x.dtype), testing::tolerance(x.dtype) * 10);
  x.n = 250;  // even half of it is too large: not supported at all
  EXPECT_FALSE(pl.supports(x));
}

// Small calls are not split; a call below the threshold goes whole to one device.
TEST(Placement, SmallCallsRunWhole) {
  Devices d = make_placement(2, {1, 1}, /*min_flops=*/1e12, 1);
  std::mt19937_64 rng(3);
  Level3Args x = testing::random_args(L3Family::gemm, Dtype::d, rng, 40, false, false);
  EXPECT_TRUE(d.pl->plan(x).empty());
  check_against_direct(*d.pl, x, rng, "small dgemm");
  EXPECT_EQ(d.raw[0]->calls.load() + d.raw[1]->calls.load(), 1);
}

// Many threads at once, split and whole calls mixed (as several rcpud sessions): every result right,
// and the work spread over every device.
TEST(Placement, ConcurrentCallers) {
  Devices d = make_placement(3, {1, 1, 2}, /*min_flops=*/2e4, 1);
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(100 + t);
      auto cpu = backend::make_cpu_backend({});
      for (int i = 0; i < 30; ++i) {
        const L3Family f = kFamilies[(t + i) % 9];
        const Dtype ty = hermitian(f) ? Dtype::z : Dtype::d;
        const Level3Args x = testing::random_args(f, ty, rng, 40, i % 2 == 0, i % 5 == 0);
        Case placed = testing::make_case(x, rng);
        Case direct = placed;
        cpu->level3(x, direct.ptr(direct.a), direct.ptr(direct.b), direct.ptr(direct.c));
        d.pl->level3(x, placed.ptr(placed.a), placed.ptr(placed.b), placed.ptr(placed.c));
        if (!(testing::max_rel_diff(placed.c, direct.c, ty) <= testing::tolerance(ty) * 10)) ++bad;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
  std::uint64_t whole = 0, pieces = 0;
  for (const auto& s : d.pl->stats()) {
    whole += s.whole_calls;
    pieces += s.pieces;
    EXPECT_GT(s.whole_calls + s.pieces, 0u);
  }
  EXPECT_GT(whole, 0u);
  EXPECT_GT(pieces, 0u);
}

// A device that holds each call until released: work in flight on it.
class GateCpu final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  std::string description() const override { return "gate"; }
  bool supports(const Level3Args&) const override { return true; }
  void level3(const Level3Args& x, const void* a, const void* b, void* c) override {
    {
      std::unique_lock lock(mu);
      ++entered;
      cv.notify_all();
      cv.wait(lock, [&] { return open; });
    }
    cpu->level3(x, a, b, c);
  }
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int entered = 0;
  std::unique_ptr<Backend> cpu = backend::make_cpu_backend({});
};

TEST(Placement, LeastBusyDevice) {
  std::vector<std::unique_ptr<Backend>> v;
  auto g0 = std::make_unique<GateCpu>();
  auto g1 = std::make_unique<GateCpu>();
  GateCpu* gate0 = g0.get();
  GateCpu* gate1 = g1.get();
  g1->open = true;
  v.push_back(std::move(g0));
  v.push_back(std::move(g1));
  Options o;
  o.rates = {1, 1};
  o.split_min_flops = 1e15;
  o.log_rates = false;
  Placement pl(std::move(v), o);
  std::mt19937_64 rng(5);
  Level3Args x = testing::random_args(L3Family::gemm, Dtype::d, rng, 30, false, false);
  EXPECT_EQ(pl.pick_device(x), 0);  // idle and equal: the first
  Case held = testing::make_case(x, rng);
  std::thread t([&] { pl.level3(x, held.ptr(held.a), held.ptr(held.b), held.ptr(held.c)); });
  {
    std::unique_lock lock(gate0->mu);
    gate0->cv.wait(lock, [&] { return gate0->entered == 1; });
  }
  EXPECT_EQ(pl.pick_device(x), 1);  // device 0 is busy
  check_against_direct(pl, x, rng, "while device 0 is busy");
  EXPECT_EQ(gate1->entered, 1);
  {
    std::lock_guard lock(gate0->mu);
    gate0->open = true;
  }
  gate0->cv.notify_all();
  t.join();
  EXPECT_EQ(pl.pick_device(x), 0);
  const auto st = pl.stats();
  EXPECT_EQ(st[0].whole_calls, 1u);
  EXPECT_EQ(st[1].whole_calls, 1u);
}

TEST(Placement, FasterDeviceWinsWhenIdle) {
  Devices d = make_placement(3, {1, 5, 2}, 1e15);
  std::mt19937_64 rng(9);
  EXPECT_EQ(d.pl->pick_device(testing::random_args(L3Family::trsm, Dtype::z, rng, 20, false, false)), 1);
}

// Streamed (tiled) calls: each panel cut across the devices, results as one device's.
TEST(Placement, StreamedPanelsAcrossDevices) {
  std::mt19937_64 rng(13);
  Devices d = make_placement(3, {1, 2, 3});
  for (L3Family f : {L3Family::gemm, L3Family::symm, L3Family::hemm, L3Family::trmm, L3Family::trsm})
    for (Dtype t : {Dtype::d, Dtype::z}) {
      if (hermitian(f) && !is_complex(t)) continue;
      Level3Args x = testing::random_args(f, t, rng, 40, false, false);
      x.side = 'L';
      x.n = 41;
      const Level3Shapes s = level3_shapes(x);
      x.lda = std::max<std::int64_t>(1, s.a.rows);
      x.ldb = std::max<std::int64_t>(1, f == L3Family::trmm || f == L3Family::trsm ? s.c.rows : s.b.rows);
      x.ldc = std::max<std::int64_t>(1, s.c.rows);
      if (f == L3Family::gemm) {
        const Level3Shapes g = level3_shapes(x);
        x.ldb = std::max<std::int64_t>(1, g.b.rows);
      }
      ASSERT_FALSE(level3_validate(x));
      Case placed = testing::make_case(x, rng);
      Case direct = placed;
      backend::make_cpu_backend({})->level3(x, direct.ptr(direct.a), direct.ptr(direct.b), direct.ptr(direct.c));
      auto call = d.pl->begin_streamed(x, placed.ptr(placed.a), placed.ptr(placed.b), placed.ptr(placed.c));
      for (std::int64_t c0 = 0; c0 < x.n; c0 += 7) call->compute_panel(c0, std::min<std::int64_t>(7, x.n - c0));
      call.reset();
      EXPECT_LE(testing::max_rel_diff(placed.c, direct.c, t), testing::tolerance(t) * 10) << routine_name(f, t);
    }
  int devices_with_panels = 0;
  for (const auto& s : d.pl->stats()) devices_with_panels += s.panel_pieces > 0;
  EXPECT_EQ(devices_with_panels, 3);
  for (CheckedCpu* c : d.raw) EXPECT_GT(c->streams.load(), 0);
}

// A device whose streamed calls are pipelined like the CUDA backend's (depth 3: start_panel only
// queues, finish_panel computes the oldest), checking backend.h's rules for its caller: starts and
// finishes from one thread, in order, never more than depth() outstanding.
class AsyncCpu final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  std::string description() const override { return "async"; }
  bool supports(const Level3Args&) const override { return true; }
  void level3(const Level3Args& x, const void* a, const void* b, void* c) override { cpu->level3(x, a, b, c); }
  std::unique_ptr<backend::StreamedCall> begin_streamed(const Level3Args& x, const void* a, const void* b,
                                                        void* c) override {
    return std::make_unique<Stream>(*this, x, a, b, c);
  }
  std::atomic<int> violations{0}, panels{0}, max_outstanding{0};
  std::unique_ptr<Backend> cpu = backend::make_cpu_backend({});

 private:
  class Stream final : public backend::StreamedCall {
   public:
    Stream(AsyncCpu& be, const Level3Args& x, const void* a, const void* b, void* c)
        : be_(be), x_(x), a_(a), b_(b), c_(c) {}
    int depth() const override { return 3; }
    void compute_panel(std::int64_t, std::int64_t) override { ++be_.violations; }  // the placement must pipeline
    void start_panel(std::int64_t col0, std::int64_t cols) override {
      same_thread();
      if (!queue_.empty() && queue_.back().first + queue_.back().second > col0) ++be_.violations;
      queue_.emplace_back(col0, cols);
      if (int(queue_.size()) > 3) ++be_.violations;
      be_.max_outstanding = std::max(be_.max_outstanding.load(), int(queue_.size()));
    }
    void finish_panel() override {
      same_thread();
      if (queue_.empty()) return;
      const auto [col0, cols] = queue_.front();
      queue_.pop_front();
      std::uint64_t b_off = 0, c_off = 0;
      const Level3Args p = level3_panel(x_, col0, cols, b_off, c_off);
      const std::size_t e = element_size(x_.dtype);
      be_.cpu->level3(p, a_, b_ ? static_cast<const char*>(b_) + b_off * e : nullptr,
                      static_cast<char*>(c_) + c_off * e);
      ++be_.panels;
    }

   private:
    void same_thread() {
      if (thread_ == std::thread::id()) thread_ = std::this_thread::get_id();
      if (thread_ != std::this_thread::get_id()) ++be_.violations;
    }
    AsyncCpu& be_;
    Level3Args x_;
    const void* a_;
    const void* b_;
    void* c_;
    std::deque<std::pair<std::int64_t, std::int64_t>> queue_;
    std::thread::id thread_;
  };
};

TEST(Placement, PipelinedStreamedPanels) {
  std::vector<std::unique_ptr<Backend>> v;
  std::vector<AsyncCpu*> raw;
  for (int i = 0; i < 3; ++i) {
    auto d = std::make_unique<AsyncCpu>();
    raw.push_back(d.get());
    v.push_back(std::move(d));
  }
  Options o;
  o.rates = {1, 2, 1};
  o.split_min_flops = 0;
  o.split_min_cols = 2;
  o.log_rates = false;
  Placement pl(std::move(v), o);
  std::mt19937_64 rng(23);
  Level3Args x = testing::random_args(L3Family::gemm, Dtype::z, rng, 30, false, false);
  x.transb = 'N';
  x.n = 61;
  const Level3Shapes s = level3_shapes(x);
  x.lda = std::max<std::int64_t>(1, s.a.rows);
  x.ldb = std::max<std::int64_t>(1, s.b.rows);
  x.ldc = std::max<std::int64_t>(1, s.c.rows);
  Case placed = testing::make_case(x, rng);
  Case direct = placed;
  backend::make_cpu_backend({})->level3(x, direct.ptr(direct.a), direct.ptr(direct.b), direct.ptr(direct.c));
  auto call = pl.begin_streamed(x, placed.ptr(placed.a), placed.ptr(placed.b), placed.ptr(placed.c));
  ASSERT_EQ(call->depth(), 3);
  // As the server does: up to depth() panels started, finished in order; panels of 9 columns (the
  // last of 7), each cut across the devices by rate.
  std::int64_t started = 0, finished = 0;
  const std::int64_t width = 9, panels = (x.n + width - 1) / width;
  while (finished < panels) {
    if (started < panels && started - finished < call->depth()) {
      const std::int64_t c0 = started * width;
      call->start_panel(c0, std::min(width, x.n - c0));
      ++started;
    } else {
      call->finish_panel();
      ++finished;
    }
  }
  call.reset();
  EXPECT_LE(testing::max_rel_diff(placed.c, direct.c, x.dtype), testing::tolerance(x.dtype) * 10);
  for (AsyncCpu* d : raw) {
    EXPECT_EQ(d->violations.load(), 0);
    EXPECT_GT(d->panels.load(), 0);
    EXPECT_GE(d->max_outstanding.load(), 2) << "a device had several panels in flight";
  }
}

// A failing device: the call fails with BackendError after every other piece has finished; the
// placement keeps working.
class FailingCpu final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  std::string description() const override { return "failing"; }
  bool supports(const Level3Args&) const override { return true; }
  void level3(const Level3Args&, const void*, const void*, void*) override { throw BackendError("device lost"); }
};

TEST(Placement, FailingDeviceFailsTheCall) {
  std::vector<std::unique_ptr<Backend>> v;
  v.push_back(backend::make_cpu_backend({}));
  v.push_back(std::make_unique<FailingCpu>());
  Options o;
  o.rates = {1, 1};
  o.split_min_flops = 0;
  o.split_min_cols = 1;
  o.log_rates = false;
  Placement pl(std::move(v), o);
  std::mt19937_64 rng(17);
  Level3Args x = testing::random_args(L3Family::gemm, Dtype::d, rng, 30, false, false);
  x.n = 20;
  Case cs = testing::make_case(x, rng);
  try {
    pl.level3(x, cs.ptr(cs.a), cs.ptr(cs.b), cs.ptr(cs.c));
    FAIL() << "no error";
  } catch (const BackendError& e) {
    EXPECT_NE(std::string(e.what()).find("device lost"), std::string::npos);
  }
  // Streamed: the panel whose part failed reports it.
  x.transb = 'N';
  const Level3Shapes s = level3_shapes(x);
  x.lda = std::max<std::int64_t>(1, s.a.rows);
  x.ldb = std::max<std::int64_t>(1, s.b.rows);
  x.ldc = std::max<std::int64_t>(1, s.c.rows);
  Case st = testing::make_case(x, rng);
  auto call = pl.begin_streamed(x, st.ptr(st.a), st.ptr(st.b), st.ptr(st.c));
  call->start_panel(0, x.n);
  EXPECT_THROW(call->finish_panel(), BackendError);
  call.reset();
  // The placement still answers (no piece left hanging): the next call fails the same way.
  EXPECT_THROW(pl.level3(x, cs.ptr(cs.a), cs.ptr(cs.b), cs.ptr(cs.c)), BackendError);
}

// Rates measured at start-up see an emulated slow device as slow, and the split follows. The
// slowdown is far beyond what is asserted: the two devices' timings are taken at different moments
// on a shared machine (parallel tests), and a busy moment can slow the fast one several times over.
TEST(Placement, MeasuredRatesFollowSlowdown) {
  std::vector<std::unique_ptr<Backend>> v;
  v.push_back(backend::make_cpu_backend({}));
  v.push_back(make_slowed_backend(backend::make_cpu_backend({}), 50.0));
  Options o;
  o.split_min_flops = 0;
  o.split_min_cols = 1;
  o.log_rates = false;
  Placement pl(std::move(v), o);
  const auto st = pl.stats();
  EXPECT_GT(st[0].rate / st[1].rate, 2.0);
  Level3Args x;
  x.m = x.n = x.k = 200;
  x.alpha = 1;
  x.lda = x.ldb = x.ldc = 200;
  const auto pieces = pl.plan(x);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_GT(pieces[0].calls[0].args.n, 2 * pieces[1].calls[0].args.n);
  EXPECT_NE(pl.description().find("emulated"), std::string::npos);
}

}  // namespace
}  // namespace rcpu

#include "server/core/options.h"

namespace rcpu {
namespace {

server::ParseResult parse_args(std::vector<std::string> args) {
  static std::vector<std::string> keep;
  keep = std::move(args);
  keep.insert(keep.begin(), "rcpud");
  std::vector<char*> argv;
  for (auto& s : keep) argv.push_back(s.data());
  return server::parse_options(int(argv.size()), argv.data());
}

TEST(PlacementOptions, Parse) {
  auto r = parse_args({"--virtual-devices", "3", "--device-rates", "1,2.5,3", "--device-slowdown", "1,1,4",
                       "--split-min-flops", "1e6", "--split-min-cols", "7"});
  ASSERT_TRUE(r.options) << r.message;
  EXPECT_EQ(r.options->virtual_devices, 3);
  EXPECT_EQ(r.options->device_rates, (std::vector<double>{1, 2.5, 3}));
  EXPECT_EQ(r.options->device_slowdown, (std::vector<double>{1, 1, 4}));
  EXPECT_EQ(r.options->split_min_flops, 1e6);
  EXPECT_EQ(r.options->split_min_cols, 7);
  for (std::vector<std::string> bad : std::vector<std::vector<std::string>>{{"--virtual-devices", "0"},
                                                                            {"--device-rates", "1,-2"},
                                                                            {"--device-rates", "x"},
                                                                            {"--device-slowdown", "0.5"},
                                                                            {"--split-min-flops", "-1"},
                                                                            {"--split-min-cols", "0"}}) {
    auto b = parse_args(bad);
    EXPECT_FALSE(b.options) << bad[0] << " " << bad[1];
    EXPECT_EQ(b.exit_code, 2);
  }
}

}  // namespace
}  // namespace rcpu
