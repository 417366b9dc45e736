/* Fault injector for the netlib harness self-test (run_netlib.py --self-test).
 *
 * LD_PRELOADed in front of a correct BLAS, it wraps a few routines and, depending on
 * RCPU_NETLIB_FAULT, breaks them the way a buggy shim could:
 *   compute  - call the real routine, then corrupt the first result element
 *   xerbla   - return silently on a negative dimension instead of reporting it to xerbla_
 * The harness must then report the tester as failed; if it does not, its parsing is wrong.
 * Not part of rcpu; never linked into anything. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

static int fault(const char* which) {
  const char* f = getenv("RCPU_NETLIB_FAULT");
  return f && strcmp(f, which) == 0;
}

static void* real(const char* name) {
  void* p = dlsym(RTLD_NEXT, name);
  if (!p) abort();
  return p;
}

typedef void dgemm_t(const char*, const char*, const int*, const int*, const int*, const double*, const double*,
                     const int*, const double*, const int*, const double*, double*, const int*, size_t, size_t);
EXPORT void dgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k, const double* alpha,
                   const double* a, const int* lda, const double* b, const int* ldb, const double* beta, double* c,
                   const int* ldc, size_t lta, size_t ltb) {
  if (fault("xerbla") && (*m < 0 || *n < 0 || *k < 0)) return;
  ((dgemm_t*)real("dgemm_"))(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, lta, ltb);
  if (fault("compute") && *m > 0 && *n > 0) c[0] += 1.0;
}

typedef void cblas_dgemm_t(int, int, int, int, int, int, double, const double*, int, const double*, int, double,
                           double*, int);
EXPORT void cblas_dgemm(int layout, int ta, int tb, int m, int n, int k, double alpha, const double* a, int lda,
                        const double* b, int ldb, double beta, double* c, int ldc) {
  if (fault("xerbla") && (m < 0 || n < 0 || k < 0)) return;
  ((cblas_dgemm_t*)real("cblas_dgemm"))(layout, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  if (fault("compute") && m > 0 && n > 0) c[0] += 1.0;
}

typedef void dgemv_t(const char*, const int*, const int*, const double*, const double*, const int*, const double*,
                     const int*, const double*, double*, const int*, size_t);
EXPORT void dgemv_(const char* t, const int* m, const int* n, const double* alpha, const double* a, const int* lda,
                   const double* x, const int* incx, const double* beta, double* y, const int* incy, size_t lt) {
  if (fault("xerbla") && (*m < 0 || *n < 0)) return;
  ((dgemv_t*)real("dgemv_"))(t, m, n, alpha, a, lda, x, incx, beta, y, incy, lt);
  if (fault("compute") && *m > 0 && *n > 0) y[0] += 1.0;
}

typedef double ddot_t(const int*, const double*, const int*, const double*, const int*);
EXPORT double ddot_(const int* n, const double* x, const int* incx, const double* y, const int* incy) {
  double r = ((ddot_t*)real("ddot_"))(n, x, incx, y, incy);
  return fault("compute") && *n > 0 ? r + 1.0 : r;
}
