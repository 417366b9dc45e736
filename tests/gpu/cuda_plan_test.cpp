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
#include "backends/cuda/copy_pool.h"
#include "backends/cuda/plan.h"
#include "l3_check.h"

using namespace rcpu;
using namespace rcpu::backend;
using rcpu::backend::cuda::ByteRange;
using rcpu::backend::cuda::Operand;
using rcpu::backend::cuda::Plan;
using rcpu::backend::cuda::PlanOptions;

namespace {

int failures = 0;

#define EXPECT(cond, ...)                                 \
  do {                                                    \
    if (!(cond)) {                                        \
      ++failures;                                         \
      std::fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      std::fprintf(stderr, __VA_ARGS__);                  \
      std::fprintf(stderr, "\n");                         \
    }                                                     \
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
    EXPECT(cols == s.c.cols, "%s: steps cover %lld of %lld columns", what.c_str(), (long long)cols, (long long)s.c.cols);
    const rcpu::OperandShape& c = s.c;
    const std::uint64_t ld_gaps = std::uint64_t(c.ld - c.rows) * std::uint64_t(p.steps.size() - 1) * element_size(x.dtype);
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
        case Dtype::s: run_plan<float>(*cpu, x, *opt, seed++, &steps); break;
        case Dtype::d: run_plan<double>(*cpu, x, *opt, seed++, &steps); break;
        case Dtype::c: run_plan<std::complex<float>>(*cpu, x, *opt, seed++, &steps); break;
        case Dtype::z: run_plan<std::complex<double>>(*cpu, x, *opt, seed++, &steps); break;
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
  if (failures) {
    std::printf("FAILED: %d check(s)\n", failures);
    return 1;
  }
  std::printf("PASSED\n");
  return 0;
}
