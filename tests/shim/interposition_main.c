/* An unmodified program (linked with -lblas) calling dgemv_ once. Run with rcpu as libblas.so.3
 * and RCPU_LOCAL_BLAS pointing at libnested_blas.so: checks the numbers and prints how many ddot_
 * calls the nested library's own ddot_ received. */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>

void dgemv_(const char*, const int*, const int*, const double*, const double*, const int*, const double*, const int*,
            const double*, double*, const int*, size_t);

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  enum { M = 7, N = 5 };
  double a[M * N], x[N], y[M];
  for (int i = 0; i < M * N; ++i) a[i] = (i % 11) - 5.0;
  for (int j = 0; j < N; ++j) x[j] = j + 1.0;
  for (int i = 0; i < M; ++i) y[i] = 1.0;
  const int m = M, n = N, one = 1;
  const double alpha = 2.0, beta = 0.5;
  dgemv_("N", &m, &n, &alpha, a, &m, x, &one, &beta, y, &one, 1);
  for (int i = 0; i < M; ++i) {
    double ref = 0;
    for (int j = 0; j < N; ++j) ref += a[i + j * M] * x[j];
    ref = 2.0 * ref + 0.5;
    if (fabs(ref - y[i]) > 1e-12) {
      printf("wrong result y[%d] = %g, expected %g\n", i, y[i], ref);
      return 1;
    }
  }
  void* h = dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD);
  if (!h) {
    printf("the nested library was never loaded: rcpu did not use RCPU_LOCAL_BLAS\n");
    return 1;
  }
  const int* calls = (const int*)dlsym(h, "nested_ddot_calls");
  printf("nested ddot_ calls: %d\n", calls ? *calls : -1);
  return 0;
}
