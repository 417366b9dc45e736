// Every FFTW transform kind through the shim, compared with the real FFTW on random data.
//
// The program is linked with -lfftw3 -lfftw3f (run with the shim first on LD_LIBRARY_PATH, so
// those names are rcpu). The reference is the real FFTW, opened by full path into its own link-map
// namespace (so it cannot be confused with the shim). Both sides are called through the same
// planner with the same arguments on identical copies of the arrays, and compared:
//   - every element of the output array (untouched elements must be untouched on both sides),
//     within a relative tolerance scaled to the transform size; in-place c2r only at the output
//     positions (FFTW leaves scratch values in the row padding);
//   - the input of out-of-place r2c and c2c is unchanged (FFTW never destroys it).
// Cases: complex DFT, r2c, c2r, in both precisions, through the basic (1d/2d/3d/nd), advanced
// (many: strides, embeddings, batches) and guru/guru64 interfaces (several batch loops, strides),
// in and out of place, the new-array execute functions, plus the local-only r2r and split
// interfaces. Sizes: powers of two, primes, odd multi-dimensional shapes.
// Exit 0 when every case agrees; prints one line per case. Usage: fft_compare [reference_dir]
#include <dlfcn.h>
#include <fftw3.h>
#include <link.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

void* g_ref_double = nullptr;
void* g_ref_single = nullptr;
int g_failures = 0, g_cases = 0;

void open_reference(const std::string& dir) {
  g_ref_double = dlmopen(LM_ID_NEWLM, (dir + "/libfftw3.so.3").c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!g_ref_double) {
    std::fprintf(stderr, "cannot open the reference FFTW: %s\n", dlerror());
    std::exit(2);
  }
  Lmid_t lmid;
  dlinfo(g_ref_double, RTLD_DI_LMID, &lmid);
  g_ref_single = dlmopen(lmid, (dir + "/libfftw3f.so.3").c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!g_ref_single) {
    std::fprintf(stderr, "cannot open the reference FFTW (single): %s\n", dlerror());
    std::exit(2);
  }
}

// One FFTW, by name: the shim (the process's global lookup) or the reference.
struct Api {
  bool reference;
  bool single;
  void* sym(const char* base) const {
    const std::string name = std::string(single ? "fftwf_" : "fftw_") + base;
    void* p = reference ? dlsym(single ? g_ref_single : g_ref_double, name.c_str()) : dlsym(RTLD_DEFAULT, name.c_str());
    if (!p) {
      std::fprintf(stderr, "missing %s in %s\n", name.c_str(), reference ? "the reference" : "the shim");
      std::exit(2);
    }
    return p;
  }
  template <class F>
  F fn(const char* base) const {
    return reinterpret_cast<F>(sym(base));
  }
};

using Planner = std::function<void*(const Api&, void* in, void* out)>;
using Executor = std::function<void(const Api&, void* plan, void* in, void* out)>;

struct Case {
  std::string name;
  std::size_t in_reals = 0, out_reals = 0;  // buffer sizes in real elements
  bool in_place = false;
  Planner plan;
  Executor execute;                           // default: fftw_execute(plan)
  std::size_t points = 1;                     // N of one transform, for the tolerance
  std::function<bool(std::size_t)> compared;  // which reals of the output are compared (default all)
  bool input_preserved = false;               // out-of-place c2c/r2c: the input must be unchanged
  std::size_t alt_offset = 0;                 // new-array execute: offset (in reals) of the second arrays
  // c2r cases: an r2c planner from the c2r's output layout to its input layout. The random input is
  // first made Hermitian (c2r then r2c by the reference), as c2r input from real programs always
  // is: FFTW documents c2r only for Hermitian input, and implementations may differ on the rest.
  std::function<void*(const Api&, void* real, void* cplx)> mirror;
};

template <class R>
void fill(std::vector<R>& v, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-1, 1);
  for (R& x : v) x = R(u(rng));
}

