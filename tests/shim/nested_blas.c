/* A stand-in "local BLAS" whose dgemv_ calls its own exported ddot_, the way OpenBLAS's LAPACK calls
 * its exported dgemm_. If rcpu opened it without protection, that inner ddot_ call would resolve to
 * rcpu's ddot_ (rcpu is libblas.so.3, ahead of it in the global scope) and come back into rcpu.
 * Counts its own ddot_ calls so the test can see where the inner calls went. */
#include <stddef.h>

__attribute__((visibility("default"))) int nested_ddot_calls = 0;

__attribute__((visibility("default"))) double ddot_(const int* n, const double* x, const int* incx, const double* y,
                                                    const int* incy) {
  ++nested_ddot_calls;
  double s = 0;
  for (int i = 0; i < *n; ++i) s += x[i * *incx] * y[i * *incy];
  return s;
}

/* y := alpha*A*x + beta*y, 'N' only, computed row by row through ddot_ (an exported symbol). */
__attribute__((visibility("default"))) void dgemv_(const char* trans, const int* m, const int* n, const double* alpha,
                                                   const double* a, const int* lda, const double* x, const int* incx,
                                                   const double* beta, double* y, const int* incy, size_t trans_len) {
  (void)trans;
  (void)trans_len;
  for (int i = 0; i < *m; ++i) {
    const double dot = ddot_(n, a + i, lda, x, incx);
    y[i * *incy] = *alpha * dot + *beta * y[i * *incy];
  }
}
