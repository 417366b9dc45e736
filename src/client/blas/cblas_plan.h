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
//
// The decisions live in cblas_plan_level2.h and cblas_plan_level3.h, over the types of
// cblas_verdict.h.
#pragma once

#include "client/blas/cblas_plan_level2.h"
#include "client/blas/cblas_plan_level3.h"
