/* An ordinary FFTW program (linked with -lfftw3 -lfftw3_threads, like any application): plans one
 * out-of-place transform, runs it once untimed, then REPS timed executions.
 *   fft_bench KIND SHAPE REPS THREADS RIGOR
 *     KIND c2c | r2c;  SHAPE n0[xn1[xn2]];  THREADS for fftw_plan_with_nthreads;  RIGOR estimate | measure
 * Prints one CSV line: kind,shape,threads,rigor,plan_s,best_s,median_s,checksum */
#include <fftw3.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s c2c|r2c n0[xn1[xn2]] reps threads estimate|measure\n", argv[0]);
    return 2;
  }
  const int r2c = strcmp(argv[1], "r2c") == 0;
  int n[3], rank = 0;
  for (char* s = argv[2]; s && *s && rank < 3; s = strchr(s, 'x') ? strchr(s, 'x') + 1 : NULL) n[rank++] = atoi(s);
  const int reps = atoi(argv[3]), threads = atoi(argv[4]);
  const unsigned rigor = strcmp(argv[5], "measure") == 0 ? FFTW_MEASURE : FFTW_ESTIMATE;
  size_t total = 1, half = 1;
  for (int i = 0; i < rank; ++i) {
    total *= (size_t)n[i];
    half *= (size_t)(i + 1 == rank ? n[i] / 2 + 1 : n[i]);
  }
  fftw_init_threads();
  fftw_plan_with_nthreads(threads);
  void* in = fftw_malloc(r2c ? sizeof(double) * total : sizeof(fftw_complex) * total);
  fftw_complex* out = fftw_alloc_complex(r2c ? half : total);
  double t0 = now();
  fftw_plan p = r2c ? fftw_plan_dft_r2c(rank, n, (double*)in, out, rigor)
                    : fftw_plan_dft(rank, n, (fftw_complex*)in, out, FFTW_FORWARD, rigor);
  const double plan_s = now() - t0;
  if (!p) {
    fprintf(stderr, "no plan\n");
    return 1;
  }
  /* Fill after planning (MEASURE overwrites the arrays). */
  double* d = (double*)in;
  const size_t reals = r2c ? total : 2 * total;
  for (size_t i = 0; i < reals; ++i) d[i] = sin(0.001 * (double)i) + 0.5 * cos(0.37 * (double)i);
  fftw_execute(p); /* warm-up: first remote call connects and makes the server's plan */
  double* times = malloc(sizeof(double) * (size_t)reps);
  for (int r = 0; r < reps; ++r) {
    t0 = now();
    fftw_execute(p);
    times[r] = now() - t0;
  }
  qsort(times, (size_t)reps, sizeof(double), cmp);
  double checksum = 0;
  const size_t outn = r2c ? half : total;
  for (size_t i = 0; i < outn; i += 1 + outn / 1024) checksum += fabs(out[i][0]) + fabs(out[i][1]);
  printf("%s,%s,%d,%s,%.6f,%.6f,%.6f,%.10g\n", argv[1], argv[2], threads, argv[5], plan_s, times[0], times[reps / 2],
         checksum);
  fftw_destroy_plan(p);
  fftw_free(in);
  fftw_free(out);
  free(times);
  return 0;
}