template <class R>
void run_case(const Case& c, bool single) {
  ++g_cases;
  std::mt19937_64 rng(std::hash<std::string>{}(c.name));
  const std::size_t in_n = c.in_reals + c.alt_offset, out_n = c.in_place ? 0 : c.out_reals + c.alt_offset;
  std::vector<std::vector<R>> bufs[2];  // [shim, reference] x [in, out]
  for (auto& b : bufs) b.resize(2);
  const std::size_t total_in = std::max(in_n, c.in_place ? c.out_reals + c.alt_offset : 0);
  // fftw_malloc'ed arrays keep SIMD alignment identical on both sides.
  R* arrays[2][2];
  for (int side = 0; side < 2; ++side) {
    Api api{side == 1, single};
    auto mal = api.fn<void* (*)(size_t)>("malloc");
    arrays[side][0] = static_cast<R*>(mal(sizeof(R) * total_in));
    arrays[side][1] = c.in_place ? arrays[side][0] : static_cast<R*>(mal(sizeof(R) * std::max<std::size_t>(out_n, 1)));
  }
  std::vector<R> init_in(total_in), init_out(std::max<std::size_t>(out_n, 1));
  fill(init_in, rng);
  fill(init_out, rng);
  if (c.mirror) {
    Api ref{true, single};
    auto execute = ref.fn<void (*)(void*)>("execute");
    auto destroy = ref.fn<void (*)(void*)>("destroy_plan");
    auto mal = ref.fn<void* (*)(size_t)>("malloc");
    auto fr = ref.fn<void (*)(void*)>("free");
    const std::size_t real_n = c.in_place ? total_in : std::max<std::size_t>(out_n, 1);
    R* cplx = static_cast<R*>(mal(sizeof(R) * total_in));
    R* real = c.in_place ? cplx : static_cast<R*>(mal(sizeof(R) * real_n));
    std::memcpy(cplx, init_in.data(), sizeof(R) * total_in);
    void* back = c.plan(ref, cplx + c.alt_offset, real + c.alt_offset);
    void* fwd = c.mirror(ref, real + c.alt_offset, cplx + c.alt_offset);
    if (!back || !fwd) {
      std::fprintf(stderr, "%s: no reference plan to make the input Hermitian\n", c.name.c_str());
      std::exit(2);
    }
    std::memcpy(cplx, init_in.data(), sizeof(R) * total_in);  // planning may not have touched it; be sure
    execute(back);
    if (!c.in_place) std::memcpy(cplx, init_in.data(), sizeof(R) * total_in);  // untouched elements stay random
    execute(fwd);
    std::memcpy(init_in.data(), cplx, sizeof(R) * total_in);
    destroy(back);
    destroy(fwd);
    fr(cplx);
    if (!c.in_place) fr(real);
  }
  void* plans[2];
  for (int side = 0; side < 2; ++side) {
    Api api{side == 1, single};
    plans[side] = c.plan(api, arrays[side][0], arrays[side][1]);
    // Planning with FFTW_ESTIMATE does not touch the arrays; fill after planning as FFTW advises.
    std::memcpy(arrays[side][0], init_in.data(), sizeof(R) * total_in);
    if (!c.in_place) std::memcpy(arrays[side][1], init_out.data(), sizeof(R) * out_n);
  }
  bool ok = plans[0] && plans[1];
  if (!ok) std::printf("FAIL %s: planner returned null (shim %p, reference %p)\n", c.name.c_str(), plans[0], plans[1]);
  for (int side = 0; ok && side < 2; ++side) {
    Api api{side == 1, single};
    R* in = arrays[side][0] + c.alt_offset;
    R* out = arrays[side][1] + c.alt_offset;
    if (c.execute)
      c.execute(api, plans[side], in, out);
    else
      api.fn<void (*)(void*)>("execute")(plans[side]);
  }
  double max_err = 0, max_ref = 0;
  if (ok) {
    const R* a = arrays[0][1];
    const R* b = arrays[1][1];
    const std::size_t n = c.in_place ? total_in : out_n;
    for (std::size_t i = 0; i < n; ++i) {
      if (c.compared && !c.compared(i)) continue;
      max_err = std::max(max_err, std::fabs(double(a[i]) - double(b[i])));
      max_ref = std::max(max_ref, std::fabs(double(b[i])));
    }
    const double eps = single ? 1e-6 : 1e-15;
    const double tol = eps * 20 * std::log2(double(std::max<std::size_t>(c.points, 2)) + 1) * std::max(max_ref, 1.0);
    if (!(max_err <= tol)) {
      ok = false;
      std::printf("FAIL %s: max |shim - reference| = %.3g (tolerance %.3g, max |reference| %.3g)\n", c.name.c_str(),
                  max_err, tol, max_ref);
    }
    if (ok && c.input_preserved && std::memcmp(arrays[0][0], init_in.data(), sizeof(R) * total_in) != 0) {
      ok = false;
      std::printf("FAIL %s: the input of an out-of-place transform was changed\n", c.name.c_str());
    }
  }
  for (int side = 0; side < 2; ++side) {
    Api api{side == 1, single};
    if (plans[side]) api.fn<void (*)(void*)>("destroy_plan")(plans[side]);
    auto fr = api.fn<void (*)(void*)>("free");
    fr(arrays[side][0]);
    if (!c.in_place) fr(arrays[side][1]);
  }
  if (ok)
    std::printf("ok   %s%s (max error %.2g)\n", single ? "[f] " : "[d] ", c.name.c_str(), max_err);
  else
    ++g_failures;
}

