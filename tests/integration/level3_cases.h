// Random Level-3 calls with their application-side arrays, shared by the unit tests and the
// integration client: arguments valid for the family and type, leading dimensions optionally
// padded (so "never touch outside the block" is checked), well-conditioned triangles for trsm.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "common/level3.h"

namespace rcpu::testing {

struct Case {
  Level3Args args;
  std::vector<std::uint8_t> a, b, c;  // column-major with args' leading dimensions
  void* ptr(std::vector<std::uint8_t>& v) { return v.empty() ? nullptr : v.data(); }
};

inline std::int64_t pick(std::mt19937_64& rng, std::int64_t lo, std::int64_t hi) {
  return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
}
inline char pick_char(std::mt19937_64& rng, const char* set) {
  return set[pick(rng, 0, std::int64_t(std::strlen(set)) - 1)];
}

inline Level3Args random_args(L3Family f, Dtype t, std::mt19937_64& rng, std::int64_t max_dim, bool padded,
                              bool beta_zero) {
  Level3Args x;
  x.family = f;
  x.dtype = t;
  const bool cplx = is_complex(t);
  x.m = pick(rng, 1, max_dim);
  x.n = pick(rng, 1, max_dim);
  x.k = pick(rng, 1, max_dim);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  x.alpha = cplx ? std::complex<double>(u(rng), u(rng)) : std::complex<double>(u(rng), 0);
  if (x.alpha == std::complex<double>(0, 0)) x.alpha = 1;
  x.beta = beta_zero ? 0 : (cplx ? std::complex<double>(u(rng), u(rng)) : std::complex<double>(u(rng), 0));
  switch (f) {
    case L3Family::gemm:
      x.transa = pick_char(rng, "NTC");
      x.transb = pick_char(rng, "NTC");
      break;
    case L3Family::symm:
    case L3Family::hemm:
      x.side = pick_char(rng, "LR");
      x.uplo = pick_char(rng, "UL");
      break;
    case L3Family::syrk:
    case L3Family::syr2k:
      x.uplo = pick_char(rng, "UL");
      x.transa = cplx ? pick_char(rng, "NT") : pick_char(rng, "NTC");
      break;
    case L3Family::herk:
    case L3Family::her2k:
      x.uplo = pick_char(rng, "UL");
      x.transa = pick_char(rng, "NC");
      break;
    case L3Family::trmm:
    case L3Family::trsm:
      x.side = pick_char(rng, "LR");
      x.uplo = pick_char(rng, "UL");
      x.transa = pick_char(rng, "NTC");
      x.diag = pick_char(rng, "NU");
      break;
  }
  if (f == L3Family::herk) {
    x.alpha = x.alpha.real();
    x.beta = x.beta.real();
  }
  if (f == L3Family::her2k) x.beta = x.beta.real();
  const Level3Shapes s = level3_shapes(x);
  auto ld = [&](const OperandShape& o) { return std::max<std::int64_t>(1, o.rows + (padded ? pick(rng, 0, 3) : 0)); };
  x.lda = ld(s.a);
  x.ldb = (f == L3Family::trmm || f == L3Family::trsm) ? ld(s.c) : ld(s.b);
  x.ldc = ld(s.c);
  return x;
}

inline void fill(std::vector<std::uint8_t>& v, Dtype t, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  const std::size_t n = v.size() / (t == Dtype::s || t == Dtype::c ? 4 : 8);
  if (t == Dtype::s || t == Dtype::c) {
    auto* p = reinterpret_cast<float*>(v.data());
    for (std::size_t i = 0; i < n; ++i) p[i] = float(u(rng));
  } else {
    auto* p = reinterpret_cast<double*>(v.data());
    for (std::size_t i = 0; i < n; ++i) p[i] = u(rng);
  }
}

inline std::complex<double> get(const std::vector<std::uint8_t>& v, Dtype t, std::size_t idx) {
  switch (t) {
    case Dtype::s:
      return reinterpret_cast<const float*>(v.data())[idx];
    case Dtype::d:
      return reinterpret_cast<const double*>(v.data())[idx];
    case Dtype::c: {
      auto z = reinterpret_cast<const std::complex<float>*>(v.data())[idx];
      return {z.real(), z.imag()};
    }
    case Dtype::z:
      return reinterpret_cast<const std::complex<double>*>(v.data())[idx];
  }
  return 0;
}

inline void set(std::vector<std::uint8_t>& v, Dtype t, std::size_t idx, std::complex<double> z) {
  switch (t) {
    case Dtype::s:
      reinterpret_cast<float*>(v.data())[idx] = float(z.real());
      break;
    case Dtype::d:
      reinterpret_cast<double*>(v.data())[idx] = z.real();
      break;
    case Dtype::c:
      reinterpret_cast<std::complex<float>*>(v.data())[idx] = {float(z.real()), float(z.imag())};
      break;
    case Dtype::z:
      reinterpret_cast<std::complex<double>*>(v.data())[idx] = z;
      break;
  }
}

inline Case make_case(const Level3Args& x, std::mt19937_64& rng) {
  Case cs;
  cs.args = x;
  const Level3Shapes s = level3_shapes(x);
  const std::size_t e = element_size(x.dtype);
  auto alloc = [&](std::vector<std::uint8_t>& v, const OperandShape& o) {
    if (o.role == Role::none) return;
    v.assign(std::size_t(std::max<std::int64_t>(1, o.ld * o.cols)) * e, 0);
    fill(v, x.dtype, rng);
  };
  alloc(cs.a, s.a);
  alloc(cs.b, s.b);
  alloc(cs.c, s.c);
  if (x.family == L3Family::trmm || x.family == L3Family::trsm) {
    // Strong diagonal and small off-diagonal entries keep the triangular solve well conditioned.
    const std::int64_t ka = s.a.rows;
    for (std::int64_t j = 0; j < ka; ++j)
      for (std::int64_t i = 0; i < ka; ++i) {
        const std::size_t idx = std::size_t(j * s.a.ld + i);
        set(cs.a, x.dtype, idx, i == j ? get(cs.a, x.dtype, idx) + 2.0 : get(cs.a, x.dtype, idx) / double(ka));
      }
  }
  return cs;
}

// Largest elementwise difference over the whole array (padding included), relative to the largest
// magnitude in `want`.
inline double max_rel_diff(const std::vector<std::uint8_t>& got, const std::vector<std::uint8_t>& want, Dtype t) {
  const std::size_t n = want.size() / element_size(t);
  double diff = 0, scale = 1;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = std::abs(get(got, t, i) - get(want, t, i));
    if (!(d <= diff)) diff = d;  // written so that a NaN makes the difference NaN, never hides
    scale = std::max(scale, std::abs(get(want, t, i)));
  }
  return std::isnan(diff) ? INFINITY : diff / scale;
}

inline double tolerance(Dtype t) { return (t == Dtype::s || t == Dtype::c) ? 2e-4 : 1e-11; }

}  // namespace rcpu::testing
