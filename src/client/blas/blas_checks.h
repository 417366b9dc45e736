// The argument checks of the reference (netlib) BLAS, Level 2 and Level 3.
//
// One function per routine family of spec/offload/blas.txt. Each takes the precision and the
// arguments the generator lists for the family (options already upper-cased, as LSAME compares
// them; integers widened to 64 bits) and returns the INFO the reference routine passes to XERBLA:
// the position of the first invalid argument in the Fortran argument list, or 0 when the call is
// valid. The tests are made in the reference order, so the first failing one wins exactly as in
// netlib. Verified against Debian's libblas.so.3 (LAPACK 3.11) by tests/unit/blas_checks_test.cpp.
#pragma once

#include <cstdint>

#include "common/level3.h"

namespace rcpu::checks {

namespace detail {
inline constexpr std::int64_t max1(std::int64_t v) { return v > 1 ? v : 1; }
inline constexpr bool is_ntc(char t) { return t == 'N' || t == 'T' || t == 'C'; }
inline constexpr bool is_ul(char u) { return u == 'U' || u == 'L'; }
inline constexpr bool is_diag(char d) { return d == 'U' || d == 'N'; }
inline constexpr bool is_side(char s) { return s == 'L' || s == 'R'; }
}  // namespace detail

// ---------------------------------------------------------------- Level 2

// xGEMV(TRANS, M, N, ALPHA, A, LDA, X, INCX, BETA, Y, INCY)
inline int gemv(Dtype, char trans, std::int64_t m, std::int64_t n, std::int64_t lda, std::int64_t incx,
                std::int64_t incy) {
  if (!detail::is_ntc(trans)) return 1;
  if (m < 0) return 2;
  if (n < 0) return 3;
  if (lda < detail::max1(m)) return 6;
  if (incx == 0) return 8;
  if (incy == 0) return 11;
  return 0;
}

// xGBMV(TRANS, M, N, KL, KU, ALPHA, A, LDA, X, INCX, BETA, Y, INCY)
inline int gbmv(Dtype, char trans, std::int64_t m, std::int64_t n, std::int64_t kl, std::int64_t ku, std::int64_t lda,
                std::int64_t incx, std::int64_t incy) {
  if (!detail::is_ntc(trans)) return 1;
  if (m < 0) return 2;
  if (n < 0) return 3;
  if (kl < 0) return 4;
  if (ku < 0) return 5;
  if (lda < kl + ku + 1) return 8;
  if (incx == 0) return 10;
  if (incy == 0) return 13;
  return 0;
}

// xSYMV / xHEMV(UPLO, N, ALPHA, A, LDA, X, INCX, BETA, Y, INCY)
inline int symv(Dtype, char uplo, std::int64_t n, std::int64_t lda, std::int64_t incx, std::int64_t incy) {
  if (!detail::is_ul(uplo)) return 1;
  if (n < 0) return 2;
  if (lda < detail::max1(n)) return 5;
  if (incx == 0) return 7;
  if (incy == 0) return 10;
  return 0;
}
inline int hemv(Dtype dt, char uplo, std::int64_t n, std::int64_t lda, std::int64_t incx, std::int64_t incy) {
  return symv(dt, uplo, n, lda, incx, incy);
}

// xSBMV / xHBMV(UPLO, N, K, ALPHA, A, LDA, X, INCX, BETA, Y, INCY)
inline int sbmv(Dtype, char uplo, std::int64_t n, std::int64_t k, std::int64_t lda, std::int64_t incx,
                std::int64_t incy) {
  if (!detail::is_ul(uplo)) return 1;
  if (n < 0) return 2;
  if (k < 0) return 3;
  if (lda < k + 1) return 6;
  if (incx == 0) return 8;
  if (incy == 0) return 11;
  return 0;
}
inline int hbmv(Dtype dt, char uplo, std::int64_t n, std::int64_t k, std::int64_t lda, std::int64_t incx,
                std::int64_t incy) {
  return sbmv(dt, uplo, n, k, lda, incx, incy);
}

// xSPMV / xHPMV(UPLO, N, ALPHA, AP, X, INCX, BETA, Y, INCY)
inline int spmv(Dtype, char uplo, std::int64_t n, std::int64_t incx, std::int64_t incy) {
  if (!detail::is_ul(uplo)) return 1;
  if (n < 0) return 2;
  if (incx == 0) return 6;
  if (incy == 0) return 9;
  return 0;
}
inline int hpmv(Dtype dt, char uplo, std::int64_t n, std::int64_t incx, std::int64_t incy) {
  return spmv(dt, uplo, n, incx, incy);
}

// xTRMV / xTRSV(UPLO, TRANS, DIAG, N, A, LDA, X, INCX)
inline int trmv(Dtype, char uplo, char trans, char diag, std::int64_t n, std::int64_t lda, std::int64_t incx) {
  if (!detail::is_ul(uplo)) return 1;
  if (!detail::is_ntc(trans)) return 2;
  if (!detail::is_diag(diag)) return 3;
  if (n < 0) return 4;
  if (lda < detail::max1(n)) return 6;
  if (incx == 0) return 8;
  return 0;
}
inline int trsv(Dtype dt, char uplo, char trans, char diag, std::int64_t n, std::int64_t lda, std::int64_t incx) {
  return trmv(dt, uplo, trans, diag, n, lda, incx);
}

// xTBMV / xTBSV(UPLO, TRANS, DIAG, N, K, A, LDA, X, INCX)
inline int tbmv(Dtype, char uplo, char trans, char diag, std::int64_t n, std::int64_t k, std::int64_t lda,
                std::int64_t incx) {
  if (!detail::is_ul(uplo)) return 1;
  if (!detail::is_ntc(trans)) return 2;
  if (!detail::is_diag(diag)) return 3;
  if (n < 0) return 4;
  if (k < 0) return 5;
  if (lda < k + 1) return 7;
  if (incx == 0) return 9;
  return 0;
}
inline int tbsv(Dtype dt, char uplo, char trans, char diag, std::int64_t n, std::int64_t k, std::int64_t lda,
                std::int64_t incx) {
  return tbmv(dt, uplo, trans, diag, n, k, lda, incx);
}

// xTPMV / xTPSV(UPLO, TRANS, DIAG, N, AP, X, INCX)
inline int tpmv(Dtype, char uplo, char trans, char diag, std::int64_t n, std::int64_t incx) {
  if (!detail::is_ul(uplo)) return 1;
  if (!detail::is_ntc(trans)) return 2;
  if (!detail::is_diag(diag)) return 3;
  if (n < 0) return 4;
  if (incx == 0) return 7;
  return 0;
}
inline int tpsv(Dtype dt, char uplo, char trans, char diag, std::int64_t n, std::int64_t incx) {
  return tpmv(dt, uplo, trans, diag, n, incx);
}

// xGER / xGERU / xGERC(M, N, ALPHA, X, INCX, Y, INCY, A, LDA)
inline int ger(Dtype, std::int64_t m, std::int64_t n, std::int64_t incx, std::int64_t incy, std::int64_t lda) {
  if (m < 0) return 1;
  if (n < 0) return 2;
  if (incx == 0) return 5;
  if (incy == 0) return 7;
  if (lda < detail::max1(m)) return 9;
  return 0;
}

// xSYR / xHER(UPLO, N, ALPHA, X, INCX, A, LDA)
inline int syr(Dtype, char uplo, std::int64_t n, std::int64_t incx, std::int64_t lda) {
  if (!detail::is_ul(uplo)) return 1;
  if (n < 0) return 2;
  if (incx == 0) return 5;
  if (lda < detail::max1(n)) return 7;
  return 0;
}
inline int her(Dtype dt, char uplo, std::int64_t n, std::int64_t incx, std::int64_t lda) {
  return syr(dt, uplo, n, incx, lda);
}

// xSPR / xHPR(UPLO, N, ALPHA, X, INCX, AP)
inline int spr(Dtype, char uplo, std::int64_t n, std::int64_t incx) {
  if (!detail::is_ul(uplo)) return 1;
  if (n < 0) return 2;
  if (incx == 0) return 5;
  return 0;
}
inline int hpr(Dtype dt, char uplo, std::int64_t n, std::int64_t incx) { return spr(dt, uplo, n, incx); }

// xSYR2 / xHER2(UPLO, N, ALPHA, X, INCX, Y, INCY, A, LDA)
inline int syr2(Dtype, char uplo, std::int64_t n, std::int64_t incx, std::int64_t incy, std::int64_t lda) {
  if (!detail::is_ul(uplo)) return 1;
  if (n < 0) return 2;
  if (incx == 0) return 5;
  if (incy == 0) return 7;
  if (lda < detail::max1(n)) return 9;
  return 0;
}
inline int her2(Dtype dt, char uplo, std::int64_t n, std::int64_t incx, std::int64_t incy, std::int64_t lda) {
  return syr2(dt, uplo, n, incx, incy, lda);
}

// xSPR2 / xHPR2(UPLO, N, ALPHA, X, INCX, Y, INCY, AP)
inline int spr2(Dtype, char uplo, std::int64_t n, std::int64_t incx, std::int64_t incy) {
  if (!detail::is_ul(uplo)) return 1;
  if (n < 0) return 2;
  if (incx == 0) return 5;
  if (incy == 0) return 7;
  return 0;
}
inline int hpr2(Dtype dt, char uplo, std::int64_t n, std::int64_t incx, std::int64_t incy) {
  return spr2(dt, uplo, n, incx, incy);
}

// ---------------------------------------------------------------- Level 3

// xGEMM(TRANSA, TRANSB, M, N, K, ALPHA, A, LDA, B, LDB, BETA, C, LDC)
inline int gemm(Dtype, char transa, char transb, std::int64_t m, std::int64_t n, std::int64_t k, std::int64_t lda,
                std::int64_t ldb, std::int64_t ldc) {
  const std::int64_t nrowa = transa == 'N' ? m : k;
  const std::int64_t nrowb = transb == 'N' ? k : n;
  if (!detail::is_ntc(transa)) return 1;
  if (!detail::is_ntc(transb)) return 2;
  if (m < 0) return 3;
  if (n < 0) return 4;
  if (k < 0) return 5;
  if (lda < detail::max1(nrowa)) return 8;
  if (ldb < detail::max1(nrowb)) return 10;
  if (ldc < detail::max1(m)) return 13;
  return 0;
}

// xSYMM / xHEMM(SIDE, UPLO, M, N, ALPHA, A, LDA, B, LDB, BETA, C, LDC)
inline int symm(Dtype, char side, char uplo, std::int64_t m, std::int64_t n, std::int64_t lda, std::int64_t ldb,
                std::int64_t ldc) {
  const std::int64_t nrowa = side == 'L' ? m : n;
  if (!detail::is_side(side)) return 1;
  if (!detail::is_ul(uplo)) return 2;
  if (m < 0) return 3;
  if (n < 0) return 4;
  if (lda < detail::max1(nrowa)) return 7;
  if (ldb < detail::max1(m)) return 9;
  if (ldc < detail::max1(m)) return 12;
  return 0;
}
inline int hemm(Dtype dt, char side, char uplo, std::int64_t m, std::int64_t n, std::int64_t lda, std::int64_t ldb,
                std::int64_t ldc) {
  return symm(dt, side, uplo, m, n, lda, ldb, ldc);
}

namespace detail {
// TRANS accepted by the rank-k updates: real xSYRK/xSYR2K take N, T and C; complex xSYRK/xSYR2K
// only N and T; xHERK/xHER2K only N and C.
inline constexpr bool syrk_trans_ok(Dtype dt, char t) { return t == 'N' || t == 'T' || (t == 'C' && !is_complex(dt)); }
inline constexpr bool herk_trans_ok(char t) { return t == 'N' || t == 'C'; }
inline int rank_k(bool trans_ok, char uplo, char trans, std::int64_t n, std::int64_t k, std::int64_t lda) {
  const std::int64_t nrowa = trans == 'N' ? n : k;
  if (!is_ul(uplo)) return 1;
  if (!trans_ok) return 2;
  if (n < 0) return 3;
  if (k < 0) return 4;
  if (lda < max1(nrowa)) return 7;
  return 0;
}
}  // namespace detail

// xSYRK / xHERK(UPLO, TRANS, N, K, ALPHA, A, LDA, BETA, C, LDC)
inline int syrk(Dtype dt, char uplo, char trans, std::int64_t n, std::int64_t k, std::int64_t lda, std::int64_t ldc) {
  if (int info = detail::rank_k(detail::syrk_trans_ok(dt, trans), uplo, trans, n, k, lda)) return info;
  if (ldc < detail::max1(n)) return 10;
  return 0;
}
inline int herk(Dtype, char uplo, char trans, std::int64_t n, std::int64_t k, std::int64_t lda, std::int64_t ldc) {
  if (int info = detail::rank_k(detail::herk_trans_ok(trans), uplo, trans, n, k, lda)) return info;
  if (ldc < detail::max1(n)) return 10;
  return 0;
}

// xSYR2K / xHER2K(UPLO, TRANS, N, K, ALPHA, A, LDA, B, LDB, BETA, C, LDC)
inline int syr2k(Dtype dt, char uplo, char trans, std::int64_t n, std::int64_t k, std::int64_t lda, std::int64_t ldb,
                 std::int64_t ldc) {
  if (int info = detail::rank_k(detail::syrk_trans_ok(dt, trans), uplo, trans, n, k, lda)) return info;
  if (ldb < detail::max1(trans == 'N' ? n : k)) return 9;
  if (ldc < detail::max1(n)) return 12;
  return 0;
}
inline int her2k(Dtype, char uplo, char trans, std::int64_t n, std::int64_t k, std::int64_t lda, std::int64_t ldb,
                 std::int64_t ldc) {
  if (int info = detail::rank_k(detail::herk_trans_ok(trans), uplo, trans, n, k, lda)) return info;
  if (ldb < detail::max1(trans == 'N' ? n : k)) return 9;
  if (ldc < detail::max1(n)) return 12;
  return 0;
}

// xTRMM / xTRSM(SIDE, UPLO, TRANSA, DIAG, M, N, ALPHA, A, LDA, B, LDB)
inline int trmm(Dtype, char side, char uplo, char transa, char diag, std::int64_t m, std::int64_t n, std::int64_t lda,
                std::int64_t ldb) {
  const std::int64_t nrowa = side == 'L' ? m : n;
  if (!detail::is_side(side)) return 1;
  if (!detail::is_ul(uplo)) return 2;
  if (!detail::is_ntc(transa)) return 3;
  if (!detail::is_diag(diag)) return 4;
  if (m < 0) return 5;
  if (n < 0) return 6;
  if (lda < detail::max1(nrowa)) return 9;
  if (ldb < detail::max1(m)) return 11;
  return 0;
}
inline int trsm(Dtype dt, char side, char uplo, char transa, char diag, std::int64_t m, std::int64_t n,
                std::int64_t lda, std::int64_t ldb) {
  return trmm(dt, side, uplo, transa, diag, m, n, lda, ldb);
}

}  // namespace rcpu::checks