constexpr unsigned kFlags = FFTW_ESTIMATE;

std::vector<Case> cases() {
  std::vector<Case> v;
  auto name = [](const char* fmt, auto... a) {
    char buf[256];
    std::snprintf(buf, sizeof buf, fmt, a...);
    return std::string(buf);
  };
  // ---- complex DFT, basic 1-D: powers of two, primes, odd sizes, both signs, in and out of place ----
  for (int n : {1, 2, 16, 1024, 65536, 3, 17, 997, 7919, 15, 1000, 4095})
    for (int sign : {FFTW_FORWARD, FFTW_BACKWARD})
      for (bool inplace : {false, true}) {
        Case c;
        c.name = name("c2c 1d n=%d sign=%+d %s", n, sign, inplace ? "in-place" : "out-of-place");
        c.in_reals = c.out_reals = 2 * std::size_t(n);
        c.in_place = inplace;
        c.points = std::size_t(n);
        c.input_preserved = !inplace;
        c.plan = [=](const Api& api, void* in, void* out) {
          return api.fn<void* (*)(int, void*, void*, int, unsigned)>("plan_dft_1d")(n, in, out, sign, kFlags);
        };
        v.push_back(c);
      }
  // ---- complex DFT, 2-D / 3-D / rank 4 ----
  for (auto [n0, n1] : std::vector<std::pair<int, int>>{{64, 64}, {7, 13}, {128, 3}, {1, 31}}) {
    Case c;
    c.name = name("c2c 2d %dx%d", n0, n1);
    c.in_reals = c.out_reals = 2 * std::size_t(n0 * n1);
    c.points = std::size_t(n0 * n1);
    c.input_preserved = true;
    c.plan = [=](const Api& api, void* in, void* out) {
      return api.fn<void* (*)(int, int, void*, void*, int, unsigned)>("plan_dft_2d")(n0, n1, in, out, FFTW_FORWARD,
                                                                                     kFlags);
    };
    v.push_back(c);
  }
  for (auto s : std::vector<std::vector<int>>{{16, 8, 4}, {5, 7, 9}, {3, 32, 11}}) {
    Case c;
    c.name = name("c2c 3d %dx%dx%d in-place", s[0], s[1], s[2]);
    c.in_reals = c.out_reals = 2 * std::size_t(s[0] * s[1] * s[2]);
    c.in_place = true;
    c.points = std::size_t(s[0] * s[1] * s[2]);
    c.plan = [=](const Api& api, void* in, void* out) {
      return api.fn<void* (*)(int, int, int, void*, void*, int, unsigned)>("plan_dft_3d")(s[0], s[1], s[2], in, out,
                                                                                          FFTW_BACKWARD, kFlags);
    };
    v.push_back(c);
  }
  {
    static const int n[] = {3, 4, 5, 6};
    Case c;
    c.name = "c2c nd rank 4 3x4x5x6";
    c.in_reals = c.out_reals = 2 * 360;
    c.points = 360;
    c.input_preserved = true;
    c.plan = [](const Api& api, void* in, void* out) {
      return api.fn<void* (*)(int, const int*, void*, void*, int, unsigned)>("plan_dft")(4, n, in, out, FFTW_FORWARD,
                                                                                         kFlags);
    };
    v.push_back(c);
  }
  // ---- complex DFT, advanced: batches, strides, embeddings ----
  {
    static const int n[] = {12, 10};
    static const int inembed[] = {14, 13};
    static const int onembed[] = {12, 11};
    const int howmany = 3, istride = 2, ostride = 1;
    const int idist = 14 * 13 * istride + 5, odist = 12 * 11 + 3;
    Case c;
    c.name = "c2c many 12x10 howmany=3 istride=2 embedded, idist/odist padded";
    c.in_reals = 2 * std::size_t(idist * howmany);
    c.out_reals = 2 * std::size_t(odist * howmany);
    c.points = 120;
    c.input_preserved = true;
    c.plan = [=](const Api& api, void* in, void* out) {
      return api
          .fn<void* (*)(int, const int*, int, void*, const int*, int, int, void*, const int*, int, int, int, unsigned)>(
              "plan_many_dft")(2, n, howmany, in, inembed, istride, idist, out, onembed, ostride, odist, FFTW_FORWARD,
                               kFlags);
    };
    v.push_back(c);
  }
  {
    static const int n[] = {256};
    const int howmany = 64;
    Case c;
    c.name = "c2c many 256 x 64 interleaved (stride 64, dist 1)";
    c.in_reals = c.out_reals = 2 * 256 * 64;
    c.points = 256;
    c.input_preserved = true;
    c.plan = [=](const Api& api, void* in, void* out) {
      return api
          .fn<void* (*)(int, const int*, int, void*, const int*, int, int, void*, const int*, int, int, int, unsigned)>(
              "plan_many_dft")(1, n, howmany, in, nullptr, howmany, 1, out, nullptr, howmany, 1, FFTW_BACKWARD, kFlags);
    };
    v.push_back(c);
  }
  {
    // Large enough (2 x 19 MiB) for the remote path to cut the batch over several connections.
    static const int n[] = {4096};
    const int howmany = 300;
    Case c;
    c.name = "c2c many 4096 x 300 contiguous batches (split over connections when remote)";
    c.in_reals = c.out_reals = 2 * 4096 * std::size_t(howmany);
    c.points = 4096;
    c.input_preserved = true;
    c.plan = [=](const Api& api, void* in, void* out) {
      return api
          .fn<void* (*)(int, const int*, int, void*, const int*, int, int, void*, const int*, int, int, int, unsigned)>(
              "plan_many_dft")(1, n, howmany, in, nullptr, 1, 4096, out, nullptr, 1, 4096, FFTW_FORWARD, kFlags);
    };
    v.push_back(c);
  }
  // ---- one large transform (>= 16 MiB in + out): striped over connections when remote ----
  // check_fftw.py --expect-split asserts that these ran over RCPU_STREAMS=3 connections.
  for (bool inplace : {false, true}) {
    const int n = 1 << 21;
    Case c;
    c.name = name("c2c 1d n=2^21 %s (striped over connections when remote)", inplace ? "in-place" : "out-of-place");
    c.in_reals = c.out_reals = 2 * std::size_t(n);
    c.in_place = inplace;
    c.points = std::size_t(n);
    c.input_preserved = !inplace;
    c.plan = [=](const Api& api, void* in, void* out) {
      return api.fn<void* (*)(int, void*, void*, int, unsigned)>("plan_dft_1d")(n, in, out, FFTW_FORWARD, kFlags);
    };
    v.push_back(c);
  }
  for (bool forward : {true, false}) {
    // r2c out of place; c2r in place (the real output lands in the padded array: staging + scatter)
    const int n = 1 << 21;
    const std::size_t half = std::size_t(n / 2 + 1);
    Case c;
    c.name = name("%s 1d n=2^21 %s (striped over connections when remote)", forward ? "r2c" : "c2r",
                  forward ? "out-of-place" : "in-place");
    c.in_place = !forward;
    c.points = std::size_t(n);
    c.in_reals = forward ? std::size_t(n) : 2 * half;
    c.out_reals = forward ? 2 * half : 2 * half;
    c.input_preserved = forward;
    if (!forward) c.compared = [=](std::size_t i) { return i < std::size_t(n); };
    c.plan = [=](const Api& api, void* in, void* out) {
      return api.fn<void* (*)(int, void*, void*, unsigned)>(forward ? "plan_dft_r2c_1d" : "plan_dft_c2r_1d")(n, in, out,
                                                                                                             kFlags);
    };
    if (!forward)
      c.mirror = [=](const Api& api, void* real, void* cplx) {
        return api.fn<void* (*)(int, void*, void*, unsigned)>("plan_dft_r2c_1d")(n, real, cplx, kFlags);
      };
    v.push_back(c);
  }
  // ---- complex DFT, guru and guru64: two batch loops, transposed output ----
  for (bool g64 : {false, true}) {
    Case c;
    c.name = name("c2c %s 9x8, batch loops 2x3, transposed output", g64 ? "guru64" : "guru");
    c.in_reals = c.out_reals = 2 * 9 * 8 * 6;
    c.points = 72;
    c.input_preserved = true;
    c.plan = [=](const Api& api, void* in, void* out) -> void* {
      if (g64) {
        fftw_iodim64 dims[] = {{9, 8, 1}, {8, 1, 9}};
        fftw_iodim64 hm[] = {{2, 72 * 3, 72}, {3, 72, 144}};
        return api.fn<void* (*)(int, const fftw_iodim64*, int, const fftw_iodim64*, void*, void*, int, unsigned)>(
            "plan_guru64_dft")(2, dims, 2, hm, in, out, FFTW_FORWARD, kFlags);
      }
      fftw_iodim dims[] = {{9, 8, 1}, {8, 1, 9}};
      fftw_iodim hm[] = {{2, 72 * 3, 72}, {3, 72, 144}};
      return api.fn<void* (*)(int, const fftw_iodim*, int, const fftw_iodim*, void*, void*, int, unsigned)>(
          "plan_guru_dft")(2, dims, 2, hm, in, out, FFTW_FORWARD, kFlags);
    };
    v.push_back(c);
  }
  // ---- new-array execute ----
  {
    const int n = 480;
    Case c;
    c.name = "c2c execute_dft on other arrays n=480";
    c.in_reals = c.out_reals = 2 * n;
    c.alt_offset = 2 * 64;  // the second arrays start 64 complex further: same alignment
    c.points = n;
    c.plan = [=](const Api& api, void* in, void* out) {
      return api.fn<void* (*)(int, void*, void*, int, unsigned)>("plan_dft_1d")(n, in, out, FFTW_FORWARD, kFlags);
    };
    c.execute = [](const Api& api, void* p, void* in, void* out) {
      api.fn<void (*)(void*, void*, void*)>("execute_dft")(p, in, out);
    };
    v.push_back(c);
  }
  // ---- r2c / c2r, basic, in and out of place ----
  for (auto shape : std::vector<std::vector<int>>{
           {1}, {2}, {64}, {4096}, {13}, {1009}, {30}, {16, 16}, {9, 7}, {5, 6, 7}, {8, 4, 10}})
    for (bool inplace : {false, true}) {
      std::size_t outer = 1;
      for (std::size_t i = 0; i + 1 < shape.size(); ++i) outer *= std::size_t(shape[i]);
      const std::size_t last = std::size_t(shape.back()), half = last / 2 + 1;
      const std::size_t points = outer * last;
      std::string s;
      for (int x : shape) s += (s.empty() ? "" : "x") + std::to_string(x);
      const int rank = int(shape.size());
      for (bool forward : {true, false}) {
        Case c;
        c.name = name("%s %dd %s %s", forward ? "r2c" : "c2r", rank, s.c_str(), inplace ? "in-place" : "out-of-place");
        c.in_place = inplace;
        c.points = points;
        const std::size_t padded_real = inplace ? outer * 2 * half : points;
        c.in_reals = forward ? padded_real : 2 * outer * half;
        c.out_reals = forward ? 2 * outer * half : padded_real;
        c.input_preserved = forward && !inplace;
        if (!forward && inplace)  // FFTW leaves scratch in the row padding: compare the outputs only
          c.compared = [=](std::size_t i) { return i % (2 * half) < last; };
        c.plan = [=](const Api& api, void* in, void* out) {
          return api.fn<void* (*)(int, const int*, void*, void*, unsigned)>(forward ? "plan_dft_r2c" : "plan_dft_c2r")(
              rank, shape.data(), in, out, kFlags);
        };
        if (!forward)
          c.mirror = [=](const Api& api, void* real, void* cplx) {
            return api.fn<void* (*)(int, const int*, void*, void*, unsigned)>("plan_dft_r2c")(rank, shape.data(), real,
                                                                                              cplx, kFlags);
          };
        v.push_back(c);
      }
    }
  for (int n : {100, 257}) {
    Case c1;
    c1.name = name("r2c 1d n=%d (plan_dft_r2c_1d)", n);
    c1.in_reals = std::size_t(n);
    c1.out_reals = 2 * std::size_t(n / 2 + 1);
    c1.points = std::size_t(n);
    c1.input_preserved = true;
    c1.plan = [=](const Api& api, void* in, void* out) {
      return api.fn<void* (*)(int, void*, void*, unsigned)>("plan_dft_r2c_1d")(n, in, out, kFlags);
    };
    v.push_back(c1);
    Case c2 = c1;
    c2.name = name("c2r 1d n=%d (plan_dft_c2r_1d, PRESERVE_INPUT)", n);
    std::swap(c2.in_reals, c2.out_reals);
    c2.plan = [=](const Api& api, void* in, void* out) {
      return api.fn<void* (*)(int, void*, void*, unsigned)>("plan_dft_c2r_1d")(n, in, out,
                                                                               kFlags | FFTW_PRESERVE_INPUT);
    };
    c2.mirror = [=](const Api& api, void* real, void* cplx) {
      return api.fn<void* (*)(int, void*, void*, unsigned)>("plan_dft_r2c_1d")(n, real, cplx, kFlags);
    };
    c2.input_preserved = true;  // FFTW_PRESERVE_INPUT
    v.push_back(c2);
  }
  {
    Case c;
    c.name = "r2c 2d 6x10 (plan_dft_r2c_2d) + c2r 3d 4x6x10 (plan_dft_c2r_3d) executed through execute_dft_r2c/c2r";
    c.in_reals = 60;
    c.out_reals = 2 * 6 * 6;
    c.points = 60;
    c.plan = [](const Api& api, void* in, void* out) {
      return api.fn<void* (*)(int, int, void*, void*, unsigned)>("plan_dft_r2c_2d")(6, 10, in, out, kFlags);
    };
    c.alt_offset = 64;
    c.execute = [](const Api& api, void* p, void* in, void* out) {
      api.fn<void (*)(void*, void*, void*)>("execute_dft_r2c")(p, in, out);
    };
    v.push_back(c);
    Case d;
    d.name = "c2r 3d 4x6x10 (plan_dft_c2r_3d) through execute_dft_c2r on other arrays";
    d.in_reals = 2 * 4 * 6 * 6;
    d.out_reals = 240;
    d.points = 240;
    d.alt_offset = 64;
    d.plan = [](const Api& api, void* in, void* out) {
      return api.fn<void* (*)(int, int, int, void*, void*, unsigned)>("plan_dft_c2r_3d")(4, 6, 10, in, out, kFlags);
    };
    d.mirror = [](const Api& api, void* real, void* cplx) {
      return api.fn<void* (*)(int, int, int, void*, void*, unsigned)>("plan_dft_r2c_3d")(4, 6, 10, real, cplx, kFlags);
    };
    d.execute = [](const Api& api, void* p, void* in, void* out) {
      api.fn<void (*)(void*, void*, void*)>("execute_dft_c2r")(p, in, out);
    };
    v.push_back(d);
  }
  // ---- r2c / c2r, advanced: batched, strided ----
  for (bool forward : {true, false}) {
    static const int n[] = {10, 12};
    const int howmany = 4, half = 12 / 2 + 1;
    Case c;
    c.name = name("%s many 10x12 howmany=4 stride 2, padded dists", forward ? "r2c" : "c2r");
    const int rdist = 2 * 10 * 12 + 7, cdist = 2 * 10 * half + 3;  // strides 2: room for both
    c.in_reals = forward ? std::size_t(rdist * howmany) : 2 * std::size_t(cdist * howmany);
    c.out_reals = forward ? 2 * std::size_t(cdist * howmany) : std::size_t(rdist * howmany);
    c.points = 120;
    c.input_preserved = forward;
    c.plan = [=](const Api& api, void* in, void* out) {
      if (forward)
        return api
            .fn<void* (*)(int, const int*, int, void*, const int*, int, int, void*, const int*, int, int, unsigned)>(
                "plan_many_dft_r2c")(2, n, howmany, in, nullptr, 2, rdist, out, nullptr, 2, cdist, kFlags);
      return api
          .fn<void* (*)(int, const int*, int, void*, const int*, int, int, void*, const int*, int, int, unsigned)>(
              "plan_many_dft_c2r")(2, n, howmany, in, nullptr, 2, cdist, out, nullptr, 2, rdist, kFlags);
    };
    if (!forward)
      c.mirror = [=](const Api& api, void* real, void* cplx) {
        return api
            .fn<void* (*)(int, const int*, int, void*, const int*, int, int, void*, const int*, int, int, unsigned)>(
                "plan_many_dft_r2c")(2, n, howmany, real, nullptr, 2, rdist, cplx, nullptr, 2, cdist, kFlags);
      };
    v.push_back(c);
  }
  // ---- r2c / c2r guru64 with a batch loop ----
  for (bool forward : {true, false}) {
    Case c;
    c.name = name("%s guru64 16x9, 5 batches", forward ? "r2c" : "c2r");
    const int half = 9 / 2 + 1;
    c.in_reals = forward ? 16 * 9 * 5 : 2 * 16 * half * 5;
    c.out_reals = forward ? 2 * 16 * half * 5 : 16 * 9 * 5;
    c.points = 144;
    c.input_preserved = forward;
    c.plan = [=](const Api& api, void* in, void* out) {
      fftw_iodim64 rdims[] = {{16, 9, half}, {9, 1, 1}};
      fftw_iodim64 cdims[] = {{16, half, 9}, {9, 1, 1}};
      fftw_iodim64 hm[] = {{5, forward ? 144 : 16 * half, forward ? 16 * half : 144}};
      return api.fn<void* (*)(int, const fftw_iodim64*, int, const fftw_iodim64*, void*, void*, unsigned)>(
          forward ? "plan_guru64_dft_r2c" : "plan_guru64_dft_c2r")(2, forward ? rdims : cdims, 1, hm, in, out, kFlags);
    };
    if (!forward)
      c.mirror = [=](const Api& api, void* real, void* cplx) {
        fftw_iodim64 rdims[] = {{16, 9, half}, {9, 1, 1}};
        fftw_iodim64 hm[] = {{5, 144, 16 * half}};
        return api.fn<void* (*)(int, const fftw_iodim64*, int, const fftw_iodim64*, void*, void*, unsigned)>(
            "plan_guru64_dft_r2c")(2, rdims, 1, hm, real, cplx, kFlags);
      };
    v.push_back(c);
  }
  // ---- local-only interfaces: r2r, split arrays ----
  for (int kind : {FFTW_REDFT10, FFTW_RODFT00, FFTW_DHT, FFTW_R2HC}) {
    Case c;
    c.name = name("r2r 1d n=100 kind=%d (local)", kind);
    c.in_reals = c.out_reals = 100;
    c.points = 100;
    c.input_preserved = true;
    c.plan = [=](const Api& api, void* in, void* out) {
      return api.fn<void* (*)(int, void*, void*, int, unsigned)>("plan_r2r_1d")(100, in, out, kind, kFlags);
    };
    v.push_back(c);
  }
  {
    Case c;
    c.name = "split c2c guru 64 (local), interleaved through split pointers";
    c.in_reals = c.out_reals = 128;
    c.points = 64;
    c.plan = [](const Api& api, void* in, void* out) {
      fftw_iodim dims[] = {{64, 2, 2}};
      char* i = static_cast<char*>(in);
      char* o = static_cast<char*>(out);
      const std::size_t r = api.single ? 4 : 8;
      return api.fn<void* (*)(int, const fftw_iodim*, int, const fftw_iodim*, void*, void*, void*, void*, unsigned)>(
          "plan_guru_split_dft")(1, dims, 0, nullptr, i, i + r, o, o + r, kFlags);
    };
    v.push_back(c);
  }
  return v;
}

