#include "backends/cuda/cublas_call.h"

#include <cuComplex.h>

namespace rcpu::backend::cuda {

cublasOperation_t cublas_op(char trans, Dtype t) {
  switch (trans) {
    case 'T':
      return CUBLAS_OP_T;
    case 'C':
      return is_complex(t) ? CUBLAS_OP_C : CUBLAS_OP_T;
    default:
      return CUBLAS_OP_N;
  }
}
cublasSideMode_t cublas_side(char side) { return side == 'R' ? CUBLAS_SIDE_RIGHT : CUBLAS_SIDE_LEFT; }
cublasFillMode_t cublas_fill(char uplo) { return uplo == 'L' ? CUBLAS_FILL_MODE_LOWER : CUBLAS_FILL_MODE_UPPER; }
cublasDiagType_t cublas_diag(char diag) { return diag == 'U' ? CUBLAS_DIAG_UNIT : CUBLAS_DIAG_NON_UNIT; }

namespace {

// Scalars in every precision. Level3Args widens them to complex<double>, which is exact for every
// type, so narrowing back to float is exact too.
struct Scalars {
  float s_alpha, s_beta;
  double d_alpha, d_beta;
  cuComplex c_alpha, c_beta;
  cuDoubleComplex z_alpha, z_beta;
  explicit Scalars(const Level3Args& x)
      : s_alpha(float(x.alpha.real())),
        s_beta(float(x.beta.real())),
        d_alpha(x.alpha.real()),
        d_beta(x.beta.real()),
        c_alpha(make_cuComplex(float(x.alpha.real()), float(x.alpha.imag()))),
        c_beta(make_cuComplex(float(x.beta.real()), float(x.beta.imag()))),
        z_alpha(make_cuDoubleComplex(x.alpha.real(), x.alpha.imag())),
        z_beta(make_cuDoubleComplex(x.beta.real(), x.beta.imag())) {}
};

template <class T>
const T* in(const void* p) {
  return static_cast<const T*>(p);
}
template <class T>
T* io(void* p) {
  return static_cast<T*>(p);
}

using F = float;
using D = double;
using C = cuComplex;
using Z = cuDoubleComplex;

}  // namespace

cublasStatus_t run_cublas(cublasHandle_t h, const Level3Args& x, const void* a, const void* b, void* c) {
  const Scalars k(x);
  const Dtype t = x.dtype;
  const cublasOperation_t ta = cublas_op(x.transa, t);
  const cublasOperation_t tb = cublas_op(x.transb, t);
  const cublasSideMode_t side = cublas_side(x.side);
  const cublasFillMode_t uplo = cublas_fill(x.uplo);
  const cublasDiagType_t diag = cublas_diag(x.diag);
  const std::int64_t m = x.m, n = x.n, kk = x.k, lda = x.lda, ldb = x.ldb, ldc = x.ldc;

  switch (x.family) {
    case L3Family::gemm:
      switch (t) {
        case Dtype::s:
          return cublasSgemm_v2_64(h, ta, tb, m, n, kk, &k.s_alpha, in<F>(a), lda, in<F>(b), ldb, &k.s_beta, io<F>(c),
                                   ldc);
        case Dtype::d:
          return cublasDgemm_v2_64(h, ta, tb, m, n, kk, &k.d_alpha, in<D>(a), lda, in<D>(b), ldb, &k.d_beta, io<D>(c),
                                   ldc);
        case Dtype::c:
          return cublasCgemm_v2_64(h, ta, tb, m, n, kk, &k.c_alpha, in<C>(a), lda, in<C>(b), ldb, &k.c_beta, io<C>(c),
                                   ldc);
        case Dtype::z:
          return cublasZgemm_v2_64(h, ta, tb, m, n, kk, &k.z_alpha, in<Z>(a), lda, in<Z>(b), ldb, &k.z_beta, io<Z>(c),
                                   ldc);
      }
      break;
    case L3Family::symm:
      switch (t) {
        case Dtype::s:
          return cublasSsymm_v2_64(h, side, uplo, m, n, &k.s_alpha, in<F>(a), lda, in<F>(b), ldb, &k.s_beta, io<F>(c),
                                   ldc);
        case Dtype::d:
          return cublasDsymm_v2_64(h, side, uplo, m, n, &k.d_alpha, in<D>(a), lda, in<D>(b), ldb, &k.d_beta, io<D>(c),
                                   ldc);
        case Dtype::c:
          return cublasCsymm_v2_64(h, side, uplo, m, n, &k.c_alpha, in<C>(a), lda, in<C>(b), ldb, &k.c_beta, io<C>(c),
                                   ldc);
        case Dtype::z:
          return cublasZsymm_v2_64(h, side, uplo, m, n, &k.z_alpha, in<Z>(a), lda, in<Z>(b), ldb, &k.z_beta, io<Z>(c),
                                   ldc);
      }
      break;
    case L3Family::hemm:
      switch (t) {
        case Dtype::c:
          return cublasChemm_v2_64(h, side, uplo, m, n, &k.c_alpha, in<C>(a), lda, in<C>(b), ldb, &k.c_beta, io<C>(c),
                                   ldc);
        case Dtype::z:
          return cublasZhemm_v2_64(h, side, uplo, m, n, &k.z_alpha, in<Z>(a), lda, in<Z>(b), ldb, &k.z_beta, io<Z>(c),
                                   ldc);
        default:
          return CUBLAS_STATUS_INVALID_VALUE;  // hermitian routine on real data
      }
    case L3Family::syrk:
      switch (t) {
        case Dtype::s:
          return cublasSsyrk_v2_64(h, uplo, ta, n, kk, &k.s_alpha, in<F>(a), lda, &k.s_beta, io<F>(c), ldc);
        case Dtype::d:
          return cublasDsyrk_v2_64(h, uplo, ta, n, kk, &k.d_alpha, in<D>(a), lda, &k.d_beta, io<D>(c), ldc);
        case Dtype::c:
          return cublasCsyrk_v2_64(h, uplo, ta, n, kk, &k.c_alpha, in<C>(a), lda, &k.c_beta, io<C>(c), ldc);
        case Dtype::z:
          return cublasZsyrk_v2_64(h, uplo, ta, n, kk, &k.z_alpha, in<Z>(a), lda, &k.z_beta, io<Z>(c), ldc);
      }
      break;
    case L3Family::herk:  // alpha and beta are real
      switch (t) {
        case Dtype::c:
          return cublasCherk_v2_64(h, uplo, ta, n, kk, &k.s_alpha, in<C>(a), lda, &k.s_beta, io<C>(c), ldc);
        case Dtype::z:
          return cublasZherk_v2_64(h, uplo, ta, n, kk, &k.d_alpha, in<Z>(a), lda, &k.d_beta, io<Z>(c), ldc);
        default:
          return CUBLAS_STATUS_INVALID_VALUE;
      }
    case L3Family::syr2k:
      switch (t) {
        case Dtype::s:
          return cublasSsyr2k_v2_64(h, uplo, ta, n, kk, &k.s_alpha, in<F>(a), lda, in<F>(b), ldb, &k.s_beta, io<F>(c),
                                    ldc);
        case Dtype::d:
          return cublasDsyr2k_v2_64(h, uplo, ta, n, kk, &k.d_alpha, in<D>(a), lda, in<D>(b), ldb, &k.d_beta, io<D>(c),
                                    ldc);
        case Dtype::c:
          return cublasCsyr2k_v2_64(h, uplo, ta, n, kk, &k.c_alpha, in<C>(a), lda, in<C>(b), ldb, &k.c_beta, io<C>(c),
                                    ldc);
        case Dtype::z:
          return cublasZsyr2k_v2_64(h, uplo, ta, n, kk, &k.z_alpha, in<Z>(a), lda, in<Z>(b), ldb, &k.z_beta, io<Z>(c),
                                    ldc);
      }
      break;
    case L3Family::her2k:  // alpha complex, beta real
      switch (t) {
        case Dtype::c:
          return cublasCher2k_v2_64(h, uplo, ta, n, kk, &k.c_alpha, in<C>(a), lda, in<C>(b), ldb, &k.s_beta, io<C>(c),
                                    ldc);
        case Dtype::z:
          return cublasZher2k_v2_64(h, uplo, ta, n, kk, &k.z_alpha, in<Z>(a), lda, in<Z>(b), ldb, &k.d_beta, io<Z>(c),
                                    ldc);
        default:
          return CUBLAS_STATUS_INVALID_VALUE;
      }
    case L3Family::trmm:  // B := alpha op(A) B; cuBLAS writes C, here C = B (in place)
      switch (t) {
        case Dtype::s:
          return cublasStrmm_v2_64(h, side, uplo, ta, diag, m, n, &k.s_alpha, in<F>(a), lda, io<F>(c), ldb, io<F>(c),
                                   ldb);
        case Dtype::d:
          return cublasDtrmm_v2_64(h, side, uplo, ta, diag, m, n, &k.d_alpha, in<D>(a), lda, io<D>(c), ldb, io<D>(c),
                                   ldb);
        case Dtype::c:
          return cublasCtrmm_v2_64(h, side, uplo, ta, diag, m, n, &k.c_alpha, in<C>(a), lda, io<C>(c), ldb, io<C>(c),
                                   ldb);
        case Dtype::z:
          return cublasZtrmm_v2_64(h, side, uplo, ta, diag, m, n, &k.z_alpha, in<Z>(a), lda, io<Z>(c), ldb, io<Z>(c),
                                   ldb);
      }
      break;
    case L3Family::trsm:  // B := alpha op(A)^-1 B, in place
      switch (t) {
        case Dtype::s:
          return cublasStrsm_v2_64(h, side, uplo, ta, diag, m, n, &k.s_alpha, in<F>(a), lda, io<F>(c), ldb);
        case Dtype::d:
          return cublasDtrsm_v2_64(h, side, uplo, ta, diag, m, n, &k.d_alpha, in<D>(a), lda, io<D>(c), ldb);
        case Dtype::c:
          return cublasCtrsm_v2_64(h, side, uplo, ta, diag, m, n, &k.c_alpha, in<C>(a), lda, io<C>(c), ldb);
        case Dtype::z:
          return cublasZtrsm_v2_64(h, side, uplo, ta, diag, m, n, &k.z_alpha, in<Z>(a), lda, io<Z>(c), ldb);
      }
      break;
  }
  return CUBLAS_STATUS_INVALID_VALUE;
}

cublasStatus_t run_add_scaled(cublasHandle_t h, Dtype t, std::int64_t m, std::int64_t n, std::complex<double> beta,
                              const void* x, void* c, std::int64_t ld) {
  // geam's in-place form: C = 1 * C + beta * X, with C passed as its A operand (cuBLAS allows C == A
  // when lda == ldc and A is not transposed).
  Level3Args s;
  s.alpha = {1, 0};
  s.beta = beta;
  const Scalars k(s);
  const cublasOperation_t N = CUBLAS_OP_N;
  switch (t) {
    case Dtype::s:
      return cublasSgeam_64(h, N, N, m, n, &k.s_alpha, in<F>(c), ld, &k.s_beta, in<F>(x), ld, io<F>(c), ld);
    case Dtype::d:
      return cublasDgeam_64(h, N, N, m, n, &k.d_alpha, in<D>(c), ld, &k.d_beta, in<D>(x), ld, io<D>(c), ld);
    case Dtype::c:
      return cublasCgeam_64(h, N, N, m, n, &k.c_alpha, in<C>(c), ld, &k.c_beta, in<C>(x), ld, io<C>(c), ld);
    case Dtype::z:
      return cublasZgeam_64(h, N, N, m, n, &k.z_alpha, in<Z>(c), ld, &k.z_beta, in<Z>(x), ld, io<Z>(c), ld);
  }
  return CUBLAS_STATUS_INVALID_VALUE;
}

}  // namespace rcpu::backend::cuda
