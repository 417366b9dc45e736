// The types of netlib's CBLAS decisions (cblas_plan.h): how an invalid call is reported, and the
// Fortran-order call a valid one makes; plus the translations of the CBLAS enumerations every
// decision uses.
#pragma once

#include <cstdint>

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

}  // namespace plan
}  // namespace rcpu::cblas
