/* A program that makes one dgemm_ call (Fortran interface) and checks it against a naive product;
 * the shim's `rcpu run` tests build it against the BLAS in several ways (tests/shim/CMakeLists.txt):
 * -lblas, libopenblas.so.0 by name, OpenBLAS linked in statically (Debian's libblas.a), and with an
 * RPATH that finds the system libblas.so.3 ahead of LD_LIBRARY_PATH.
 *
 *   run_gemm_* [N]     prints "PASS" and exits 0 when every number is right */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

void dgemm_(const char*, const char*, const int*, const int*, const int*, const double*, const double*, const int*,
            const double*, const int*, const double*, double*, const int*, size_t, size_t);

int main(int argc, char** argv) {
  const int n = argc > 1 ? atoi(argv[1]) : 64;
  double* a = malloc(sizeof(double) * n * n);
  double* b = malloc(sizeof(double) * n * n);
  double* c = malloc(sizeof(double) * n * n);
  for (int i = 0; i < n * n; ++i) {
    a[i] = (double)(i % 7) - 3.0;
    b[i] = (double)(i % 5) * 0.5;
    c[i] = 1.0;
  }
  const double alpha = 2.0, beta = -1.0;
  dgemm_("N", "N", &n, &n, &n, &alpha, a, &n, b, &n, &beta, c, &n, 1, 1);
  double err = 0;
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < n; ++i) {
      double s = 0;
      for (int l = 0; l < n; ++l) s += a[i + l * n] * b[l + j * n];
      err = fmax(err, fabs(c[i + j * n] - (alpha * s - 1.0)));
    }
  printf("%s max error %g\n", err < 1e-9 * n ? "PASS" : "FAIL", err);
  return err < 1e-9 * n ? 0 : 1;
}
