/* Fault injector for the LAPACK harness self-test (run_lapack.py --self-test).
 *
 * LD_PRELOADed in front of a correct LAPACK, it wraps dgetrf_ and, depending on RCPU_LAPACK_FAULT,
 * breaks it the way a buggy shim could:
 *   compute  - call the real routine, then corrupt the first element of the factors
 *   xerbla   - return with INFO set but without reporting the illegal argument to xerbla_
 * The harness must then report lin-d as failed; if it does not, its verdict is wrong.
 * Not part of rcpu; never linked into anything. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

static int fault(const char* which) {
  const char* f = getenv("RCPU_LAPACK_FAULT");
  return f && strcmp(f, which) == 0;
}

typedef void dgetrf_t(const int*, const int*, double*, const int*, int*, int*);
EXPORT void dgetrf_(const int* m, const int* n, double* a, const int* lda, int* ipiv, int* info) {
  if (fault("xerbla") && (*m < 0 || *n < 0 || *lda < (*m > 1 ? *m : 1))) {
    *info = *m < 0 ? -1 : (*n < 0 ? -2 : -4);
    return;
  }
  dgetrf_t* real = (dgetrf_t*)dlsym(RTLD_NEXT, "dgetrf_");
  if (!real) abort();
  real(m, n, a, lda, ipiv, info);
  if (fault("compute") && *m > 0 && *n > 0) a[0] += 1.0;
}
