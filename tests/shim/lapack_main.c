/* An unmodified program linked with -llapack -lblas. Run with rcpu as liblapack.so.3 and
 * libblas.so.3 (check_lapack.py): LAPACK drivers whose inner dgemm_/dtrsm_ calls would be
 * offloadable, plus the irregular kinds of LAPACK entry points (functions returning double, float,
 * complex*16, integer, logical and character values; one with a generic entry point; a bare-name
 * alias), each checked. Then one direct dgemm_ of the same size, which may run remotely.
 * Prints "PASS" when every check holds. */
#include <complex.h>
#include <dlfcn.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int lint;
void dgetrf_(const lint*, const lint*, double*, const lint*, lint*, lint*);
typedef void (*getrf_fn)(const lint*, const lint*, double*, const lint*, lint*, lint*);
void dgetrs_(const char*, const lint*, const lint*, const double*, const lint*, const lint*, double*, const lint*,
             lint*, size_t);
void dgeqrf_(const lint*, const lint*, double*, const lint*, double*, double*, const lint*, lint*);
double dlamch_(const char*, size_t);
float slamch_(const char*, size_t);
double _Complex zladiv_(const double _Complex*, const double _Complex*);
lint ilaenv_(const lint*, const char*, const char*, const lint*, const lint*, const lint*, const lint*, size_t, size_t);
lint disnan_(const double*);
void chla_transtype_(char* ret, size_t ret_len, const lint* trans);
double dlamc3_(const double*, const double*); /* generic entry point: no prototype in any source */
void dgemm_(const char*, const char*, const lint*, const lint*, const lint*, const double*, const double*, const lint*,
            const double*, const lint*, const double*, double*, const lint*, size_t, size_t);

static int failures = 0;
static void check(int ok, const char* what) {
  printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

static double* random_matrix(lint n, unsigned seed) {
  double* a = malloc(sizeof(double) * n * n);
  srand(seed);
  for (lint i = 0; i < n * n; ++i) a[i] = (double)rand() / RAND_MAX - 0.5;
  for (lint i = 0; i < n; ++i) a[i + i * n] += n; /* well conditioned */
  return a;
}

int main(int argc, char** argv) {
  const lint n = argc > 1 ? atoi(argv[1]) : 600;
  lint info = -1, one = 1;
  lint* ipiv = malloc(sizeof(lint) * n);

  /* dgetrf_ then dgetrs_: solve A x = A * ones, expect ones. */
  double* a = random_matrix(n, 1);
  double* b = calloc(n, sizeof(double));
  for (lint i = 0; i < n; ++i)
    for (lint j = 0; j < n; ++j) b[i] += a[i + j * n];
  dgetrf_(&n, &n, a, &n, ipiv, &info);
  check(info == 0, "dgetrf_ info == 0");
  dgetrs_("N", &n, &one, a, &n, ipiv, b, &n, &info, 1);
  double err = 0;
  for (lint i = 0; i < n; ++i) err = fmax(err, fabs(b[i] - 1.0));
  check(info == 0 && err < 1e-10, "dgetrf_ + dgetrs_ solve A x = b");

  /* The bare-name alias (rcpu exports dgetrf beside dgetrf_; OpenBLAS has none) runs the same routine. */
  getrf_fn dgetrf = (getrf_fn)dlsym(RTLD_DEFAULT, "dgetrf");
  check(dgetrf != NULL, "the bare name dgetrf is exported");
  if (!dgetrf) return 1;
  double* a2 = random_matrix(n, 1);
  double* a3 = random_matrix(n, 1);
  lint* ipiv2 = malloc(sizeof(lint) * n);
  dgetrf(&n, &n, a2, &n, ipiv2, &info);
  dgetrf_(&n, &n, a3, &n, ipiv, &info);
  check(memcmp(a2, a3, sizeof(double) * n * n) == 0 && memcmp(ipiv, ipiv2, sizeof(lint) * n) == 0,
        "dgetrf (bare name) == dgetrf_");

  /* dgeqrf_: R's column norms equal A's (Q is orthogonal). */
  double* q = random_matrix(n, 2);
  double* norms = calloc(n, sizeof(double));
  for (lint j = 0; j < n; ++j)
    for (lint i = 0; i < n; ++i) norms[j] += q[i + j * n] * q[i + j * n];
  double* tau = malloc(sizeof(double) * n);
  double wq;
  lint lwork = -1;
  dgeqrf_(&n, &n, q, &n, tau, &wq, &lwork, &info);
  lwork = (lint)wq;
  double* work = malloc(sizeof(double) * lwork);
  dgeqrf_(&n, &n, q, &n, tau, work, &lwork, &info);
  double qerr = 0;
  for (lint j = 0; j < n; ++j) {
    double r = 0;
    for (lint i = 0; i <= j; ++i) r += q[i + j * n] * q[i + j * n];
    qerr = fmax(qerr, fabs(sqrt(r) - sqrt(norms[j])) / sqrt(norms[j]));
  }
  check(info == 0 && qerr < 1e-12, "dgeqrf_ preserves column norms");

  /* Irregular entry points. */
  check(dlamch_("E", 1) == DBL_EPSILON / 2, "dlamch_ returns double (eps)");
  check(slamch_("E", 1) == FLT_EPSILON / 2, "slamch_ returns float (eps)");
  double _Complex x = 1.0 + 2.0 * I, y = 3.0 - 1.0 * I;
  double _Complex z = zladiv_(&x, &y);
  check(cabs(z - x / y) < 1e-15, "zladiv_ returns complex*16");
  lint ispec = 1, m1 = -1;
  check(ilaenv_(&ispec, "DGETRF", " ", &n, &n, &m1, &m1, 6, 1) > 0, "ilaenv_ returns integer (block size)");
  double nan = NAN, fine = 1.0;
  check(disnan_(&nan) != 0 && disnan_(&fine) == 0, "disnan_ returns logical");
  char t[2] = "?";
  lint trans = 112; /* BLAS_TRANS */
  chla_transtype_(t, 1, &trans);
  check(t[0] == 'T', "chla_transtype_ returns character");
  double p = 1.25, r = 2.5;
  check(dlamc3_(&p, &r) == 3.75, "dlamc3_ (generic entry point) returns its double");

  /* Positive control: the same size of dgemm_, called by the program itself. */
  double alpha = 1.0, beta = 0.0;
  double* c = malloc(sizeof(double) * n * n);
  double* ga = random_matrix(n, 3);
  dgemm_("N", "N", &n, &n, &n, &alpha, ga, &n, ga, &n, &beta, c, &n, 1, 1);
  double ref = 0;
  for (lint k = 0; k < n; ++k) ref += ga[5 + k * n] * ga[k + 7 * n];
  check(fabs(c[5 + 7 * n] - ref) < 1e-9 * n, "direct dgemm_");

  printf(failures ? "FAILED (%d)\n" : "PASS\n", failures);
  return failures ? 1 : 0;
}