// Several application threads executing their own plans at once through the shim (FFTW allows
// concurrent fftw_execute of different plans): every result equals the reference.
void concurrent_executions() {
  ++g_cases;
  constexpr int kThreads = 4, kRounds = 25, n = 4096;
  Api shim{false, false}, ref{true, false};
  auto plan_shim = shim.fn<void* (*)(int, void*, void*, int, unsigned)>("plan_dft_1d");
  auto plan_ref = ref.fn<void* (*)(int, void*, void*, int, unsigned)>("plan_dft_1d");
  std::vector<std::vector<double>> in(kThreads, std::vector<double>(2 * n)), out(kThreads, std::vector<double>(2 * n));
  std::vector<std::vector<double>> want(kThreads, std::vector<double>(2 * n));
  std::vector<void*> plans(kThreads);
  std::mt19937_64 rng(99);
  for (int t = 0; t < kThreads; ++t) {
    fill(in[t], rng);
    std::vector<double> copy = in[t];
    void* rp = plan_ref(n, copy.data(), want[t].data(), FFTW_FORWARD, kFlags);
    ref.fn<void (*)(void*)>("execute")(rp);
    ref.fn<void (*)(void*)>("destroy_plan")(rp);
    plans[t] = plan_shim(n, in[t].data(), out[t].data(), FFTW_FORWARD, kFlags);  // the planner: one thread
  }
  std::vector<int> bad(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      auto execute = shim.fn<void (*)(void*)>("execute");
      for (int r = 0; r < kRounds; ++r) {
        std::fill(out[t].begin(), out[t].end(), 0.0);
        execute(plans[t]);
        for (int i = 0; i < 2 * n; ++i)
          if (std::fabs(out[t][std::size_t(i)] - want[t][std::size_t(i)]) > 1e-9 * n) ++bad[t];
      }
    });
  for (auto& th : threads) th.join();
  int total = 0;
  for (int t = 0; t < kThreads; ++t) {
    total += bad[t];
    shim.fn<void (*)(void*)>("destroy_plan")(plans[t]);
  }
  if (total) {
    ++g_failures;
    std::printf("FAIL concurrent executions: %d wrong elements\n", total);
  } else {
    std::printf("ok   concurrent executions: %d threads x %d transforms of %d points\n", kThreads, kRounds, n);
  }
}

