#include "client/blas/local_columns.h"

#include <complex>
#include <stdexcept>
#include <type_traits>

#include "client/blas/blas_route.h"

namespace rcpu::route {
namespace {

// The Fortran entry points of one scalar type (real types have no hemm).
template <class T>
struct Fortran;
template <>
struct Fortran<float> {
  static constexpr Sym gemm = Sym::sgemm_, symm = Sym::ssymm_, hemm = Sym::ssymm_, trmm = Sym::strmm_,
                       trsm = Sym::strsm_;
};
template <>
struct Fortran<double> {
  static constexpr Sym gemm = Sym::dgemm_, symm = Sym::dsymm_, hemm = Sym::dsymm_, trmm = Sym::dtrmm_,
                       trsm = Sym::dtrsm_;
};
template <>
struct Fortran<std::complex<float>> {
  static constexpr Sym gemm = Sym::cgemm_, symm = Sym::csymm_, hemm = Sym::chemm_, trmm = Sym::ctrmm_,
                       trsm = Sym::ctrsm_;
};
template <>
struct Fortran<std::complex<double>> {
  static constexpr Sym gemm = Sym::zgemm_, symm = Sym::zsymm_, hemm = Sym::zhemm_, trmm = Sym::ztrmm_,
                       trsm = Sym::ztrsm_;
};

// Level3Args widened the scalars; narrowing them back is exact.
template <class T>
T narrow(std::complex<double> v) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>)
    return T(v.real());
  else
    return T(typename T::value_type(v.real()), typename T::value_type(v.imag()));
}

// The Fortran prototypes (spec/abi/blas.txt) type complex arrays and scalars by their real part.
template <class T>
struct RealOf {
  using type = T;
};
template <class R>
struct RealOf<std::complex<R>> {
  using type = R;
};
template <class T>
using Elem = typename RealOf<T>::type;

template <class T>
void run(const Level3Args& x, const void* a_, const void* b_, void* c_) {
  using F = Fortran<T>;
  const auto* a = static_cast<const Elem<T>*>(a_);
  const auto* b = static_cast<const Elem<T>*>(b_);
  auto* c = static_cast<Elem<T>*>(c_);
  char side = x.side, uplo = x.uplo, ta = x.transa, tb = x.transb, diag = x.diag;
  const blas_int m = blas_int(x.m), n = blas_int(x.n), k = blas_int(x.k);
  const blas_int lda = blas_int(x.lda), ldb = blas_int(x.ldb), ldc = blas_int(x.ldc);
  const T alpha_v = narrow<T>(x.alpha), beta_v = narrow<T>(x.beta);
  const auto* alpha = reinterpret_cast<const Elem<T>*>(&alpha_v);
  const auto* beta = reinterpret_cast<const Elem<T>*>(&beta_v);
  switch (x.family) {
    case L3Family::gemm:
      call_local<F::gemm>(&ta, &tb, &m, &n, &k, alpha, a, &lda, b, &ldb, beta, c, &ldc, blas_strlen(1), blas_strlen(1));
      return;
    case L3Family::symm:
      call_local<F::symm>(&side, &uplo, &m, &n, alpha, a, &lda, b, &ldb, beta, c, &ldc, blas_strlen(1), blas_strlen(1));
      return;
    case L3Family::hemm:
      call_local<F::hemm>(&side, &uplo, &m, &n, alpha, a, &lda, b, &ldb, beta, c, &ldc, blas_strlen(1), blas_strlen(1));
      return;
    case L3Family::trmm:
      call_local<F::trmm>(&side, &uplo, &ta, &diag, &m, &n, alpha, a, &lda, c, &ldb, blas_strlen(1), blas_strlen(1),
                          blas_strlen(1), blas_strlen(1));
      return;
    case L3Family::trsm:
      call_local<F::trsm>(&side, &uplo, &ta, &diag, &m, &n, alpha, a, &lda, c, &ldb, blas_strlen(1), blas_strlen(1),
                          blas_strlen(1), blas_strlen(1));
      return;
    default:
      throw std::logic_error("run_local_columns: not a tiled family");
  }
}

}  // namespace

void run_local_columns(const Level3Args& x, const void* a, const void* b, void* c, std::int64_t col0,
                       std::int64_t cols) {
  std::uint64_t b_off = 0, c_off = 0;
  const Level3Args sub = level3_panel(x, col0, cols, b_off, c_off);
  const std::size_t elem = element_size(x.dtype);
  const void* bp = b ? static_cast<const unsigned char*>(b) + b_off * elem : nullptr;
  void* cp = static_cast<unsigned char*>(c) + c_off * elem;
  switch (x.dtype) {
    case Dtype::s:
      return run<float>(sub, a, bp, cp);
    case Dtype::d:
      return run<double>(sub, a, bp, cp);
    case Dtype::c:
      return run<std::complex<float>>(sub, a, bp, cp);
    case Dtype::z:
      return run<std::complex<double>>(sub, a, bp, cp);
  }
}

}  // namespace rcpu::route
