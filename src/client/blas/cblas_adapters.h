// What every CBLAS adapter uses: the CBLAS entry points of the Level-2 and Level-3 families are
// generated from the spec (codegen/cblas_gen.py writes them into build/generated/blas_exports.cpp),
// each with exactly the CBLAS arguments of its prototype, and call these helpers.
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
#include <cstddef>
#include <type_traits>
#include <vector>

#include "blas_symbols.h"
#include "client/blas/blas_route.h"
#include "client/blas/cblas_plan.h"

namespace rcpu::cblas {

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

// A Level-2 vector argument as the local library gets it. netlib's CBLAS hands some row-major
// complex calls a contiguous copy of a vector (the plan's x_copy / y_copy), so it accepts an
// increment of 0 there (the vector is then x[0] repeated); the local library would reject it. In
// that case the same vector, made explicit with increment 1; otherwise the caller's own.
template <Sym S, class P, class I>
class VectorArg {
 public:
  VectorArg(bool copied, P x, I inc, I n) : ptr_(x), inc_(inc) {
    if (copied && inc == 0) [[unlikely]] {
      repeated_.assign(n > 0 ? static_cast<std::size_t>(n) : 0, *static_cast<const E*>(static_cast<const void*>(x)));
      ptr_ = static_cast<P>(repeated_.data());
      inc_ = I(1);
    }
  }
  VectorArg(const VectorArg&) = delete;
  VectorArg& operator=(const VectorArg&) = delete;
  P ptr() const { return ptr_; }
  I inc() const { return inc_; }

 private:
  using E = element_t<dtype_of<S>()>;
  std::vector<E> repeated_;
  P ptr_;
  I inc_;
};

// vector_arg<S>(f.x_copy, X, incX, N): the argument types deduced.
template <Sym S, class P, class I>
VectorArg<S, P, I> vector_arg(bool copied, P x, I inc, I n) {
  return VectorArg<S, P, I>(copied, x, inc, n);
}

}  // namespace rcpu::cblas
