/* Level-3 benchmark: an ordinary program linked with -lblas, so the same binary measures the local
 * library, rcpu (through LD_LIBRARY_PATH) and NVBLAS (through LD_PRELOAD) unchanged.
 *
 *   level3_bench ROUTINE N [REPS] [BETA]
 * ROUTINE: dgemm sgemm zgemm dtrsm dsyrk.  Prints one CSV line:
 *   routine,n,reps,best_s,median_s,gflops,checksum
 * Inputs are random (never zeros); the first call is a warm-up and is not timed. */
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void dgemm_(const char*, const char*, const int*, const int*, const int*, const double*, const double*, const int*,
            const double*, const int*, const double*, double*, const int*, size_t, size_t);
void sgemm_(const char*, const char*, const int*, const int*, const int*, const float*, const float*, const int*,
            const float*, const int*, const float*, float*, const int*, size_t, size_t);
void zgemm_(const char*, const char*, const int*, const int*, const int*, const double complex*, const double complex*,
            const int*, const double complex*, const int*, const double complex*, double complex*, const int*, size_t,
            size_t);
void dtrsm_(const char*, const char*, const char*, const char*, const int*, const int*, const double*, const double*,
            const int*, double*, const int*, size_t, size_t, size_t, size_t);
void dsyrk_(const char*, const char*, const int*, const int*, const double*, const double*, const int*, const double*,
            double*, const int*, size_t, size_t);

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* Uniform in [-0.5, 0.5): a 64-bit LCG, because filling gigabytes with rand() takes longer than
 * the calls being measured. */
static void fill(double* p, size_t count, unsigned seed) {
  unsigned long long x = 0x9e3779b97f4a7c15ull * (seed + 1);
  for (size_t i = 0; i < count; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    p[i] = (double)(x >> 11) * 0x1.0p-53 - 0.5;
  }
}

static int cmp(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s dgemm|sgemm|zgemm|dtrsm|dsyrk N [REPS] [BETA]\n", argv[0]);
    return 2;
  }
  const char* r = argv[1];
  const int n = atoi(argv[2]);
  const int reps = argc > 3 ? atoi(argv[3]) : 3;
  const double beta = argc > 4 ? atof(argv[4]) : 1.0;
  const size_t nn = (size_t)n * n;
  const int is_z = !strcmp(r, "zgemm"), is_s = !strcmp(r, "sgemm");
  const size_t words = is_z ? 2 * nn : nn; /* in doubles (sgemm uses half of it) */
  double* a = malloc(words * sizeof(double));
  double* b = malloc(words * sizeof(double));
  double* c = malloc(words * sizeof(double));
  if (!a || !b || !c) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }
  fill(a, words, 1);
  fill(b, words, 2);
  fill(c, words, 3);
  if (!strcmp(r, "dtrsm")) /* a well-conditioned triangle: strong diagonal */
    for (int i = 0; i < n; ++i) a[(size_t)i * n + i] += n;
  if (is_s) {
    float *fa = (float*)a, *fb = (float*)b, *fc = (float*)c;
    for (size_t i = 0; i < nn; ++i) {
      fa[i] = (float)a[i];
      fb[i] = (float)b[i];
      fc[i] = (float)c[i];
    }
  }
  double* times = calloc(reps, sizeof(double));
  const double one = 1.0;
  const float fone = 1.0f, fbeta = (float)beta;
  const double complex zone = 1.0, zbeta = beta;
  double flops = 2.0 * n * (double)n * n;
  if (is_z) flops *= 4;
  if (!strcmp(r, "dtrsm") || !strcmp(r, "dsyrk")) flops /= 2;
  for (int rep = -1; rep < reps; ++rep) {
    const double t0 = now();
    if (!strcmp(r, "dgemm"))
      dgemm_("N", "N", &n, &n, &n, &one, a, &n, b, &n, &beta, c, &n, 1, 1);
    else if (is_s)
      sgemm_("N", "N", &n, &n, &n, &fone, (float*)a, &n, (float*)b, &n, &fbeta, (float*)c, &n, 1, 1);
    else if (is_z)
      zgemm_("N", "N", &n, &n, &n, &zone, (double complex*)a, &n, (double complex*)b, &n, &zbeta, (double complex*)c,
             &n, 1, 1);
    else if (!strcmp(r, "dtrsm")) {
      fill(c, nn, 3 + rep); /* solve a fresh right-hand side each time */
      dtrsm_("L", "U", "N", "N", &n, &n, &one, a, &n, c, &n, 1, 1, 1, 1);
    } else if (!strcmp(r, "dsyrk"))
      dsyrk_("U", "N", &n, &n, &one, a, &n, &beta, c, &n, 1, 1);
    else {
      fprintf(stderr, "unknown routine %s\n", r);
      return 2;
    }
    if (rep >= 0) times[rep] = now() - t0;
  }
  double checksum = 0;
  for (size_t i = 0; i < nn; i += 997) checksum += is_s ? ((float*)c)[i] : c[i];
  qsort(times, reps, sizeof(double), cmp);
  printf("%s,%d,%d,%.6f,%.6f,%.1f,%.10g\n", r, n, reps, times[0], times[reps / 2], flops / times[0] / 1e9, checksum);
  return 0;
}
