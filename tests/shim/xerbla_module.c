/* A module in the manner of NumPy's lapack_lite: defines its own xerbla_, links liblapack/libblas, and
 * is dlopened RTLD_LOCAL by xerbla_local_main.c. xerbla_module_run() makes one illegal LAPACK call
 * (DORGQR, argument 5) and one illegal BLAS call (DGEMM, argument 8) and says which reached the
 * module's handler. */
#include <stdio.h>
#include <string.h>

static char last_name[8];
static int last_info;

void xerbla_(const char* name, const int* info, size_t len) {
  size_t n = len < 7 ? len : 7;
  n = strnlen(name, n); /* some libraries pass the NUL within len */
  memcpy(last_name, name, n);
  last_name[n] = 0;
  for (size_t i = n; i > 0 && last_name[i - 1] == ' '; --i) last_name[i - 1] = 0;
  last_info = *info;
}

void dorgqr_(const int*, const int*, const int*, double*, const int*, const double*, double*, const int*, int*);
void dgemm_(const char*, const char*, const int*, const int*, const int*, const double*, const double*, const int*,
            const double*, const int*, const double*, double*, const int*, size_t, size_t);

int xerbla_module_run(void) {
  int failures = 0, one = 1, zero = 0, info = 0, lwork = 1;
  double a[4] = {1, 0, 0, 1}, tau[2] = {0}, work[4], alpha = 1, beta = 0, c[4];
  last_name[0] = 0, last_info = 0;
  dorgqr_(&one, &one, &one, a, &zero, tau, work, &lwork, &info); /* lda = 0: argument 5 */
  printf("dorgqr: module xerbla_ got '%s' %d (info %d)\n", last_name, last_info, info);
  failures += !(strcmp(last_name, "DORGQR") == 0 && last_info == 5);
  int two = 2;
  last_name[0] = 0, last_info = 0;
  dgemm_("N", "N", &two, &two, &two, &alpha, a, &one, a, &two, &beta, c, &two, 1, 1); /* lda = 1 < m: argument 8 */
  printf("dgemm: module xerbla_ got '%s' %d\n", last_name, last_info);
  failures += !(strcmp(last_name, "DGEMM") == 0 && last_info == 8);
  return failures;
}
