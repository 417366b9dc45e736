/* demo_dgemm: an ordinary BLAS program, linked with the system's -lblas and nothing of rcpu.
 *
 *   demo_dgemm [n]          C = A*B with A, B n-by-n (default n = 1024)
 *   demo_dgemm m n k        C = A*B with A m-by-k, B k-by-n
 *
 * It calls the CBLAS and the Fortran interfaces (cblas_dgemm, dgemm_, dgemv_, cblas_dgemv, ddot_,
 * cblas_ddot) and checks every result against plain C loops: the products against a naive triple
 * loop on a sample of rows (all rows when the matrices are small) and all of C through
 * C*x = A*(B*x).  It prints the largest scaled error and PASS or FAIL, and exits 1 on failure.
 *
 * At run time it uses whatever libblas.so.3 the loader finds: the system's, or rcpu's shim with
 *   LD_LIBRARY_PATH=build/lib/rcpu ./build/bin/demo_dgemm 2048
 * The prototypes are declared here (reference BLAS/CBLAS ABI, LP64) so that no particular cblas.h
 * is needed. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Fortran BLAS: arguments by reference, one hidden length per character argument (gfortran). */
void dgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* b, const int* ldb, const double* beta, double* c,
            const int* ldc, size_t transa_len, size_t transb_len);
void dgemv_(const char* trans, const int* m, const int* n, const double* alpha, const double* a, const int* lda,
            const double* x, const int* incx, const double* beta, double* y, const int* incy, size_t trans_len);
double ddot_(const int* n, const double* x, const int* incx, const double* y, const int* incy);

/* CBLAS (values of the reference cblas.h enums). */
enum { CblasRowMajor = 101, CblasColMajor = 102 };
enum { CblasNoTrans = 111, CblasTrans = 112 };
void cblas_dgemm(int layout, int transa, int transb, int m, int n, int k, double alpha, const double* a, int lda,
                 const double* b, int ldb, double beta, double* c, int ldc);
void cblas_dgemv(int layout, int trans, int m, int n, double alpha, const double* a, int lda, const double* x, int incx,
                 double beta, double* y, int incy);
