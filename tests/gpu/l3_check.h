// Shared by the tests in tests/gpu: the Level-3 cases to run, operand generation, and the
// comparison of a result with a reference one under a tolerance fit for the precision.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "common/level3.h"

namespace l3check {

using rcpu::Dtype;
using rcpu::L3Family;
using rcpu::Level3Args;

inline std::string describe(const Level3Args& x) {
  char buf[256];
  std::snprintf(
      buf, sizeof buf, "%s side=%c uplo=%c transa=%c transb=%c diag=%c m=%lld n=%lld k=%lld alpha=(%g,%g) beta=(%g,%g)",
      rcpu::routine_name(x.family, x.dtype).c_str(), x.side, x.uplo, x.transa, x.transb, x.diag, (long long)x.m,
      (long long)x.n, (long long)x.k, x.alpha.real(), x.alpha.imag(), x.beta.real(), x.beta.imag());
  return buf;
}

// Packed leading dimensions for the operands, as the server passes them.
inline void set_packed_lds(Level3Args& x) {
  x.lda = x.ldb = x.ldc = 1;
  const rcpu::Level3Shapes s = rcpu::level3_shapes(x);
  x.lda = std::max<std::int64_t>(1, s.a.rows);
  if (x.family == L3Family::trmm || x.family == L3Family::trsm)
    x.ldb = std::max<std::int64_t>(1, s.c.rows);
  else
    x.ldb = std::max<std::int64_t>(1, s.b.rows);
  x.ldc = std::max<std::int64_t>(1, s.c.rows);
}

inline bool hermitian(L3Family f) { return f == L3Family::hemm || f == L3Family::herk || f == L3Family::her2k; }

// The length of the dot products the routine computes (drives the tolerance).
inline std::int64_t inner_dim(const Level3Args& x) {
  switch (x.family) {
    case L3Family::gemm:
      return x.k;
    case L3Family::syrk:
    case L3Family::herk:
      return x.k;
    case L3Family::syr2k:
    case L3Family::her2k:
      return 2 * x.k;
    default:
      return x.side == 'L' ? x.m : x.n;
  }
}

struct Shape {
  std::int64_t m, n, k;
};

// Every family x type x option combination over the given shapes, beta zero and non-zero.
inline std::vector<Level3Args> all_cases(const std::vector<Shape>& shapes, const std::vector<Dtype>& types) {
  std::vector<Level3Args> out;
  const L3Family families[] = {L3Family::gemm,  L3Family::symm,  L3Family::hemm, L3Family::syrk, L3Family::herk,
                               L3Family::syr2k, L3Family::her2k, L3Family::trmm, L3Family::trsm};
  for (L3Family f : families) {
    for (Dtype t : types) {
      const bool cplx = rcpu::is_complex(t);
      if (hermitian(f) && !cplx) continue;
      for (const Shape& sh : shapes) {
        for (int beta_zero = 0; beta_zero < 2; ++beta_zero) {
          Level3Args base;
          base.family = f;
          base.dtype = t;
          base.m = sh.m;
          base.n = sh.n;
          base.k = sh.k;
          base.alpha = cplx ? std::complex<double>(0.75, -0.375) : std::complex<double>(0.75, 0);
          base.beta = beta_zero ? std::complex<double>(0, 0)
                                : (cplx ? std::complex<double>(1.25, 0.5) : std::complex<double>(1.25, 0));
          if (f == L3Family::herk) base.alpha = {0.75, 0};
          if (f == L3Family::herk || f == L3Family::her2k) base.beta = {beta_zero ? 0.0 : 1.25, 0};
          if (f == L3Family::trmm || f == L3Family::trsm) {
            if (beta_zero) continue;  // no beta
            base.beta = {0, 0};
          }
          auto push = [&](Level3Args x) {
            set_packed_lds(x);
            out.push_back(x);
          };
          switch (f) {
            case L3Family::gemm:
              for (char ta : {'N', 'T', 'C'})
                for (char tb : {'N', 'T', 'C'}) {
                  Level3Args x = base;
                  x.transa = ta;
                  x.transb = tb;
                  push(x);
                }
              break;
            case L3Family::symm:
            case L3Family::hemm:
              for (char side : {'L', 'R'})
                for (char uplo : {'U', 'L'}) {
                  Level3Args x = base;
                  x.side = side;
                  x.uplo = uplo;
                  x.k = 0;
                  push(x);
                }
              break;
            case L3Family::syrk:
            case L3Family::syr2k:
            case L3Family::herk:
            case L3Family::her2k: {
              const char* trans = hermitian(f) ? "NC" : (cplx ? "NT" : "NTC");
              for (char uplo : {'U', 'L'})
                for (const char* tr = trans; *tr; ++tr) {
                  Level3Args x = base;
                  x.uplo = uplo;
                  x.transa = *tr;
                  x.m = 0;
                  push(x);
                }
              break;
            }
            case L3Family::trmm:
            case L3Family::trsm:
              for (char side : {'L', 'R'})
                for (char uplo : {'U', 'L'})
                  for (char ta : {'N', 'T', 'C'})
                    for (char diag : {'N', 'U'}) {
                      Level3Args x = base;
                      x.side = side;
                      x.uplo = uplo;
                      x.transa = ta;
                      x.diag = diag;
                      x.k = 0;
                      push(x);
                    }
              break;
          }
        }
      }
    }
  }
  return out;
}

template <class T>
struct Real {
  using type = T;
};
template <class R>
struct Real<std::complex<R>> {
  using type = R;
};

template <class T>
constexpr bool is_cplx = !std::is_same_v<T, typename Real<T>::type>;

template <class T>
T random_value(std::mt19937_64& rng) {
  using R = typename Real<T>::type;
  std::uniform_real_distribution<R> u(R(-1), R(1));
  if constexpr (is_cplx<T>)
    return T(u(rng), u(rng));
  else
    return u(rng);
}

template <class T>
T nan_value() {
  using R = typename Real<T>::type;
  const R n = std::numeric_limits<R>::quiet_NaN();
  if constexpr (is_cplx<T>)
    return T(n, n);
  else
    return n;
}

// Operands for one call, packed column-major: A, B, and C (B of trmm/trsm, kept as "c").
template <class T>
struct Operands {
  std::vector<T> a, b, c;
};

// Random operands that keep every routine well conditioned: triangular A is diagonally dominant
// (off-diagonal entries scaled by 1/order) so trsm's solution stays close to its input scale, and
// the diagonals that Hermitian routines treat as real have a zero imaginary part.
template <class T>
Operands<T> make_operands(const Level3Args& x, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const rcpu::Level3Shapes s = rcpu::level3_shapes(x);
  Operands<T> o;
  auto fill = [&](std::vector<T>& v, const rcpu::OperandShape& sh) {
    v.resize(std::size_t(std::max<std::int64_t>(1, sh.ld) * sh.cols));
    for (T& e : v) e = random_value<T>(rng);
  };
  if (s.a.role != rcpu::Role::none) fill(o.a, s.a);
  if (s.b.role != rcpu::Role::none) fill(o.b, s.b);
  fill(o.c, s.c);
  using R = typename Real<T>::type;
  if (x.family == L3Family::trmm || x.family == L3Family::trsm) {
    const std::int64_t ka = s.a.rows;
    for (std::int64_t j = 0; j < ka; ++j)
      for (std::int64_t i = 0; i < ka; ++i) {
        T& e = o.a[std::size_t(i + j * s.a.ld)];
        if (i == j)
          e = T(R(1) + std::abs(e));
        else
          e = e / T(R(ka));
      }
  }
  if constexpr (is_cplx<T>) {
    if (x.family == L3Family::hemm)
      for (std::int64_t j = 0; j < s.a.rows; ++j) o.a[std::size_t(j + j * s.a.ld)].imag(0);
    if (x.family == L3Family::herk || x.family == L3Family::her2k)
      for (std::int64_t j = 0; j < s.c.rows; ++j) o.c[std::size_t(j + j * s.c.ld)].imag(0);
  }
  return o;
}

template <class T>
double epsilon() {
  return double(std::numeric_limits<typename Real<T>::type>::epsilon());
}

struct Verdict {
  bool ok = true;
  double rel_err = 0, tol = 0;
  std::string why;
};

// Compares `got` with `want` (both C, or B for trmm/trsm) over the part the routine writes: the
// uplo triangle for the rank-k updates, everything otherwise. Error is max |got - want| over
// max |want|; the bound grows with the dot-product length. herk/her2k must leave a real diagonal.
template <class T>
Verdict compare(const Level3Args& x, const std::vector<T>& got, const std::vector<T>& want, double factor = 8.0) {
  const rcpu::Level3Shapes s = rcpu::level3_shapes(x);
  const std::int64_t rows = s.c.rows, cols = s.c.cols, ld = s.c.ld;
  Verdict v;
  double max_want = 0, max_diff = 0;
  for (std::int64_t j = 0; j < cols; ++j)
    for (std::int64_t i = 0; i < rows; ++i) {
      if (s.c.tri == 'U' && i > j) continue;
      if (s.c.tri == 'L' && i < j) continue;
      const std::size_t at = std::size_t(i + j * ld);
      const T g = got[at], w = want[at];
      if (std::isnan(std::abs(g)) || std::isinf(std::abs(g))) {
        v.ok = false;
        v.why = "non-finite value at (" + std::to_string(i) + "," + std::to_string(j) + ")";
        return v;
      }
      max_want = std::max(max_want, double(std::abs(w)));
      max_diff = std::max(max_diff, double(std::abs(g - w)));
      if constexpr (is_cplx<T>) {
        if ((x.family == L3Family::herk || x.family == L3Family::her2k) && i == j && g.imag() != 0) {
          v.ok = false;
          v.why = "diagonal entry " + std::to_string(i) + " of a Hermitian result has a non-zero imaginary part";
          return v;
        }
      }
    }
  v.rel_err = max_want > 0 ? max_diff / max_want : max_diff;
  v.tol = factor * epsilon<T>() * double(inner_dim(x) + 10);
  if (!(v.rel_err <= v.tol)) {
    v.ok = false;
    char buf[128];
    std::snprintf(buf, sizeof buf, "relative error %.3g > tolerance %.3g", v.rel_err, v.tol);
    v.why = buf;
  }
  return v;
}

}  // namespace l3check
