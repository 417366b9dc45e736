/* Times LAPACK solvers of one library, unmodified calls: lapack_bench LIBRARY ROUTINE N [REPEATS]
 * LIBRARY: a path (the local OpenBLAS, or rcpu's liblapack.so.3) opened with dlopen.
 * ROUTINE: dgetrf dpotrf dgesv dgeqrf dsyevd dgesvd. Prints "ROUTINE N SECONDS INFO" per repeat:
 * the call itself (workspace queries and input copies are outside the timing). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int fint;
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}
static void* need(void* lib, const char* name) {
  void* p = dlsym(lib, name);
  if (!p) {
    fprintf(stderr, "no %s\n", name);
    exit(2);
  }
  return p;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: lapack_bench LIBRARY ROUTINE N [REPEATS]\n");
    return 2;
  }
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
  if (!lib) {
    fprintf(stderr, "%s\n", dlerror());
    return 2;
  }
  const char* r = argv[2];
  fint n = atoi(argv[3]), reps = argc > 4 ? atoi(argv[4]) : 2, one = 1, m1 = -1, info = 0;
  size_t nn = (size_t)n * n;
  double *a0 = malloc(nn * sizeof(double)), *a = malloc(nn * sizeof(double));
  double *b0 = malloc((size_t)n * sizeof(double)), *b = malloc((size_t)n * sizeof(double));
  fint* ipiv = malloc((size_t)n * sizeof(fint));
  srand(1);
  for (size_t i = 0; i < nn; ++i) a0[i] = (double)rand() / RAND_MAX - 0.5;
  for (fint i = 0; i < n; ++i) b0[i] = 1.0;
  if (!strcmp(r, "dpotrf") || !strcmp(r, "dsyevd")) /* symmetric; positive definite for potrf */
    for (fint j = 0; j < n; ++j)
      for (fint i = 0; i < j; ++i) a0[i + (size_t)j * n] = a0[j + (size_t)i * n];
  if (!strcmp(r, "dpotrf"))
    for (fint i = 0; i < n; ++i) a0[i + (size_t)i * n] += n;
  for (int rep = 0; rep < reps; ++rep) {
    memcpy(a, a0, nn * sizeof(double));
    memcpy(b, b0, (size_t)n * sizeof(double));
    double t0 = 0, t1 = 0;
    if (!strcmp(r, "dgetrf")) {
      void (*f)(const fint*, const fint*, double*, const fint*, fint*, fint*) = need(lib, "dgetrf_");
      t0 = now();
      f(&n, &n, a, &n, ipiv, &info);
      t1 = now();
    } else if (!strcmp(r, "dpotrf")) {
      void (*f)(const char*, const fint*, double*, const fint*, fint*, size_t) = need(lib, "dpotrf_");
      t0 = now();
      f("L", &n, a, &n, &info, 1);
      t1 = now();
    } else if (!strcmp(r, "dgesv")) {
      void (*f)(const fint*, const fint*, double*, const fint*, fint*, double*, const fint*, fint*) =
          need(lib, "dgesv_");
      t0 = now();
      f(&n, &one, a, &n, ipiv, b, &n, &info);
      t1 = now();
    } else if (!strcmp(r, "dgeqrf")) {
      void (*f)(const fint*, const fint*, double*, const fint*, double*, double*, const fint*, fint*) =
          need(lib, "dgeqrf_");
      double wq;
      f(&n, &n, a, &n, b, &wq, &m1, &info);
      fint lw = (fint)wq;
      double* w = malloc((size_t)lw * sizeof(double));
      t0 = now();
      f(&n, &n, a, &n, b, w, &lw, &info);
      t1 = now();
      free(w);
    } else if (!strcmp(r, "dsyevd")) {
      void (*f)(const char*, const char*, const fint*, double*, const fint*, double*, double*, const fint*, fint*,
                const fint*, fint*, size_t, size_t) = need(lib, "dsyevd_");
      double wq;
      fint iwq;
      f("V", "L", &n, a, &n, b, &wq, &m1, &iwq, &m1, &info, 1, 1);
      fint lw = (fint)wq, li = iwq;
      double* w = malloc((size_t)lw * sizeof(double));
      fint* iw = malloc((size_t)li * sizeof(fint));
      t0 = now();
      f("V", "L", &n, a, &n, b, w, &lw, iw, &li, &info, 1, 1);
      t1 = now();
      free(w);
      free(iw);
    } else if (!strcmp(r, "dgesvd")) {
      void (*f)(const char*, const char*, const fint*, const fint*, double*, const fint*, double*, double*, const fint*,
                double*, const fint*, double*, const fint*, fint*, size_t, size_t) = need(lib, "dgesvd_");
      double* u = malloc(nn * sizeof(double));
      double* vt = malloc(nn * sizeof(double));
      double wq;
      f("S", "S", &n, &n, a, &n, b, u, &n, vt, &n, &wq, &m1, &info, 1, 1);
      fint lw = (fint)wq;
      double* w = malloc((size_t)lw * sizeof(double));
      t0 = now();
      f("S", "S", &n, &n, a, &n, b, u, &n, vt, &n, w, &lw, &info, 1, 1);
      t1 = now();
      free(w);
      free(u);
      free(vt);
    } else {
      fprintf(stderr, "unknown routine %s\n", r);
      return 2;
    }
    printf("%s %d %.6f %d\n", r, n, t1 - t0, info);
    fflush(stdout);
  }
  return 0;
}