// The legacy-Fortran interface through the shim (dfftw_* / sfftw_*: every argument by reference,
// the plan in an INTEGER*8, dimensions in Fortran order) against the reference FFTW's C API; also
// its threads routines. These run on the local FFTW (docs/architecture.md, "FFTW").
template <class R>
void fortran_legacy(bool single) {
  ++g_cases;
  const char p = single ? 's' : 'd';
  auto f = [&](const char* base) {
    const std::string name = std::string(1, p) + "fftw_" + base + "_";
    void* fn = dlsym(RTLD_DEFAULT, name.c_str());
    if (!fn) {
      std::fprintf(stderr, "missing %s in the shim\n", name.c_str());
      std::exit(2);
    }
    return fn;
  };
  Api ref{true, single};
  std::mt19937_64 rng(7);
  int nx = 12, ny = 10, n = 96, sign = FFTW_BACKWARD, flags = FFTW_ESTIMATE, nthreads = 2, ok_threads = 0;
  reinterpret_cast<void (*)(int*)>(f("init_threads"))(&ok_threads);
  reinterpret_cast<void (*)(int*)>(f("plan_with_nthreads"))(&nthreads);
  int got_threads = 0;
  reinterpret_cast<void (*)(int*)>(f("planner_nthreads"))(&got_threads);
  std::int64_t plan = 0;  // INTEGER*8
  // c2c 1-D
  std::vector<R> in(2 * std::size_t(n)), out(2 * std::size_t(n)), want(2 * std::size_t(n));
  fill(in, rng);
  std::vector<R> in_copy = in;
  reinterpret_cast<void (*)(std::int64_t*, int*, void*, void*, int*, int*)>(f("plan_dft_1d"))(
      &plan, &n, in.data(), out.data(), &sign, &flags);
  reinterpret_cast<void (*)(std::int64_t*)>(f("execute"))(&plan);
  reinterpret_cast<void (*)(std::int64_t*)>(f("destroy_plan"))(&plan);
  void* rp = ref.fn<void* (*)(int, void*, void*, int, unsigned)>("plan_dft_1d")(n, in_copy.data(), want.data(), sign,
                                                                                FFTW_ESTIMATE);
  ref.fn<void (*)(void*)>("execute")(rp);
  ref.fn<void (*)(void*)>("destroy_plan")(rp);
  double err = 0;
  for (std::size_t i = 0; i < out.size(); ++i) err = std::max(err, std::fabs(double(out[i]) - double(want[i])));
  // r2c 2-D: Fortran's (nx, ny) column-major array is C's ny x nx
  const std::size_t half = std::size_t(nx / 2 + 1);
  std::vector<R> rin(std::size_t(nx * ny)), rout(2 * half * std::size_t(ny)), rwant(rout.size());
  fill(rin, rng);
  std::vector<R> rin_copy = rin;
  reinterpret_cast<void (*)(std::int64_t*, int*, int*, void*, void*, int*)>(f("plan_dft_r2c_2d"))(
      &plan, &nx, &ny, rin.data(), rout.data(), &flags);
  reinterpret_cast<void (*)(std::int64_t*, void*, void*)>(f("execute_dft_r2c"))(&plan, rin.data(), rout.data());
  reinterpret_cast<void (*)(std::int64_t*)>(f("destroy_plan"))(&plan);
  rp = ref.fn<void* (*)(int, int, void*, void*, unsigned)>("plan_dft_r2c_2d")(ny, nx, rin_copy.data(), rwant.data(),
                                                                              FFTW_ESTIMATE);
  ref.fn<void (*)(void*)>("execute")(rp);
  ref.fn<void (*)(void*)>("destroy_plan")(rp);
  for (std::size_t i = 0; i < rout.size(); ++i) err = std::max(err, std::fabs(double(rout[i]) - double(rwant[i])));
  nthreads = 1;
  reinterpret_cast<void (*)(int*)>(f("plan_with_nthreads"))(&nthreads);
  const double tol = single ? 1e-4 : 1e-12;
  if (!(err <= tol) || ok_threads == 0 || got_threads != 2) {
    ++g_failures;
    std::printf("FAIL [%c] legacy Fortran: max error %.3g, init_threads %d, planner_nthreads %d\n", p, err, ok_threads,
                got_threads);
  } else {
    std::printf(
        "ok   [%c] legacy Fortran: plan_dft_1d/execute, plan_dft_r2c_2d/execute_dft_r2c, threads (max error %.2g)\n", p,
        err);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Direct references, so that the linker keeps libfftw3.so.3 and libfftw3f.so.3 (the shim) as
  // dependencies; every call goes through Api::sym by name.
  void (*volatile keep_double)(const fftw_plan) = &fftw_execute;
  void (*volatile keep_single)(const fftwf_plan) = &fftwf_execute;
  (void)keep_double;
  (void)keep_single;
  open_reference(argc > 1 ? argv[1] : "/usr/lib/x86_64-linux-gnu");
  std::vector<Case> all = cases();
  // FFT_COMPARE_ONLY=TEXT: only the cases whose name contains TEXT (check_fftw.py's fault mode runs
  // just the striped ones), and none of the fixed extra checks below.
  const char* only = std::getenv("FFT_COMPARE_ONLY");
  if (only && *only) std::erase_if(all, [&](const Case& c) { return c.name.find(only) == std::string::npos; });
  for (const Case& c : all) run_case<double>(c, false);
  for (const Case& c : all) run_case<float>(c, true);
  if (!(only && *only)) {
    concurrent_executions();
    fortran_legacy<double>(false);
    fortran_legacy<float>(true);
  }
  std::printf("%d of %d cases agree with the reference FFTW\n", g_cases - g_failures, g_cases);
  return g_failures ? 1 : 0;
}
