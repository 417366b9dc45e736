// netlib's CBLAS decisions for the Level-3 routines (see cblas_plan.h for what they are and the
// quirks they reproduce).
#pragma once

#include "client/blas/blas_checks.h"
#include "client/blas/cblas_verdict.h"

namespace rcpu::cblas::plan {

inline void l3_init(F77Call3& f, L3Family fam, Dtype dt) {
  f.x = Level3Args{};
  f.x.family = fam;
  f.x.dtype = dt;
}

inline Verdict gemm(Dtype dt, int layout, int TransA, int TransB, i64 M, i64 N, i64 K, i64 lda, i64 ldb, i64 ldc,
                    F77Call3& f) {
  l3_init(f, L3Family::gemm, dt);
  Level3Args& x = f.x;
  const bool row = layout == kRowMajor;
  if (!row && layout != kColMajor) return layout_error(layout);
  const char ta = trans_col(TransA);
  if (!ta) return cblas_error(2, kTransAMsg, TransA, row);
  const char tb = trans_col(TransB);
  if (!tb) return cblas_error(row ? 2 : 3, kTransBMsg, TransB, row);  // netlib: 2 when row-major
  if (row) {
    f.swap_ab = true;
    x.transa = tb, x.transb = ta, x.m = N, x.n = M, x.lda = ldb, x.ldb = lda;
  } else {
    x.transa = ta, x.transb = tb, x.m = M, x.n = N, x.lda = lda, x.ldb = ldb;
  }
  x.k = K, x.ldc = ldc;
  return fortran(checks::gemm(dt, x.transa, x.transb, x.m, x.n, x.k, x.lda, x.ldb, x.ldc), row);
}

inline Verdict symm(Dtype dt, int layout, int Side, int Uplo, i64 M, i64 N, i64 lda, i64 ldb, i64 ldc, F77Call3& f,
                    bool hermitian = false) {
  l3_init(f, hermitian ? L3Family::hemm : L3Family::symm, dt);
  Level3Args& x = f.x;
  const bool row = layout == kRowMajor;
  if (!row && layout != kColMajor) return layout_error(layout);
  x.side = row ? side_row(Side) : side_col(Side);
  if (!x.side) return cblas_error(2, kSideMsg, Side, row);
  x.uplo = row ? uplo_row(Uplo) : uplo_col(Uplo);
  if (!x.uplo) return cblas_error(3, kUploMsg, Uplo, row);
  x.m = row ? N : M, x.n = row ? M : N;
  x.lda = lda, x.ldb = ldb, x.ldc = ldc;
  return fortran(checks::symm(dt, x.side, x.uplo, x.m, x.n, x.lda, x.ldb, x.ldc), row);
}
inline Verdict hemm(Dtype dt, int layout, int Side, int Uplo, i64 M, i64 N, i64 lda, i64 ldb, i64 ldc, F77Call3& f) {
  return symm(dt, layout, Side, Uplo, M, N, lda, ldb, ldc, f, true);
}

// UPLO and TRANS of the rank-k and rank-2k updates. Row-major flips both: symmetric updates map
// NoTrans -> 'T' and Trans, ConjTrans -> 'N'; Hermitian ones NoTrans -> 'C' and both others -> 'N'.
inline Verdict rank_k(Dtype dt, int layout, int Uplo, int Trans, bool hermitian, int row_uplo_pos, F77Call3& f,
                      bool& row) {
  Level3Args& x = f.x;
  row = layout == kRowMajor;
  if (!row && layout != kColMajor) return layout_error(layout);
  x.uplo = row ? uplo_row(Uplo) : uplo_col(Uplo);
  if (!x.uplo) return cblas_error(row ? row_uplo_pos : 2, kUploMsg, Uplo, row);
  if (!row) {
    x.transa = trans_col(Trans);
  } else if (Trans == kNoTrans) {
    x.transa = hermitian ? 'C' : 'T';
  } else if (Trans == kTrans || Trans == kConjTrans) {
    x.transa = 'N';
    // The local library's CBLAS follows the standard and rejects these two: give it the
    // equivalent value netlib effectively runs.
    if (hermitian && Trans == kTrans) f.local_trans = kConjTrans;
    if (!hermitian && is_complex(dt) && Trans == kConjTrans) f.local_trans = kTrans;
  } else {
    x.transa = 0;
  }
  if (!x.transa) return cblas_error(3, kTransMsg, Trans, row);
  return {};
}

inline Verdict syrk(Dtype dt, int layout, int Uplo, int Trans, i64 N, i64 K, i64 lda, i64 ldc, F77Call3& f) {
  l3_init(f, L3Family::syrk, dt);
  bool row;
  if (Verdict v = rank_k(dt, layout, Uplo, Trans, false, 3, f, row); !v.ok()) return v;
  Level3Args& x = f.x;
  x.n = N, x.k = K, x.lda = lda, x.ldc = ldc;
  return fortran(checks::syrk(dt, x.uplo, x.transa, x.n, x.k, x.lda, x.ldc), row);
}
inline Verdict herk(Dtype dt, int layout, int Uplo, int Trans, i64 N, i64 K, i64 lda, i64 ldc, F77Call3& f) {
  l3_init(f, L3Family::herk, dt);
  bool row;
  if (Verdict v = rank_k(dt, layout, Uplo, Trans, true, 3, f, row); !v.ok()) return v;
  Level3Args& x = f.x;
  x.n = N, x.k = K, x.lda = lda, x.ldc = ldc;
  return fortran(checks::herk(dt, x.uplo, x.transa, x.n, x.k, x.lda, x.ldc), row);
}
inline Verdict syr2k(Dtype dt, int layout, int Uplo, int Trans, i64 N, i64 K, i64 lda, i64 ldb, i64 ldc, F77Call3& f) {
  l3_init(f, L3Family::syr2k, dt);
  bool row;
  if (Verdict v = rank_k(dt, layout, Uplo, Trans, false, 3, f, row); !v.ok()) return v;
  Level3Args& x = f.x;
  x.n = N, x.k = K, x.lda = lda, x.ldb = ldb, x.ldc = ldc;
  return fortran(checks::syr2k(dt, x.uplo, x.transa, x.n, x.k, x.lda, x.ldb, x.ldc), row);
}
inline Verdict her2k(Dtype dt, int layout, int Uplo, int Trans, i64 N, i64 K, i64 lda, i64 ldb, i64 ldc, F77Call3& f) {
  l3_init(f, L3Family::her2k, dt);
  bool row;
  if (Verdict v = rank_k(dt, layout, Uplo, Trans, true, 2, f, row); !v.ok()) return v;
  Level3Args& x = f.x;
  f.conj_alpha = row;
  x.n = N, x.k = K, x.lda = lda, x.ldb = ldb, x.ldc = ldc;
  return fortran(checks::her2k(dt, x.uplo, x.transa, x.n, x.k, x.lda, x.ldb, x.ldc), row);
}

inline Verdict trmm(Dtype dt, int layout, int Side, int Uplo, int TransA, int Diag, i64 M, i64 N, i64 lda, i64 ldb,
                    F77Call3& f, bool solve = false) {
  l3_init(f, solve ? L3Family::trsm : L3Family::trmm, dt);
  Level3Args& x = f.x;
  const bool row = layout == kRowMajor;
  if (!row && layout != kColMajor) return layout_error(layout);
  x.side = row ? side_row(Side) : side_col(Side);
  if (!x.side) return cblas_error(2, kSideMsg, Side, row);
  x.uplo = row ? uplo_row(Uplo) : uplo_col(Uplo);
  if (!x.uplo) return cblas_error(3, kUploMsg, Uplo, row);
  x.transa = trans_col(TransA);
  if (!x.transa) return cblas_error(4, kTransMsg, TransA, row);
  x.diag = diag_of(Diag);
  if (!x.diag) {
    Verdict v = cblas_error(5, kDiagMsg, Diag, row);
    // cblas_ctrmm, column-major, lacks the return: ctrmm_ is called and rejects DIAG.
    if (!row && !solve && dt == Dtype::c) v.info = 4;
    return v;
  }
  x.m = row ? N : M, x.n = row ? M : N;
  x.lda = lda, x.ldb = ldb;
  return fortran(checks::trmm(dt, x.side, x.uplo, x.transa, x.diag, x.m, x.n, x.lda, x.ldb), row);
}
inline Verdict trsm(Dtype dt, int layout, int Side, int Uplo, int TransA, int Diag, i64 M, i64 N, i64 lda, i64 ldb,
                    F77Call3& f) {
  return trmm(dt, layout, Side, Uplo, TransA, Diag, M, N, lda, ldb, f, true);
}

}  // namespace rcpu::cblas::plan
