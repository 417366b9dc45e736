// The CBLAS entry points of the Level-2 and Level-3 families: one template per family, called by
// the generated code as rcpu::cblas::gemm<rcpu::Sym::cblas_dgemm>(layout, TransA, ..., ldc) with
// exactly the CBLAS arguments, for every precision.
//
// Each adapter behaves as netlib's CBLAS does (cblas_plan.h has the decisions and their quirks):
// invalid calls are reported through cblas_xerbla and/or xerbla_ with RowMajorStrg and
// CBLAS_CallFromC set as netlib has them at that moment, then both are reset to 0. Valid calls
// leave both at 0 (netlib's state after a call) without writing them unless needed, then run:
//   - Level 2 on the local library's own cblas_* entry point, with the caller's arguments (the
//     local library does row-major and conjugation itself);
//   - Level 3 through route::run_level3 with the column-major Fortran call netlib would make
//     (row-major gemm swaps A/B, m/n and the transposes; symm/hemm flip side and uplo; syrk and
//     friends flip uplo and trans; trmm/trsm flip side and uplo), so it may run remotely.
#pragma once

#include <complex>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "blas_symbols.h"
#include "client/cblas/cblas_plan.h"
#include "client/route.h"

namespace rcpu::cblas {
namespace detail {

template <Sym S>
constexpr Dtype dtype_of() {
  constexpr char c = SymInfo<S>::name[6];  // "cblas_dgemm"
  static_assert(c == 's' || c == 'd' || c == 'c' || c == 'z', "not a typed CBLAS routine");
  return c == 's' ? Dtype::s : c == 'd' ? Dtype::d : c == 'c' ? Dtype::c : Dtype::z;
}

template <Dtype D>
using element_t = std::conditional_t<
    D == Dtype::s, float,
    std::conditional_t<D == Dtype::d, double,
                       std::conditional_t<D == Dtype::c, std::complex<float>, std::complex<double>>>>;

// cblas_cgerc / cblas_zgerc: true.
template <Sym S>
constexpr bool is_gerc() {
  constexpr const char* n = SymInfo<S>::name;
  return n[7] == 'g' && n[8] == 'e' && n[9] == 'r' && n[10] == 'c';
}

// A CBLAS scalar widened to complex<double>: real types pass values, complex types pointers.
template <Dtype D, class T>
std::complex<double> scalar(T v) {
  if constexpr (std::is_pointer_v<T>) {
    return widen(static_cast<const element_t<D>*>(static_cast<const void*>(v)));
  } else {
    return {static_cast<double>(v), 0.0};
  }
}

// Reports an invalid call exactly as netlib's CBLAS would, then resets the globals.
template <Sym S>
[[gnu::cold, gnu::noinline]] void report(const Verdict& v) {
  RowMajorStrg = v.row_major ? 1 : 0;
  CBLAS_CallFromC = 1;
  if (v.pos) route::report_cblas_error(S, v.pos, v.form, v.value);
  if (v.info) {
    CBLAS_CallFromC = v.f77_from_c ? 1 : 0;
    Sym name = S;
    if constexpr (S == Sym::cblas_cgerc) name = v.geru ? Sym::cblas_cgeru : S;
    if constexpr (S == Sym::cblas_zgerc) name = v.geru ? Sym::cblas_zgeru : S;
    route::report_xerbla(name, v.info);
  }
  CBLAS_CallFromC = 0;
  RowMajorStrg = 0;
}

// A valid call ends with both globals at 0, as after netlib's CBLAS; written only when needed.
inline void leave() {
  if (RowMajorStrg | CBLAS_CallFromC) {
    RowMajorStrg = 0;
    CBLAS_CallFromC = 0;
  }
}

// netlib's CBLAS hands some row-major complex calls a contiguous copy of a vector, so it accepts an
// increment of 0 there (the vector is then x[0] repeated); the local library would reject it.
// The same vector, made explicit with increment 1.
template <Sym S, class P, class I>
std::vector<element_t<dtype_of<S>()>> repeated(P x, I n) {
  using E = element_t<dtype_of<S>()>;
  return std::vector<E>(n > 0 ? static_cast<std::size_t>(n) : 0, *static_cast<const E*>(static_cast<const void*>(x)));
}

}  // namespace detail

// ------------------------------------------------------------------------------------ Level 2

template <Sym S>
void gemv(auto layout, auto TransA, auto M, auto N, auto alpha, auto A, auto lda, auto X, auto incX, auto beta, auto Y,
          auto incY) {
  if (route::inside_local()) return route::call_local<S>(layout, TransA, M, N, alpha, A, lda, X, incX, beta, Y, incY);
  F77Call2 f;
  const Verdict v = plan::gemv(detail::dtype_of<S>(), layout, TransA, M, N, lda, incX, incY, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  if (f.x_copy && incX == 0) [[unlikely]] {
    const auto xs = detail::repeated<S>(X, M);
    return route::local<S>(layout, TransA, M, N, alpha, A, lda, static_cast<decltype(X)>(xs.data()), decltype(incX)(1),
                           beta, Y, incY);
  }
  route::local<S>(layout, TransA, M, N, alpha, A, lda, X, incX, beta, Y, incY);
}

template <Sym S>
void gbmv(auto layout, auto TransA, auto M, auto N, auto KL, auto KU, auto alpha, auto A, auto lda, auto X, auto incX,
          auto beta, auto Y, auto incY) {
  if (route::inside_local())
    return route::call_local<S>(layout, TransA, M, N, KL, KU, alpha, A, lda, X, incX, beta, Y, incY);
  F77Call2 f;
  const Verdict v = plan::gbmv(detail::dtype_of<S>(), layout, TransA, M, N, KL, KU, lda, incX, incY, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  if (f.x_copy && incX == 0) [[unlikely]] {
    const auto xs = detail::repeated<S>(X, M);
    return route::local<S>(layout, TransA, M, N, KL, KU, alpha, A, lda, static_cast<decltype(X)>(xs.data()),
                           decltype(incX)(1), beta, Y, incY);
  }
  route::local<S>(layout, TransA, M, N, KL, KU, alpha, A, lda, X, incX, beta, Y, incY);
}

template <Sym S>
void symv(auto layout, auto Uplo, auto N, auto alpha, auto A, auto lda, auto X, auto incX, auto beta, auto Y,
          auto incY) {
  if (route::inside_local()) return route::call_local<S>(layout, Uplo, N, alpha, A, lda, X, incX, beta, Y, incY);
  F77Call2 f;
  const Verdict v = plan::symv(detail::dtype_of<S>(), layout, Uplo, N, lda, incX, incY, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  route::local<S>(layout, Uplo, N, alpha, A, lda, X, incX, beta, Y, incY);
}

template <Sym S>
void hemv(auto layout, auto Uplo, auto N, auto alpha, auto A, auto lda, auto X, auto incX, auto beta, auto Y,
          auto incY) {
  if (route::inside_local()) return route::call_local<S>(layout, Uplo, N, alpha, A, lda, X, incX, beta, Y, incY);
  F77Call2 f;
  const Verdict v = plan::hemv(detail::dtype_of<S>(), layout, Uplo, N, lda, incX, incY, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  if (f.x_copy && incX == 0) [[unlikely]] {
    const auto xs = detail::repeated<S>(X, N);
    return route::local<S>(layout, Uplo, N, alpha, A, lda, static_cast<decltype(X)>(xs.data()), decltype(incX)(1), beta,
                           Y, incY);
  }
  route::local<S>(layout, Uplo, N, alpha, A, lda, X, incX, beta, Y, incY);
}

template <Sym S>
void sbmv(auto layout, auto Uplo, auto N, auto K, auto alpha, auto A, auto lda, auto X, auto incX, auto beta, auto Y,
          auto incY) {
  if (route::inside_local()) return route::call_local<S>(layout, Uplo, N, K, alpha, A, lda, X, incX, beta, Y, incY);
  F77Call2 f;
  const Verdict v = plan::sbmv(detail::dtype_of<S>(), layout, Uplo, N, K, lda, incX, incY, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  route::local<S>(layout, Uplo, N, K, alpha, A, lda, X, incX, beta, Y, incY);
}

template <Sym S>
void hbmv(auto layout, auto Uplo, auto N, auto K, auto alpha, auto A, auto lda, auto X, auto incX, auto beta, auto Y,
          auto incY) {
  if (route::inside_local()) return route::call_local<S>(layout, Uplo, N, K, alpha, A, lda, X, incX, beta, Y, incY);
  F77Call2 f;
  const Verdict v = plan::hbmv(detail::dtype_of<S>(), layout, Uplo, N, K, lda, incX, incY, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  if (f.x_copy && incX == 0) [[unlikely]] {
    const auto xs = detail::repeated<S>(X, N);
    return route::local<S>(layout, Uplo, N, K, alpha, A, lda, static_cast<decltype(X)>(xs.data()), decltype(incX)(1),
                           beta, Y, incY);
  }
  route::local<S>(layout, Uplo, N, K, alpha, A, lda, X, incX, beta, Y, incY);
}

template <Sym S>
void spmv(auto layout, auto Uplo, auto N, auto alpha, auto Ap, auto X, auto incX, auto beta, auto Y, auto incY) {
  if (route::inside_local()) return route::call_local<S>(layout, Uplo, N, alpha, Ap, X, incX, beta, Y, incY);
  F77Call2 f;
  const Verdict v = plan::spmv(detail::dtype_of<S>(), layout, Uplo, N, incX, incY, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  route::local<S>(layout, Uplo, N, alpha, Ap, X, incX, beta, Y, incY);
}

template <Sym S>
void hpmv(auto layout, auto Uplo, auto N, auto alpha, auto Ap, auto X, auto incX, auto beta, auto Y, auto incY) {
  if (route::inside_local()) return route::call_local<S>(layout, Uplo, N, alpha, Ap, X, incX, beta, Y, incY);
  F77Call2 f;
  const Verdict v = plan::hpmv(detail::dtype_of<S>(), layout, Uplo, N, incX, incY, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  if (f.x_copy && incX == 0) [[unlikely]] {
    const auto xs = detail::repeated<S>(X, N);
    return route::local<S>(layout, Uplo, N, alpha, Ap, static_cast<decltype(X)>(xs.data()), decltype(incX)(1), beta, Y,
                           incY);
  }
  route::local<S>(layout, Uplo, N, alpha, Ap, X, incX, beta, Y, incY);
}

// Triangular Level 2: trmv/trsv (A, lda), tbmv/tbsv (K, A, lda), tpmv/tpsv (Ap).
template <Sym S>
void trmv(auto layout, auto Uplo, auto TransA, auto Diag, auto N, auto A, auto lda, auto X, auto incX) {
  if (route::inside_local()) return route::call_local<S>(layout, Uplo, TransA, Diag, N, A, lda, X, incX);
  F77Call2 f;
  const Verdict v = plan::trmv(detail::dtype_of<S>(), layout, Uplo, TransA, Diag, N, lda, incX, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  route::local<S>(layout, Uplo, TransA, Diag, N, A, lda, X, incX);
}

template <Sym S>
void trsv(auto layout, auto Uplo, auto TransA, auto Diag, auto N, auto A, auto lda, auto X, auto incX) {
  if (route::inside_local()) return route::call_local<S>(layout, Uplo, TransA, Diag, N, A, lda, X, incX);
  F77Call2 f;
  const Verdict v = plan::trsv(detail::dtype_of<S>(), layout, Uplo, TransA, Diag, N, lda, incX, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  route::local<S>(layout, Uplo, TransA, Diag, N, A, lda, X, incX);
}

template <Sym S>
void tbmv(auto layout, auto Uplo, auto TransA, auto Diag, auto N, auto K, auto A, auto lda, auto X, auto incX) {
  if (route::inside_local()) return route::call_local<S>(layout, Uplo, TransA, Diag, N, K, A, lda, X, incX);
  F77Call2 f;
  const Verdict v = plan::tbmv(detail::dtype_of<S>(), layout, Uplo, TransA, Diag, N, K, lda, incX, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  route::local<S>(layout, Uplo, TransA, Diag, N, K, A, lda, X, incX);
}

template <Sym S>
void tbsv(auto layout, auto Uplo, auto TransA, auto Diag, auto N, auto K, auto A, auto lda, auto X, auto incX) {
  if (route::inside_local()) return route::call_local<S>(layout, Uplo, TransA, Diag, N, K, A, lda, X, incX);
  F77Call2 f;
  const Verdict v = plan::tbsv(detail::dtype_of<S>(), layout, Uplo, TransA, Diag, N, K, lda, incX, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  route::local<S>(layout, Uplo, TransA, Diag, N, K, A, lda, X, incX);
}

template <Sym S>
void tpmv(auto layout, auto Uplo, auto TransA, auto Diag, auto N, auto Ap, auto X, auto incX) {
  if (route::inside_local()) return route::call_local<S>(layout, Uplo, TransA, Diag, N, Ap, X, incX);
  F77Call2 f;
  const Verdict v = plan::tpmv(detail::dtype_of<S>(), layout, Uplo, TransA, Diag, N, incX, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  route::local<S>(layout, Uplo, TransA, Diag, N, Ap, X, incX);
}

template <Sym S>
void tpsv(auto layout, auto Uplo, auto TransA, auto Diag, auto N, auto Ap, auto X, auto incX) {
  if (route::inside_local()) return route::call_local<S>(layout, Uplo, TransA, Diag, N, Ap, X, incX);
  F77Call2 f;
  const Verdict v = plan::tpsv(detail::dtype_of<S>(), layout, Uplo, TransA, Diag, N, incX, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  route::local<S>(layout, Uplo, TransA, Diag, N, Ap, X, incX);
}

// xger, xgeru, xgerc.
template <Sym S>
void ger(auto layout, auto M, auto N, auto alpha, auto X, auto incX, auto Y, auto incY, auto A, auto lda) {
  if (route::inside_local()) return route::call_local<S>(layout, M, N, alpha, X, incX, Y, incY, A, lda);
  F77Call2 f;
  const Verdict v = plan::ger(detail::dtype_of<S>(), layout, detail::is_gerc<S>(), M, N, incX, incY, lda, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  if (f.y_copy && incY == 0) [[unlikely]] {
    const auto ys = detail::repeated<S>(Y, N);
    return route::local<S>(layout, M, N, alpha, X, incX, static_cast<decltype(Y)>(ys.data()), decltype(incY)(1), A,
                           lda);
  }
  route::local<S>(layout, M, N, alpha, X, incX, Y, incY, A, lda);
}

template <Sym S>
void syr(auto layout, auto Uplo, auto N, auto alpha, auto X, auto incX, auto A, auto lda) {
  if (route::inside_local()) return route::call_local<S>(layout, Uplo, N, alpha, X, incX, A, lda);
  F77Call2 f;
  const Verdict v = plan::syr(detail::dtype_of<S>(), layout, Uplo, N, incX, lda, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  route::local<S>(layout, Uplo, N, alpha, X, incX, A, lda);
}

template <Sym S>
void her(auto layout, auto Uplo, auto N, auto alpha, auto X, auto incX, auto A, auto lda) {
  if (route::inside_local()) return route::call_local<S>(layout, Uplo, N, alpha, X, incX, A, lda);
  F77Call2 f;
  const Verdict v = plan::her(detail::dtype_of<S>(), layout, Uplo, N, incX, lda, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  if (f.x_copy && incX == 0) [[unlikely]] {
    const auto xs = detail::repeated<S>(X, N);
    return route::local<S>(layout, Uplo, N, alpha, static_cast<decltype(X)>(xs.data()), decltype(incX)(1), A, lda);
  }
  route::local<S>(layout, Uplo, N, alpha, X, incX, A, lda);
}

template <Sym S>
void spr(auto layout, auto Uplo, auto N, auto alpha, auto X, auto incX, auto Ap) {
  if (route::inside_local()) return route::call_local<S>(layout, Uplo, N, alpha, X, incX, Ap);
  F77Call2 f;
  const Verdict v = plan::spr(detail::dtype_of<S>(), layout, Uplo, N, incX, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  route::local<S>(layout, Uplo, N, alpha, X, incX, Ap);
}

template <Sym S>
void hpr(auto layout, auto Uplo, auto N, auto alpha, auto X, auto incX, auto Ap) {
  if (route::inside_local()) return route::call_local<S>(layout, Uplo, N, alpha, X, incX, Ap);
  F77Call2 f;
  const Verdict v = plan::hpr(detail::dtype_of<S>(), layout, Uplo, N, incX, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  if (f.x_copy && incX == 0) [[unlikely]] {
    const auto xs = detail::repeated<S>(X, N);
    return route::local<S>(layout, Uplo, N, alpha, static_cast<decltype(X)>(xs.data()), decltype(incX)(1), Ap);
  }
  route::local<S>(layout, Uplo, N, alpha, X, incX, Ap);
}

template <Sym S>
void syr2(auto layout, auto Uplo, auto N, auto alpha, auto X, auto incX, auto Y, auto incY, auto A, auto lda) {
  if (route::inside_local()) return route::call_local<S>(layout, Uplo, N, alpha, X, incX, Y, incY, A, lda);
  F77Call2 f;
  const Verdict v = plan::syr2(detail::dtype_of<S>(), layout, Uplo, N, incX, incY, lda, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  route::local<S>(layout, Uplo, N, alpha, X, incX, Y, incY, A, lda);
}

template <Sym S>
void her2(auto layout, auto Uplo, auto N, auto alpha, auto X, auto incX, auto Y, auto incY, auto A, auto lda) {
  if (route::inside_local()) return route::call_local<S>(layout, Uplo, N, alpha, X, incX, Y, incY, A, lda);
  F77Call2 f;
  const Verdict v = plan::her2(detail::dtype_of<S>(), layout, Uplo, N, incX, incY, lda, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  if (f.x_copy && (incX == 0 || incY == 0)) [[unlikely]] {
    const auto xs = detail::repeated<S>(X, incX == 0 ? N : 0);
    const auto ys = detail::repeated<S>(Y, incY == 0 ? N : 0);
    return route::local<S>(layout, Uplo, N, alpha, incX == 0 ? static_cast<decltype(X)>(xs.data()) : X,
                           incX == 0 ? decltype(incX)(1) : incX, incY == 0 ? static_cast<decltype(Y)>(ys.data()) : Y,
                           incY == 0 ? decltype(incY)(1) : incY, A, lda);
  }
  route::local<S>(layout, Uplo, N, alpha, X, incX, Y, incY, A, lda);
}

template <Sym S>
void spr2(auto layout, auto Uplo, auto N, auto alpha, auto X, auto incX, auto Y, auto incY, auto Ap) {
  if (route::inside_local()) return route::call_local<S>(layout, Uplo, N, alpha, X, incX, Y, incY, Ap);
  F77Call2 f;
  const Verdict v = plan::spr2(detail::dtype_of<S>(), layout, Uplo, N, incX, incY, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  route::local<S>(layout, Uplo, N, alpha, X, incX, Y, incY, Ap);
}

template <Sym S>
void hpr2(auto layout, auto Uplo, auto N, auto alpha, auto X, auto incX, auto Y, auto incY, auto Ap) {
  if (route::inside_local()) return route::call_local<S>(layout, Uplo, N, alpha, X, incX, Y, incY, Ap);
  F77Call2 f;
  const Verdict v = plan::hpr2(detail::dtype_of<S>(), layout, Uplo, N, incX, incY, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  if (f.x_copy && (incX == 0 || incY == 0)) [[unlikely]] {
    const auto xs = detail::repeated<S>(X, incX == 0 ? N : 0);
    const auto ys = detail::repeated<S>(Y, incY == 0 ? N : 0);
    return route::local<S>(layout, Uplo, N, alpha, incX == 0 ? static_cast<decltype(X)>(xs.data()) : X,
                           incX == 0 ? decltype(incX)(1) : incX, incY == 0 ? static_cast<decltype(Y)>(ys.data()) : Y,
                           incY == 0 ? decltype(incY)(1) : incY, Ap);
  }
  route::local<S>(layout, Uplo, N, alpha, X, incX, Y, incY, Ap);
}

// ------------------------------------------------------------------------------------ Level 3

template <Sym S>
void gemm(auto layout, auto TransA, auto TransB, auto M, auto N, auto K, auto alpha, auto A, auto lda, auto B, auto ldb,
          auto beta, auto C, auto ldc) {
  if (route::inside_local())
    return route::call_local<S>(layout, TransA, TransB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  constexpr Dtype dt = detail::dtype_of<S>();
  F77Call3 f;
  const Verdict v = plan::gemm(dt, layout, TransA, TransB, M, N, K, lda, ldb, ldc, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  f.x.alpha = detail::scalar<dt>(alpha);
  f.x.beta = detail::scalar<dt>(beta);
  route::run_level3<S>(f.x, f.swap_ab ? B : A, f.swap_ab ? A : B, C, layout, TransA, TransB, M, N, K, alpha, A, lda, B,
                       ldb, beta, C, ldc);
}

template <Sym S>
void symm(auto layout, auto Side, auto Uplo, auto M, auto N, auto alpha, auto A, auto lda, auto B, auto ldb, auto beta,
          auto C, auto ldc) {
  if (route::inside_local()) return route::call_local<S>(layout, Side, Uplo, M, N, alpha, A, lda, B, ldb, beta, C, ldc);
  constexpr Dtype dt = detail::dtype_of<S>();
  F77Call3 f;
  const Verdict v = plan::symm(dt, layout, Side, Uplo, M, N, lda, ldb, ldc, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  f.x.alpha = detail::scalar<dt>(alpha);
  f.x.beta = detail::scalar<dt>(beta);
  route::run_level3<S>(f.x, A, B, C, layout, Side, Uplo, M, N, alpha, A, lda, B, ldb, beta, C, ldc);
}

template <Sym S>
void hemm(auto layout, auto Side, auto Uplo, auto M, auto N, auto alpha, auto A, auto lda, auto B, auto ldb, auto beta,
          auto C, auto ldc) {
  if (route::inside_local()) return route::call_local<S>(layout, Side, Uplo, M, N, alpha, A, lda, B, ldb, beta, C, ldc);
  constexpr Dtype dt = detail::dtype_of<S>();
  F77Call3 f;
  const Verdict v = plan::hemm(dt, layout, Side, Uplo, M, N, lda, ldb, ldc, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  f.x.alpha = detail::scalar<dt>(alpha);
  f.x.beta = detail::scalar<dt>(beta);
  route::run_level3<S>(f.x, A, B, C, layout, Side, Uplo, M, N, alpha, A, lda, B, ldb, beta, C, ldc);
}

// syrk: alpha/beta are values for real types, pointers for complex ones.
template <Sym S>
void syrk(auto layout, auto Uplo, auto Trans, auto N, auto K, auto alpha, auto A, auto lda, auto beta, auto C,
          auto ldc) {
  if (route::inside_local()) return route::call_local<S>(layout, Uplo, Trans, N, K, alpha, A, lda, beta, C, ldc);
  constexpr Dtype dt = detail::dtype_of<S>();
  F77Call3 f;
  const Verdict v = plan::syrk(dt, layout, Uplo, Trans, N, K, lda, ldc, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  f.x.alpha = detail::scalar<dt>(alpha);
  f.x.beta = detail::scalar<dt>(beta);
  const auto trans = f.local_trans ? static_cast<decltype(Trans)>(f.local_trans) : Trans;
  route::run_level3<S>(f.x, A, nullptr, C, layout, Uplo, trans, N, K, alpha, A, lda, beta, C, ldc);
}

// herk: alpha and beta are real values.
template <Sym S>
void herk(auto layout, auto Uplo, auto Trans, auto N, auto K, auto alpha, auto A, auto lda, auto beta, auto C,
          auto ldc) {
  if (route::inside_local()) return route::call_local<S>(layout, Uplo, Trans, N, K, alpha, A, lda, beta, C, ldc);
  constexpr Dtype dt = detail::dtype_of<S>();
  F77Call3 f;
  const Verdict v = plan::herk(dt, layout, Uplo, Trans, N, K, lda, ldc, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  f.x.alpha = detail::scalar<dt>(alpha);
  f.x.beta = detail::scalar<dt>(beta);
  const auto trans = f.local_trans ? static_cast<decltype(Trans)>(f.local_trans) : Trans;
  route::run_level3<S>(f.x, A, nullptr, C, layout, Uplo, trans, N, K, alpha, A, lda, beta, C, ldc);
}

template <Sym S>
void syr2k(auto layout, auto Uplo, auto Trans, auto N, auto K, auto alpha, auto A, auto lda, auto B, auto ldb,
           auto beta, auto C, auto ldc) {
  if (route::inside_local())
    return route::call_local<S>(layout, Uplo, Trans, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  constexpr Dtype dt = detail::dtype_of<S>();
  F77Call3 f;
  const Verdict v = plan::syr2k(dt, layout, Uplo, Trans, N, K, lda, ldb, ldc, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  f.x.alpha = detail::scalar<dt>(alpha);
  f.x.beta = detail::scalar<dt>(beta);
  const auto trans = f.local_trans ? static_cast<decltype(Trans)>(f.local_trans) : Trans;
  route::run_level3<S>(f.x, A, B, C, layout, Uplo, trans, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// her2k: alpha complex (pointer), beta real (value); row-major passes conj(alpha) on.
template <Sym S>
void her2k(auto layout, auto Uplo, auto Trans, auto N, auto K, auto alpha, auto A, auto lda, auto B, auto ldb,
           auto beta, auto C, auto ldc) {
  if (route::inside_local())
    return route::call_local<S>(layout, Uplo, Trans, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  constexpr Dtype dt = detail::dtype_of<S>();
  F77Call3 f;
  const Verdict v = plan::her2k(dt, layout, Uplo, Trans, N, K, lda, ldb, ldc, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  f.x.alpha = detail::scalar<dt>(alpha);
  if (f.conj_alpha) f.x.alpha = std::conj(f.x.alpha);
  f.x.beta = detail::scalar<dt>(beta);
  const auto trans = f.local_trans ? static_cast<decltype(Trans)>(f.local_trans) : Trans;
  route::run_level3<S>(f.x, A, B, C, layout, Uplo, trans, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template <Sym S>
void trmm(auto layout, auto Side, auto Uplo, auto TransA, auto Diag, auto M, auto N, auto alpha, auto A, auto lda,
          auto B, auto ldb) {
  if (route::inside_local()) return route::call_local<S>(layout, Side, Uplo, TransA, Diag, M, N, alpha, A, lda, B, ldb);
  constexpr Dtype dt = detail::dtype_of<S>();
  F77Call3 f;
  const Verdict v = plan::trmm(dt, layout, Side, Uplo, TransA, Diag, M, N, lda, ldb, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  f.x.alpha = detail::scalar<dt>(alpha);
  route::run_level3<S>(f.x, A, nullptr, B, layout, Side, Uplo, TransA, Diag, M, N, alpha, A, lda, B, ldb);
}

template <Sym S>
void trsm(auto layout, auto Side, auto Uplo, auto TransA, auto Diag, auto M, auto N, auto alpha, auto A, auto lda,
          auto B, auto ldb) {
  if (route::inside_local()) return route::call_local<S>(layout, Side, Uplo, TransA, Diag, M, N, alpha, A, lda, B, ldb);
  constexpr Dtype dt = detail::dtype_of<S>();
  F77Call3 f;
  const Verdict v = plan::trsm(dt, layout, Side, Uplo, TransA, Diag, M, N, lda, ldb, f);
  if (!v.ok()) [[unlikely]]
    return detail::report<S>(v);
  detail::leave();
  f.x.alpha = detail::scalar<dt>(alpha);
  route::run_level3<S>(f.x, A, nullptr, B, layout, Side, Uplo, TransA, Diag, M, N, alpha, A, lda, B, ldb);
}

}  // namespace rcpu::cblas