double cblas_ddot(int n, const double* x, int incx, const double* y, int incy);

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static unsigned long long rng_state = 0x9e3779b97f4a7c15ULL;
static double uniform(void) { /* in [-1, 1) */
  rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(rng_state >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

static void* xmalloc(size_t count, size_t size) {
  void* p = calloc(count, size);
  if (!p) {
    fprintf(stderr, "demo_dgemm: out of memory (%zu x %zu bytes)\n", count, size);
    exit(2);
  }
  return p;
}

static int parse_dim(const char* s) {
  char* end;
  long v = strtol(s, &end, 10);
  if (*end || v < 1 || v > 100000) {
    fprintf(stderr, "demo_dgemm: bad size '%s' (want 1..100000)\n", s);
    exit(2);
  }
  return (int)v;
}

static double worst = 0.0; /* largest scaled error seen */
static int failures = 0;
static const double TOL = 1e-12;

static void report(const char* what, double err, double seconds) {
  int ok = err <= TOL && !isnan(err);
  if (err > worst || isnan(err)) worst = err;
  if (!ok) failures++;
  printf("  %-44s %8.3f s   scaled error %.2e  %s\n", what, seconds, err, ok ? "ok" : "WRONG");
}

int main(int argc, char** argv) {
  int m = 1024, n = 1024, k = 1024;
  if (argc == 2) {
    m = n = k = parse_dim(argv[1]);
  } else if (argc == 4) {
    m = parse_dim(argv[1]);
    n = parse_dim(argv[2]);
    k = parse_dim(argv[3]);
  } else if (argc != 1) {
    fprintf(stderr, "usage: %s [n] | [m n k]\n", argv[0]);
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0); /* keep our lines in order with rcpu's stderr output */
  printf("demo_dgemm: C = A*B with m=%d n=%d k=%d (double)\n", m, n, k);

  double* A = xmalloc((size_t)m * k, sizeof *A); /* column-major, lda = m */
  double* B = xmalloc((size_t)k * n, sizeof *B); /* column-major, ldb = k */
  double* C = xmalloc((size_t)m * n, sizeof *C); /* cblas_dgemm result, ldc = m */
  double* D = xmalloc((size_t)n * m, sizeof *D); /* dgemm_ result (A*B)^T = B^T*A^T, ldd = n */
  double *x = xmalloc((size_t)n, sizeof *x), *bx = xmalloc((size_t)k, sizeof *bx);
  double *abx = xmalloc((size_t)m, sizeof *abx), *cx = xmalloc((size_t)m, sizeof *cx);
  double *u = xmalloc((size_t)k, sizeof *u), *v = xmalloc((size_t)k, sizeof *v);
  for (size_t i = 0; i < (size_t)m * k; i++) A[i] = uniform();
  for (size_t i = 0; i < (size_t)k * n; i++) B[i] = uniform();
  for (int i = 0; i < n; i++) x[i] = uniform();
  for (int i = 0; i < k; i++) {
    u[i] = uniform();
    v[i] = uniform();
  }
  for (size_t i = 0; i < (size_t)m * n; i++) C[i] = D[i] = NAN; /* beta = 0 must overwrite */

  double t = now();
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, A, m, B, k, 0.0, C, m);
  double t_cblas = now() - t;

  const double one = 1.0, zero = 0.0;
  const int inc = 1;
  t = now();
  dgemm_("T", "T", &n, &m, &k, &one, B, &k, A, &m, &zero, D, &n, 1, 1);
  double t_f77 = now() - t;

  /* Naive triple loop on a sample of rows (every row when m <= 256), scaled by sum |a||b|. */
  int step = m <= 256 ? 1 : m / 128;
  double err_c = 0.0, err_d = 0.0;
  t = now();
  double* row = xmalloc((size_t)k, sizeof *row);
  for (int i = 0; i < m; i += step) {
    for (int l = 0; l < k; l++) row[l] = A[i + (size_t)l * m]; /* row i of A, contiguous */
    for (int j = 0; j < n; j++) {
      const double* bj = B + (size_t)j * k;
      double s = 0.0, scale = 0.0;
      for (int l = 0; l < k; l++) {
        double p = row[l] * bj[l];
        s += p;
        scale += fabs(p);
      }
      if (scale == 0.0) scale = 1.0;
      double ec = fabs(C[i + (size_t)j * m] - s) / scale;
      double ed = fabs(D[j + (size_t)i * n] - s) / scale;
      if (!(ec <= err_c)) err_c = ec; /* NaN-safe */
      if (!(ed <= err_d)) err_d = ed;
    }
  }
  free(row);
  double t_naive = now() - t;
  printf("  naive triple loop on %d of %d rows: %.3f s\n", (m + step - 1) / step, m, t_naive);
  report("cblas_dgemm(NoTrans, NoTrans) vs naive", err_c, t_cblas);
  report("dgemm_('T','T') = (A*B)^T vs naive", err_d, t_f77);

  /* All of C at once: C*x against A*(B*x), with dgemv_ and cblas_dgemv. */
  t = now();
  dgemv_("N", &k, &n, &one, B, &k, x, &inc, &zero, bx, &inc, 1);                 /* bx = B*x */
  cblas_dgemv(CblasColMajor, CblasNoTrans, m, k, 1.0, A, m, bx, 1, 0.0, abx, 1); /* abx = A*bx */
  dgemv_("N", &m, &n, &one, C, &m, x, &inc, &zero, cx, &inc, 1);                 /* cx = C*x */
  double t_gemv = now() - t;
  double err_f = 0.0, norm = 0.0;
  for (int i = 0; i < m; i++) {
    double e = fabs(cx[i] - abx[i]);
    if (!(e <= err_f)) err_f = e;
    if (fabs(abx[i]) > norm) norm = fabs(abx[i]);
  }
  /* |A||B||x| bound: entries below 1 in size, so k*n is a safe scale. */
  report("C*x vs A*(B*x) (dgemv_, cblas_dgemv)", err_f / ((double)k * n), t_gemv);

  /* Level 1: ddot_ and cblas_ddot against a plain loop. */
  double s = 0.0, scale = 0.0;
  for (int i = 0; i < k; i++) {
    s += u[i] * v[i];
    scale += fabs(u[i] * v[i]);
  }
  t = now();
  double d1 = ddot_(&k, u, &inc, v, &inc);
  double d2 = cblas_ddot(k, u, 1, v, 1);
  double t_dot = now() - t;
  double e1 = fabs(d1 - s) / scale, e2 = fabs(d2 - s) / scale;
  report("ddot_ and cblas_ddot vs loop", e1 > e2 ? e1 : e2, t_dot);

  double flops = 2.0 * m * n * k;
  printf("  dgemm rate: cblas_dgemm %.1f GFLOP/s, dgemm_ %.1f GFLOP/s\n", flops / t_cblas * 1e-9, flops / t_f77 * 1e-9);
  printf("max scaled error %.2e (tolerance %.0e): %s\n", worst, TOL, failures ? "FAIL" : "PASS");

  free(A);
  free(B);
  free(C);
  free(D);
  free(x);
  free(bx);
  free(abx);
  free(cx);
  free(u);
  free(v);
  return failures ? 1 : 0;
}
