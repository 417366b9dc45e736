/* A program linked with -lblas -llapack -lfftw3 -lfftw3f, run by check_lib64_search.py with the real
 * libraries only in a Fedora-style usr/lib64 folder: one DGEMM, one DGESV, one complex FFT of each
 * precision, each checked against the exact answer. Prints "lib64_main: ok" and exits 0. */
#include <fftw3.h>
#include <math.h>
#include <stdio.h>

void dgemm_(const char*, const char*, const int*, const int*, const int*, const double*, const double*, const int*,
            const double*, const int*, const double*, double*, const int*, size_t, size_t);
void dgesv_(const int*, const int*, double*, const int*, int*, double*, const int*, int*);

int main(void) {
  int bad = 0, n = 2, one = 1, info = -1, ipiv[2];
  double a[4] = {1, 3, 2, 4}, b[4] = {5, 7, 6, 8}, c[4] = {0}, alpha = 1, beta = 0; /* column-major */
  dgemm_("N", "N", &n, &n, &n, &alpha, a, &n, b, &n, &beta, c, &n, 1, 1);
  const double want[4] = {19, 43, 22, 50};
  for (int i = 0; i < 4; ++i) bad |= fabs(c[i] - want[i]) > 1e-12;
  if (bad) printf("FAIL dgemm\n");
  double m[4] = {4, 2, 1, 3}, x[2] = {6, 8}; /* [[4 1] [2 3]] x = [6 8] -> x = [1 2] */
  dgesv_(&n, &one, m, &n, ipiv, x, &n, &info);
  if (info != 0 || fabs(x[0] - 1) > 1e-12 || fabs(x[1] - 2) > 1e-12) printf("FAIL dgesv info %d\n", info), bad = 1;
  fftw_complex in[4] = {{1, 0}, {2, 0}, {3, 0}, {4, 0}}, out[4];
  fftw_plan p = fftw_plan_dft_1d(4, in, out, FFTW_FORWARD, FFTW_ESTIMATE);
  fftw_execute(p);
  fftw_destroy_plan(p);
  if (fabs(out[0][0] - 10) > 1e-12 || fabs(out[1][0] + 2) > 1e-12 || fabs(out[1][1] - 2) > 1e-12)
    printf("FAIL fftw\n"), bad = 1;
  fftwf_complex fin[4] = {{1, 0}, {2, 0}, {3, 0}, {4, 0}}, fout[4];
  fftwf_plan fp = fftwf_plan_dft_1d(4, fin, fout, FFTW_FORWARD, FFTW_ESTIMATE);
  fftwf_execute(fp);
  fftwf_destroy_plan(fp);
  if (fabsf(fout[0][0] - 10) > 1e-5f || fabsf(fout[2][0] + 2) > 1e-5f) printf("FAIL fftwf\n"), bad = 1;
  if (!bad) printf("lib64_main: ok\n");
  return bad;
}
