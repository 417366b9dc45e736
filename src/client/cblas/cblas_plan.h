// What netlib's CBLAS does with one call before any arithmetic: which errors it reports (and how),
// and, for a valid call, the Fortran-order arguments it hands to the F77 routine. Pure functions of
// the integer arguments, so the adapters (cblas_adapters.h) stay thin and the unit tests can compare
// every decision with Debian's reference libblas.so.3 (LAPACK 3.11), including its quirks:
//   - row-major cblas_xsyrk/xsyr2k/xherk report a bad Uplo at position 3 (column-major: 2);
//   - row-major cblas_xgemm reports a bad TransB at position 2 (column-major: 3);
//   - row-major cblas_xtbmv reports a bad Diag as "Illegal Uplo setting" with the Uplo value;
//   - cblas_sgemv (column-major, bad TransA) and cblas_ctrmm (column-major, bad Diag) go on to call
//     the F77 routine, which reports again (INFO 1, resp. 4);
//   - row-major complex calls that conjugate x into a contiguous copy pass INCX = 1 to the F77
//     routine, so INCX = 0 is accepted there (gemv/gbmv ConjTrans with M > 0; hemv, hbmv, hpmv,
//     her, hpr, her2, hpr2 with N > 0; gerc, for y, with N > 0);
//   - row-major cblas_xgerc calls xGERU (so xGERU is the name an error reports);
//   - row-major complex syrk/syr2k accept ConjTrans (as Trans) and herk/her2k accept Trans (as
//     ConjTrans); column-major they pass 'C' resp. 'T' on, which the F77 routine rejects.
#pragma once

#include <cstdint>

#include "client/checks/blas_checks.h"
#include "common/level3.h"

namespace rcpu::cblas {

// CBLAS enumeration values (cblas.h).
enum : int {
  kRowMajor = 101,
  kColMajor = 102,
  kNoTrans = 111,
  kTrans = 112,
  kConjTrans = 113,
  kUpper = 121,
  kLower = 122,
  kNonUnit = 131,
  kUnit = 132,
  kLeft = 141,
  kRight = 142,
};

// netlib's messages (the forms passed to cblas_xerbla).
inline constexpr const char kLayoutMsg[] = "Illegal layout setting, %d\n";
inline constexpr const char kTransAMsg[] = "Illegal TransA setting, %d\n";
inline constexpr const char kTransBMsg[] = "Illegal TransB setting, %d\n";
inline constexpr const char kTransMsg[] = "Illegal Trans setting, %d\n";
inline constexpr const char kUploMsg[] = "Illegal Uplo setting, %d\n";
inline constexpr const char kDiagMsg[] = "Illegal Diag setting, %d\n";
inline constexpr const char kSideMsg[] = "Illegal Side setting, %d\n";

// How netlib's CBLAS reports on one call. Valid when ok().
struct Verdict {
  int pos = 0;  // cblas_xerbla(pos, "cblas_x...", form, value); 0: not called
  const char* form = nullptr;
  int value = 0;
  int info = 0;            // then xerbla_("XNAME ", info) from the F77 routine; 0: not called
  bool row_major = false;  // RowMajorStrg while reporting
  bool f77_from_c = true;  // CBLAS_CallFromC during the xerbla_ call
  bool geru = false;       // the reporting F77 routine is xGERU (row-major cblas_xgerc)
  bool ok() const { return pos == 0 && info == 0; }
};

// A Level-2 call as netlib hands it to the F77 routine (fields a routine lacks stay 0).
struct F77Call2 {
  char trans = 0, uplo = 0, diag = 0;
  std::int64_t m = 0, n = 0, kl = 0, ku = 0, k = 0, lda = 0, incx = 0, incy = 0;
  bool swap_xy = false;  // the F77 x is the CBLAS Y and the F77 y the CBLAS X
  bool x_copy = false;   // netlib passes a contiguous conjugated copy of the CBLAS X (INCX 1 or -1)
  bool y_copy = false;   // ... of the CBLAS Y
  bool conj = false;     // netlib passes conj(alpha) and conj(beta)
};

// A Level-3 call as netlib hands it to the F77 routine: `x` as the generated F77 entry points
// build it (alpha/beta are left to the adapter), plus what the adapter needs besides.
struct F77Call3 {
  Level3Args x;
  bool swap_ab = false;     // the F77 A is the CBLAS B and the F77 B the CBLAS A (row-major gemm)
  bool conj_alpha = false;  // the F77 alpha is conj(alpha) (row-major her2k)
  int local_trans = 0;      // Trans to give the local library instead of the caller's, 0: unchanged
};

namespace plan {

using i64 = std::int64_t;

inline char trans_col(int t) { return t == kNoTrans ? 'N' : t == kTrans ? 'T' : t == kConjTrans ? 'C' : 0; }
// Level-2 row-major: the matrix is used transposed; ConjTrans becomes 'N' (with conjugation).
inline char trans_row(int t) { return t == kNoTrans ? 'T' : (t == kTrans || t == kConjTrans) ? 'N' : 0; }
inline char uplo_col(int u) { return u == kUpper ? 'U' : u == kLower ? 'L' : 0; }
inline char uplo_row(int u) { return u == kUpper ? 'L' : u == kLower ? 'U' : 0; }
inline char diag_of(int d) { return d == kUnit ? 'U' : d == kNonUnit ? 'N' : 0; }
inline char side_col(int s) { return s == kLeft ? 'L' : s == kRight ? 'R' : 0; }
inline char side_row(int s) { return s == kLeft ? 'R' : s == kRight ? 'L' : 0; }

inline Verdict cblas_error(int pos, const char* form, int value, bool row_major) {
  Verdict v;
  v.pos = pos;
  v.form = form;
  v.value = value;
  v.row_major = row_major;
  return v;
}
inline Verdict layout_error(int layout) { return cblas_error(1, kLayoutMsg, layout, false); }
inline Verdict fortran(int info, bool row_major) {
  Verdict v;
  v.info = info;
  v.row_major = row_major;
  return v;
}

// ------------------------------------------------------------------------------------ Level 2

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

// ------------------------------------------------------------------------------------ Level 3

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

}  // namespace plan
}  // namespace rcpu::cblas
