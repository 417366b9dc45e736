// netlib's CBLAS decisions for the Level-2 routines (see cblas_plan.h for what they are and the
// quirks they reproduce).
#pragma once

#include "client/blas/blas_checks.h"
#include "client/blas/cblas_verdict.h"

namespace rcpu::cblas::plan {

inline Verdict gemv(Dtype dt, int layout, int TransA, i64 M, i64 N, i64 lda, i64 incX, i64 incY, F77Call2& f) {
  const bool row = layout == kRowMajor;
  if (layout == kColMajor) {
    f.trans = trans_col(TransA);
    if (!f.trans) {
      Verdict v = cblas_error(2, kTransAMsg, TransA, false);
      if (dt == Dtype::s) {  // cblas_sgemv lacks the return: sgemv_ is called and rejects TRANS
        v.info = 1;
        v.f77_from_c = false;
      }
      return v;
    }
    f.m = M, f.n = N;
  } else if (row) {
    f.trans = trans_row(TransA);
    if (!f.trans) return cblas_error(2, kTransAMsg, TransA, true);
    f.m = N, f.n = M;
  } else {
    return layout_error(layout);
  }
  f.lda = lda, f.incx = incX, f.incy = incY;
  if (row && is_complex(dt) && TransA == kConjTrans) {
    f.conj = true;
    if (M > 0) f.x_copy = true, f.incx = 1;
  }
  return fortran(checks::gemv(dt, f.trans, f.m, f.n, f.lda, f.incx, f.incy), row);
}

inline Verdict gbmv(Dtype dt, int layout, int TransA, i64 M, i64 N, i64 KL, i64 KU, i64 lda, i64 incX, i64 incY,
                    F77Call2& f) {
  const bool row = layout == kRowMajor;
  if (layout == kColMajor) {
    f.trans = trans_col(TransA);
    if (!f.trans) return cblas_error(2, kTransAMsg, TransA, false);
    f.m = M, f.n = N, f.kl = KL, f.ku = KU;
  } else if (row) {
    f.trans = trans_row(TransA);
    if (!f.trans) return cblas_error(2, kTransAMsg, TransA, true);
    f.m = N, f.n = M, f.kl = KU, f.ku = KL;
  } else {
    return layout_error(layout);
  }
  f.lda = lda, f.incx = incX, f.incy = incY;
  if (row && is_complex(dt) && TransA == kConjTrans) {
    f.conj = true;
    if (M > 0) f.x_copy = true, f.incx = 1;
  }
  return fortran(checks::gbmv(dt, f.trans, f.m, f.n, f.kl, f.ku, f.lda, f.incx, f.incy), row);
}

// The UPLO of the symmetric/Hermitian/triangular Level-2 routines (error at position 2); for
// row-major Hermitian ones netlib conjugates x into a copy when N > 0.
inline Verdict uplo2(Dtype dt, int layout, int Uplo, bool hermitian, i64 N, F77Call2& f, bool& row) {
  row = layout == kRowMajor;
  if (layout == kColMajor) {
    f.uplo = uplo_col(Uplo);
  } else if (row) {
    f.uplo = uplo_row(Uplo);
  } else {
    return layout_error(layout);
  }
  if (!f.uplo) return cblas_error(2, kUploMsg, Uplo, row);
  f.n = N;
  (void)dt;
  if (row && hermitian) {
    f.conj = true;
    if (N > 0) f.x_copy = true;
  }
  return {};
}

inline Verdict symv(Dtype dt, int layout, int Uplo, i64 N, i64 lda, i64 incX, i64 incY, F77Call2& f,
                    bool hermitian = false) {
  bool row;
  if (Verdict v = uplo2(dt, layout, Uplo, hermitian, N, f, row); !v.ok()) return v;
  f.lda = lda, f.incx = f.x_copy ? 1 : incX, f.incy = incY;
  return fortran(checks::symv(dt, f.uplo, f.n, f.lda, f.incx, f.incy), row);
}
inline Verdict hemv(Dtype dt, int layout, int Uplo, i64 N, i64 lda, i64 incX, i64 incY, F77Call2& f) {
  return symv(dt, layout, Uplo, N, lda, incX, incY, f, true);
}

inline Verdict sbmv(Dtype dt, int layout, int Uplo, i64 N, i64 K, i64 lda, i64 incX, i64 incY, F77Call2& f,
                    bool hermitian = false) {
  bool row;
  if (Verdict v = uplo2(dt, layout, Uplo, hermitian, N, f, row); !v.ok()) return v;
  f.k = K, f.lda = lda, f.incx = f.x_copy ? 1 : incX, f.incy = incY;
  return fortran(checks::sbmv(dt, f.uplo, f.n, f.k, f.lda, f.incx, f.incy), row);
}
inline Verdict hbmv(Dtype dt, int layout, int Uplo, i64 N, i64 K, i64 lda, i64 incX, i64 incY, F77Call2& f) {
  return sbmv(dt, layout, Uplo, N, K, lda, incX, incY, f, true);
}

inline Verdict spmv(Dtype dt, int layout, int Uplo, i64 N, i64 incX, i64 incY, F77Call2& f, bool hermitian = false) {
  bool row;
  if (Verdict v = uplo2(dt, layout, Uplo, hermitian, N, f, row); !v.ok()) return v;
  f.incx = f.x_copy ? 1 : incX, f.incy = incY;
  return fortran(checks::spmv(dt, f.uplo, f.n, f.incx, f.incy), row);
}
inline Verdict hpmv(Dtype dt, int layout, int Uplo, i64 N, i64 incX, i64 incY, F77Call2& f) {
  return spmv(dt, layout, Uplo, N, incX, incY, f, true);
}

// UPLO, TRANSA, DIAG of the triangular Level-2 routines (positions 2, 3, 4).
inline Verdict tri2(int layout, int Uplo, int TransA, int Diag, bool tbmv_quirk, F77Call2& f, bool& row) {
  row = layout == kRowMajor;
  if (!row && layout != kColMajor) return layout_error(layout);
  f.uplo = row ? uplo_row(Uplo) : uplo_col(Uplo);
  if (!f.uplo) return cblas_error(2, kUploMsg, Uplo, row);
  f.trans = row ? trans_row(TransA) : trans_col(TransA);
  if (!f.trans) return cblas_error(3, kTransAMsg, TransA, row);
  f.diag = diag_of(Diag);
  if (!f.diag) {
    // cblas_xtbmv, row-major: netlib's message names Uplo and prints its value.
    if (row && tbmv_quirk) return cblas_error(4, kUploMsg, Uplo, row);
    return cblas_error(4, kDiagMsg, Diag, row);
  }
  return {};
}

inline Verdict trmv(Dtype dt, int layout, int Uplo, int TransA, int Diag, i64 N, i64 lda, i64 incX, F77Call2& f) {
  bool row;
  if (Verdict v = tri2(layout, Uplo, TransA, Diag, false, f, row); !v.ok()) return v;
  f.n = N, f.lda = lda, f.incx = incX;
  return fortran(checks::trmv(dt, f.uplo, f.trans, f.diag, f.n, f.lda, f.incx), row);
}
inline Verdict trsv(Dtype dt, int layout, int Uplo, int TransA, int Diag, i64 N, i64 lda, i64 incX, F77Call2& f) {
  return trmv(dt, layout, Uplo, TransA, Diag, N, lda, incX, f);
}

inline Verdict tbmv(Dtype dt, int layout, int Uplo, int TransA, int Diag, i64 N, i64 K, i64 lda, i64 incX, F77Call2& f,
                    bool tbmv_quirk = true) {
  bool row;
  if (Verdict v = tri2(layout, Uplo, TransA, Diag, tbmv_quirk, f, row); !v.ok()) return v;
  f.n = N, f.k = K, f.lda = lda, f.incx = incX;
  return fortran(checks::tbmv(dt, f.uplo, f.trans, f.diag, f.n, f.k, f.lda, f.incx), row);
}
inline Verdict tbsv(Dtype dt, int layout, int Uplo, int TransA, int Diag, i64 N, i64 K, i64 lda, i64 incX,
                    F77Call2& f) {
  return tbmv(dt, layout, Uplo, TransA, Diag, N, K, lda, incX, f, false);
}

inline Verdict tpmv(Dtype dt, int layout, int Uplo, int TransA, int Diag, i64 N, i64 incX, F77Call2& f) {
  bool row;
  if (Verdict v = tri2(layout, Uplo, TransA, Diag, false, f, row); !v.ok()) return v;
  f.n = N, f.incx = incX;
  return fortran(checks::tpmv(dt, f.uplo, f.trans, f.diag, f.n, f.incx), row);
}
inline Verdict tpsv(Dtype dt, int layout, int Uplo, int TransA, int Diag, i64 N, i64 incX, F77Call2& f) {
  return tpmv(dt, layout, Uplo, TransA, Diag, N, incX, f);
}

// xGER, xGERU and xGERC (`gerc`): row-major swaps the roles of x and y; cblas_xgerc then calls
// xGERU on a conjugated copy of y.
inline Verdict ger(Dtype dt, int layout, bool gerc, i64 M, i64 N, i64 incX, i64 incY, i64 lda, F77Call2& f) {
  const bool row = layout == kRowMajor;
  Verdict v;
  if (layout == kColMajor) {
    f.m = M, f.n = N, f.incx = incX, f.incy = incY;
  } else if (row) {
    f.swap_xy = true;
    f.m = N, f.n = M, f.incx = incY, f.incy = incX;
    if (gerc) {
      v.geru = true;
      if (N > 0) f.y_copy = true, f.incx = 1;
    }
  } else {
    return layout_error(layout);
  }
  f.lda = lda;
  v.info = checks::ger(dt, f.m, f.n, f.incx, f.incy, f.lda);
  v.row_major = row;
  if (!v.info) v.geru = false;
  return v;
}

inline Verdict syr(Dtype dt, int layout, int Uplo, i64 N, i64 incX, i64 lda, F77Call2& f, bool hermitian = false) {
  bool row;
  if (Verdict v = uplo2(dt, layout, Uplo, hermitian, N, f, row); !v.ok()) return v;
  f.conj = false;  // alpha is real
  f.incx = f.x_copy ? 1 : incX, f.lda = lda;
  return fortran(checks::syr(dt, f.uplo, f.n, f.incx, f.lda), row);
}
inline Verdict her(Dtype dt, int layout, int Uplo, i64 N, i64 incX, i64 lda, F77Call2& f) {
  return syr(dt, layout, Uplo, N, incX, lda, f, true);
}

inline Verdict spr(Dtype dt, int layout, int Uplo, i64 N, i64 incX, F77Call2& f, bool hermitian = false) {
  bool row;
  if (Verdict v = uplo2(dt, layout, Uplo, hermitian, N, f, row); !v.ok()) return v;
  f.conj = false;
  f.incx = f.x_copy ? 1 : incX;
  return fortran(checks::spr(dt, f.uplo, f.n, f.incx), row);
}
inline Verdict hpr(Dtype dt, int layout, int Uplo, i64 N, i64 incX, F77Call2& f) {
  return spr(dt, layout, Uplo, N, incX, f, true);
}

// xSYR2/xSPR2 keep x and y; row-major xHER2/xHPR2 swap them and, for N > 0, pass conjugated copies
// (cblas_zhpr2 with the sign of the original increments, the others with increment 1).
inline void two_vectors(Dtype dt, bool row, bool hermitian, bool packed, i64 N, i64 incX, i64 incY, F77Call2& f) {
  f.incx = incX, f.incy = incY;
  if (!(row && hermitian)) return;
  f.swap_xy = true;
  f.incx = incY, f.incy = incX;
  if (N > 0) {
    f.x_copy = f.y_copy = true;
    if (packed && dt == Dtype::z) {
      f.incx = incY > 0 ? 1 : -1;
      f.incy = incX > 0 ? 1 : -1;
    } else {
      f.incx = f.incy = 1;
    }
  }
}

inline Verdict syr2(Dtype dt, int layout, int Uplo, i64 N, i64 incX, i64 incY, i64 lda, F77Call2& f,
                    bool hermitian = false) {
  bool row;
  if (Verdict v = uplo2(dt, layout, Uplo, hermitian, N, f, row); !v.ok()) return v;
  f.conj = false;
  f.x_copy = false;
  two_vectors(dt, row, hermitian, false, N, incX, incY, f);
  f.lda = lda;
  return fortran(checks::syr2(dt, f.uplo, f.n, f.incx, f.incy, f.lda), row);
}
inline Verdict her2(Dtype dt, int layout, int Uplo, i64 N, i64 incX, i64 incY, i64 lda, F77Call2& f) {
  return syr2(dt, layout, Uplo, N, incX, incY, lda, f, true);
}

inline Verdict spr2(Dtype dt, int layout, int Uplo, i64 N, i64 incX, i64 incY, F77Call2& f, bool hermitian = false) {
  bool row;
  if (Verdict v = uplo2(dt, layout, Uplo, hermitian, N, f, row); !v.ok()) return v;
  f.conj = false;
  f.x_copy = false;
  two_vectors(dt, row, hermitian, true, N, incX, incY, f);
  return fortran(checks::spr2(dt, f.uplo, f.n, f.incx, f.incy), row);
}
inline Verdict hpr2(Dtype dt, int layout, int Uplo, i64 N, i64 incX, i64 incY, F77Call2& f) {
  return spr2(dt, layout, Uplo, N, incX, incY, f, true);
}

}  // namespace rcpu::cblas::plan
