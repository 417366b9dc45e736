// Checks the CUDA backend's host-side logic without a GPU: the column-block plans (plan.h) are
// executed with memcpy standing in for the DMA engine and the CPU backend standing in for cuBLAS,
// and the result is compared with the same call run whole; the staging copy pool (copy_pool.h) is
// checked for exact copies under concurrency. Runs everywhere (CI included).
#include <cstdio>
#include <cstring>
#include <random>
#include <set>
#include <vector>

#include "backends/backend.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/cuda/copy_pool.h"
#include "backends/cuda/k_outer_plan.h"
#include "backends/cuda/plan.h"
#include "l3_check.h"

using namespace rcpu;
using namespace rcpu::backend;
using rcpu::backend::cuda::ByteRange;
using rcpu::backend::cuda::KOuterOptions;
using rcpu::backend::cuda::KOuterPlan;
using rcpu::backend::cuda::Operand;
using rcpu::backend::cuda::Plan;
using rcpu::backend::cuda::PlanOptions;

namespace {

int failures = 0;

#define EXPECT(cond, ...)                                       \
  do {                                                          \
    if (!(cond)) {                                              \
      ++failures;                                               \
      std::fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      std::fprintf(stderr, __VA_ARGS__);                        \
      std::fprintf(stderr, "\n");                               \
    }                                                           \
  } while (0)

// Structure every plan must have, whatever the options.
bool check_structure(const Level3Args& x, const Plan& p) {
  const int before = failures;
  const std::string what = l3check::describe(x);
  std::int64_t cols = 0;
  std::set<std::uint64_t> out_starts;
  std::uint64_t out_bytes = 0;
  for (const auto& s : p.steps) {
    EXPECT(s.args.n > 0, "%s: empty step", what.c_str());
    cols += s.args.n;
    for (const ByteRange& r : s.out) {
      EXPECT(r.op == Operand::c, "%s: output range of operand %d", what.c_str(), int(r.op));
      EXPECT(r.offset + r.bytes <= p.bytes[2], "%s: output range past C", what.c_str());
      EXPECT(out_starts.insert(r.offset).second, "%s: C range written twice", what.c_str());
      out_bytes += r.bytes;
    }
    for (const ByteRange& r : s.in)
      EXPECT(r.offset + r.bytes <= p.bytes[int(r.op)], "%s: input range past operand %d", what.c_str(), int(r.op));
  }
  for (const ByteRange& r : p.prologue)
    EXPECT(r.offset + r.bytes <= p.bytes[int(r.op)], "%s: prologue range past operand %d", what.c_str(), int(r.op));
  const rcpu::Level3Shapes s = rcpu::level3_shapes(x);
  if (!p.steps.empty()) {
    EXPECT(cols == s.c.cols, "%s: steps cover %lld of %lld columns", what.c_str(), (long long)cols,
           (long long)s.c.cols);
    const rcpu::OperandShape& c = s.c;
    const std::uint64_t ld_gaps =
        std::uint64_t(c.ld - c.rows) * std::uint64_t(p.steps.size() - 1) * element_size(x.dtype);
    EXPECT(out_bytes + ld_gaps == p.bytes[2], "%s: outputs cover %llu of %llu bytes of C", what.c_str(),
           (unsigned long long)out_bytes, (unsigned long long)p.bytes[2]);
  }
  EXPECT(p.zero_c == (s.c.role == rcpu::Role::out), "%s: zero_c wrong", what.c_str());
  EXPECT(p.dev_off[1] >= p.bytes[0] && p.dev_off[2] >= p.dev_off[1] + p.bytes[1] &&
             p.dev_total >= p.dev_off[2] + p.bytes[2],
         "%s: device layout overlaps", what.c_str());
  EXPECT(p.dev_total == rcpu::backend::cuda::device_bytes(x), "%s: device_bytes disagrees with the plan", what.c_str());
  return failures == before;
}

// Runs the plan with host memory as the "device" (initialised to NaN, so reading anything not yet
// uploaded shows in the result) and the CPU backend as "cuBLAS".
template <class T>
bool run_plan(Backend& cpu, const Level3Args& x, const PlanOptions& opt, std::uint64_t seed, std::size_t* steps) {
  const Plan p = rcpu::backend::cuda::make_plan(x, opt);
  if (!check_structure(x, p)) return false;
  *steps = p.steps.size();
  const l3check::Operands<T> ops = l3check::make_operands<T>(x, seed);
  const bool beta_zero = p.zero_c;
  std::vector<T> host_c = ops.c;
  if (beta_zero) std::fill(host_c.begin(), host_c.end(), l3check::nan_value<T>());
  std::vector<T> want = ops.c;
  if (beta_zero) std::fill(want.begin(), want.end(), T(0));
  cpu.level3(x, ops.a.empty() ? nullptr : ops.a.data(), ops.b.empty() ? nullptr : ops.b.data(), want.data());

  std::vector<T> dev(p.dev_total / sizeof(T) + 1, l3check::nan_value<T>());
  char* d = reinterpret_cast<char*>(dev.data());
  const char* host_in[3] = {reinterpret_cast<const char*>(ops.a.data()), reinterpret_cast<const char*>(ops.b.data()),
                            reinterpret_cast<const char*>(host_c.data())};
  auto upload = [&](const ByteRange& r) {
    std::memcpy(d + p.dev_off[int(r.op)] + r.offset, host_in[int(r.op)] + r.offset, r.bytes);
  };
  if (p.zero_c) std::memset(d + p.dev_off[2], 0, p.bytes[2]);
  for (const ByteRange& r : p.prologue) upload(r);
  for (const auto& s : p.steps) {
    for (const ByteRange& r : s.in) upload(r);
    cpu.level3(s.args, d + p.dev_off[0] + s.a_off, d + p.dev_off[1] + s.b_off, d + p.dev_off[2] + s.c_off);
    for (const ByteRange& r : s.out)
      std::memcpy(reinterpret_cast<char*>(host_c.data()) + r.offset, d + p.dev_off[2] + r.offset, r.bytes);
  }
  const l3check::Verdict v = l3check::compare<T>(x, host_c, want);
  EXPECT(v.ok, "%s (%zu steps): %s", l3check::describe(x).c_str(), p.steps.size(), v.why.c_str());
  return v.ok;
}

void test_plans() {
  auto cpu = make_cpu_backend({});
  // Small thresholds so that small shapes are cut into many steps.
  PlanOptions many;
  many.max_steps = 7;
  many.min_step_bytes = 1;
  many.min_step_cols = 1;
  many.col_multiple = 1;
  PlanOptions many16 = many;  // widths rounded to 16 columns, as rcpud does
  many16.col_multiple = 16;
  PlanOptions dflt;
  const std::vector<l3check::Shape> shapes = {{1, 1, 1}, {9, 13, 5}, {31, 40, 7}, {6, 3, 0}, {12, 70, 9}};
  int ncases = 0, multi = 0;
  std::uint64_t seed = 1;
  std::vector<Level3Args> cases = l3check::all_cases(shapes, {Dtype::d, Dtype::z, Dtype::s, Dtype::c});
  for (Level3Args x : l3check::all_cases({{9, 13, 5}, {31, 40, 7}}, {Dtype::d, Dtype::c})) {
    x.lda += 3;  // not packed: the server does not send such calls, but plans must stay correct
    x.ldb += 2;
    x.ldc += 5;
    cases.push_back(x);
  }
  for (const Level3Args& x : cases) {
    for (const PlanOptions* opt : {&many, &many16, &dflt}) {
      std::size_t steps = 0;
      switch (x.dtype) {
        case Dtype::s:
          run_plan<float>(*cpu, x, *opt, seed++, &steps);
          break;
        case Dtype::d:
          run_plan<double>(*cpu, x, *opt, seed++, &steps);
          break;
        case Dtype::c:
          run_plan<std::complex<float>>(*cpu, x, *opt, seed++, &steps);
          break;
        case Dtype::z:
          run_plan<std::complex<double>>(*cpu, x, *opt, seed++, &steps);
          break;
      }
      ++ncases;
      if (steps > 1) ++multi;
    }
  }
  EXPECT(multi > 100, "only %d plans had several steps", multi);
  std::printf("plans: %d cases, %d with several steps\n", ncases, multi);

  // Default options: a large gemm is pipelined, a small one is not, side 'R' never is.
  Level3Args g;
  g.family = L3Family::gemm;
  g.dtype = Dtype::d;
  g.m = g.n = g.k = 8000;
  g.alpha = 1;
  g.beta = 1;
  l3check::set_packed_lds(g);
  const Plan big = rcpu::backend::cuda::make_plan(g);
  check_structure(g, big);
  EXPECT(big.steps.size() == 8, "dgemm n=8000: %zu steps, expected 8", big.steps.size());
  EXPECT(big.prologue.size() == 1 && big.prologue[0].op == Operand::a, "dgemm n=8000: prologue should be A only");
  g.m = g.n = g.k = 100;
  l3check::set_packed_lds(g);
  EXPECT(rcpu::backend::cuda::make_plan(g).steps.size() == 1, "small dgemm should run in one step");
  Level3Args t = g;
  t.family = L3Family::trsm;
  t.side = 'R';
  t.m = t.n = 8000;
  l3check::set_packed_lds(t);
  EXPECT(rcpu::backend::cuda::make_plan(t).steps.size() == 1, "trsm side R must not be split");
}

// Runs a k-outer plan (k_outer_plan.h) as the CUDA backend does, with host memory (NaN-filled) as
// the device, memcpy for the 1-D and 2-D copies and the CPU backend as cuBLAS; the result must be
// the whole call's, and every byte of C must come back exactly once.
template <class T>
bool run_k_outer(Backend& cpu, const Level3Args& x, const KOuterPlan& p, std::uint64_t seed) {
  const l3check::Operands<T> ops = l3check::make_operands<T>(x, seed);
  std::vector<T> host_c = ops.c;
  const bool beta_zero = !p.layout.shapes.c.reads();
  if (beta_zero) std::fill(host_c.begin(), host_c.end(), l3check::nan_value<T>());
  std::vector<T> want = ops.c;
  if (beta_zero) std::fill(want.begin(), want.end(), T(0));
  cpu.level3(x, ops.a.data(), ops.b.data(), want.data());

  std::vector<T> dev(p.dev_total / sizeof(T) + 1, l3check::nan_value<T>());
  char* d = reinterpret_cast<char*>(dev.data());
  const char* host_in[3] = {reinterpret_cast<const char*>(ops.a.data()), reinterpret_cast<const char*>(ops.b.data()),
                            reinterpret_cast<const char*>(host_c.data())};
  char* dev_op[3] = {d + p.layout.dev_off[0], d + p.layout.dev_off[1], d + p.layout.dev_off[2]};
  for (const auto& ch : p.chunks) {
    for (const rcpu::backend::cuda::Block2D* blk : {&ch.a, &ch.b}) {
      const int i = int(blk->op);
      for (std::uint64_t r = 0; r < blk->height; ++r)
        std::memcpy(dev_op[i] + blk->offset + r * blk->pitch, host_in[i] + blk->offset + r * blk->pitch, blk->width);
    }
    cpu.level3(ch.args, dev_op[0] + ch.a_off, dev_op[1] + ch.b_off, dev_op[2]);
  }
  T* old_c = reinterpret_cast<T*>(d + p.old_c_off);
  if (p.add_old_c) std::memcpy(old_c, host_in[2], p.old_c_bytes);
  std::vector<int> written(host_c.size(), 0);
  auto down = [&](const ByteRange& r) {
    std::memcpy(reinterpret_cast<char*>(host_c.data()) + r.offset, dev_op[2] + r.offset, r.bytes);
    for (std::uint64_t e = r.offset / sizeof(T); e < (r.offset + r.bytes) / sizeof(T); ++e) ++written[e];
  };
  T* c = reinterpret_cast<T*>(dev_op[2]);
  const T beta = T(static_cast<decltype(std::real(T()))>(x.beta.real()));
  T beta_c = beta;
  if constexpr (!std::is_floating_point_v<T>) beta_c = T(x.beta.real(), x.beta.imag());
  for (const ByteRange& r : p.lead_out) {
    if (p.add_old_c)
      for (std::uint64_t e = r.offset / sizeof(T); e < (r.offset + r.bytes) / sizeof(T); ++e)
        if (std::int64_t(e % std::uint64_t(x.ldc)) < x.m) c[e] = c[e] + beta_c * old_c[e];
    down(r);
  }
  for (const auto& s : p.steps) {
    for (const ByteRange& r : s.in) std::memcpy(dev_op[int(r.op)] + r.offset, host_in[int(r.op)] + r.offset, r.bytes);
    cpu.level3(s.args, dev_op[0] + s.a_off, dev_op[1] + s.b_off, dev_op[2] + s.c_off);
    for (const ByteRange& r : s.out) down(r);
  }
  bool once = true;
  for (std::size_t e = 0; e < written.size(); ++e)
    if (std::int64_t(e % std::size_t(x.ldc)) < x.m && written[e] != 1) once = false;
  const std::string what = l3check::describe(x) + " lead " + std::to_string(p.lead_cols) + ", " +
                           std::to_string(p.chunks.size()) + " chunks, " + std::to_string(p.steps.size()) + " steps";
  EXPECT(once, "%s: some element of C came back other than exactly once", what.c_str());
  const l3check::Verdict v = l3check::compare<T>(x, host_c, want);
  EXPECT(v.ok, "%s: %s", what.c_str(), v.why.c_str());
  return v.ok && once;
}

void test_k_outer_plans() {
  auto cpu = make_cpu_backend({});
  PlanOptions steps;
  steps.max_steps = 5;
  steps.min_step_bytes = 1;
  steps.min_step_cols = 1;
  steps.col_multiple = 1;
  PlanOptions steps16 = steps;
  steps16.col_multiple = 16;
  std::uint64_t seed = 100;
  int planned = 0, with_rest = 0, all_lead = 0;
  for (const l3check::Shape& sh : std::vector<l3check::Shape>{{37, 50, 70}, {20, 90, 33}, {64, 64, 64}, {5, 40, 100}})
    for (Dtype t : {Dtype::d, Dtype::z, Dtype::s, Dtype::c})
      for (char ta : {'N', 'T', 'C'})
        for (int beta_kind = 0; beta_kind < 3; ++beta_kind)
          for (double fpb : {0.05, 0.5, 1e6, -1.0})
            for (const PlanOptions* so : {&steps, &steps16}) {
              Level3Args x;
              x.family = L3Family::gemm;
              x.dtype = t;
              x.transa = ta;
              x.transb = 'N';
              x.m = sh.m;
              x.n = sh.n;
              x.k = sh.k;
              x.alpha = {0.75, is_complex(t) ? -0.5 : 0.0};
              x.beta = beta_kind == 0 ? std::complex<double>(0, 0)
                                      : std::complex<double>(beta_kind == 1 ? 1.0 : -1.25, is_complex(t) ? 0.5 : 0.0);
              l3check::set_packed_lds(x);
              if (seed % 3 == 0) x.lda += 3, x.ldb += 2, x.ldc += 5;  // padded leading dimensions
              KOuterOptions ko;
              ko.flops_per_byte = fpb < 0 ? 1e6 : fpb;
              ko.max_lead_fraction = fpb < 0 ? 0.5 : 1.0;  // -1: the default cap at half the columns
              ko.max_chunks = 4;
              ko.min_chunk_bytes = 1;
              ko.min_chunk_k = 1;
              ko.out_blocks = 3;
              const auto p = rcpu::backend::cuda::make_k_outer_plan(x, *so, ko);
              ++seed;
              if (!p) continue;
              ++planned;
              if (p->steps.empty())
                ++all_lead;
              else
                ++with_rest;
              EXPECT(p->chunks.size() >= 2, "%s: %zu chunks", l3check::describe(x).c_str(), p->chunks.size());
              switch (t) {
                case Dtype::s:
                  run_k_outer<float>(*cpu, x, *p, seed);
                  break;
                case Dtype::d:
                  run_k_outer<double>(*cpu, x, *p, seed);
                  break;
                case Dtype::c:
                  run_k_outer<std::complex<float>>(*cpu, x, *p, seed);
                  break;
                case Dtype::z:
                  run_k_outer<std::complex<double>>(*cpu, x, *p, seed);
                  break;
              }
            }
  EXPECT(with_rest > 50 && all_lead > 50, "k-outer plans: %d with trailing steps, %d all leading", with_rest, all_lead);
  std::printf("k-outer plans: %d run (%d with trailing column steps, %d k-outer throughout)\n", planned, with_rest,
              all_lead);

  // Defaults at the sizes the benchmarks use: dgemm n = 16000 on one device, and each of two
  // devices' 8000 columns, run 4320 columns k-outer (the balance at 700 flops a byte); small or
  // transb = 'T' calls keep the column schedule.
  Level3Args g;
  g.family = L3Family::gemm;
  g.dtype = Dtype::d;
  g.m = g.n = g.k = 16000;
  g.alpha = 1;
  g.beta = 1;
  l3check::set_packed_lds(g);
  auto big = rcpu::backend::cuda::make_k_outer_plan(g, PlanOptions{});
  EXPECT(big && big->lead_cols == 4320 && big->chunks.size() == 8 && !big->steps.empty(),
         "dgemm n=16000: lead %lld, %zu chunks", big ? (long long)big->lead_cols : -1LL, big ? big->chunks.size() : 0);
  g.n = 8000;
  big = rcpu::backend::cuda::make_k_outer_plan(g, PlanOptions{});
  EXPECT(big && big->lead_cols == 4320 && !big->steps.empty(), "dgemm 16000 x 8000: lead %lld",
         big ? (long long)big->lead_cols : -1LL);
  g.m = g.n = g.k = 300;
  l3check::set_packed_lds(g);
  EXPECT(!rcpu::backend::cuda::make_k_outer_plan(g, PlanOptions{}), "small dgemm must keep the column schedule");
  g.m = g.n = g.k = 8000;
  g.transb = 'T';
  l3check::set_packed_lds(g);
  EXPECT(!rcpu::backend::cuda::make_k_outer_plan(g, PlanOptions{}), "transb = 'T' keeps the column schedule");
}

void test_copy_pool() {
  std::mt19937_64 rng(7);
  const std::size_t sizes[] = {0, 1, 4095, 4096, (1u << 20) + 3, (5u << 20) + 17, (37u << 20) + 5};
  std::vector<unsigned char> src((37u << 20) + 128), dst(src.size());
  for (auto& b : src) b = static_cast<unsigned char>(rng());
  for (int threads : {1, 2, 3, 8}) {
    rcpu::backend::cuda::CopyPool pool(threads);
    for (int rep = 0; rep < 20; ++rep)
      for (std::size_t n : sizes) {
        const std::size_t off = rng() % 64;
        std::fill(dst.begin(), dst.end(), 0xA5);
        pool.copy(dst.data() + off, src.data() + off, n);
        bool ok = std::memcmp(dst.data() + off, src.data() + off, n) == 0;
        for (std::size_t i = 0; i < off && ok; ++i) ok = dst[i] == 0xA5;
        for (std::size_t i = off + n; i < std::min(dst.size(), off + n + 4096) && ok; ++i) ok = dst[i] == 0xA5;
        EXPECT(ok, "CopyPool(%d) copy of %zu bytes at offset %zu is wrong", threads, n, off);
      }
  }
  std::printf("copy pool: ok\n");
}

}  // namespace

int main() {
  test_copy_pool();
  test_plans();
  test_k_outer_plans();
  if (failures) {
    std::printf("FAILED: %d check(s)\n", failures);
    return 1;
  }
  std::printf("PASSED\n");
  return 0;
}
