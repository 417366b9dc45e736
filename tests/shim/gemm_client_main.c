/* An unmodified program (linked with -lblas) for the shim's fault and concurrency tests.
 *
 *   gemm_client_main CALLS N THREADS FORK
 * Each of THREADS threads makes CALLS dgemm_ calls (m = N, n = N-1, k = N+1, lda/ldb/ldc larger
 * than the rows, beta != 0, the padding filled with sentinels) plus one cblas_dgemm row-major call,
 * and checks every result against a naive product, and that no sentinel was overwritten. With
 * FORK = 1 the process forks after the first round: the child repeats the work (its own
 * connections) while the parent does too. Prints "PASS" and exits 0 when every number is right. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void dgemm_(const char*, const char*, const int*, const int*, const int*, const double*, const double*, const int*,
            const double*, const int*, const double*, double*, const int*, size_t, size_t);
enum { RowMajor = 101, ColMajor = 102, NoTrans = 111, Trans = 112 };
void cblas_dgemm(int, int, int, int, int, int, double, const double*, int, const double*, int, double, double*, int);

static int g_calls, g_n;
static const double kSentinel = 1234.5;

static double rnd(unsigned* s) { return (double)rand_r(s) / RAND_MAX - 0.5; }

static int one_round(unsigned seed) {
  const int m = g_n, n = g_n - 1, k = g_n + 1, lda = m + 3, ldb = k + 2, ldc = m + 5;
  double* a = malloc(sizeof(double) * lda * k);
  double* b = malloc(sizeof(double) * ldb * n);
  double* c = malloc(sizeof(double) * ldc * n);
  double* ref = malloc(sizeof(double) * m * n);
  unsigned s = seed;
  for (int i = 0; i < lda * k; ++i) a[i] = rnd(&s);
  for (int i = 0; i < ldb * n; ++i) b[i] = rnd(&s);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < ldc; ++i) c[i + j * ldc] = i < m ? rnd(&s) : kSentinel;
  const double alpha = 1.5, beta = -0.75;
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      double t = 0;
      for (int l = 0; l < k; ++l) t += a[i + l * lda] * b[l + j * ldb];
      ref[i + j * m] = alpha * t + beta * c[i + j * ldc];
    }
  dgemm_("N", "N", &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc, 1, 1);
  int bad = 0;
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < ldc; ++i) {
      const double got = c[i + j * ldc];
      if (i < m ? fabs(got - ref[i + j * m]) > 1e-10 * (k + 1) : got != kSentinel) ++bad;
    }
  /* Row-major CBLAS: C (m x n, ldc) := A (m x k) * B (k x n), all row-major. */
  double* cr = calloc((size_t)m * (n + 1), sizeof(double));
  cblas_dgemm(RowMajor, NoTrans, NoTrans, m, n, k, 1.0, a, k, b, n, 0.0, cr, n + 1);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double t = 0;
      for (int l = 0; l < k; ++l) t += a[i * k + l] * b[l * n + j];
      if (fabs(cr[i * (n + 1) + j] - t) > 1e-10 * (k + 1)) ++bad;
    }
  free(a), free(b), free(c), free(ref), free(cr);
  return bad;
}

static void* worker(void* arg) {
  long bad = 0;
  for (int i = 0; i < g_calls; ++i) bad += one_round((unsigned)(long)arg * 1000 + i);
  return (void*)bad;
}

static long run_threads(int threads) {
  pthread_t t[64];
  long bad = 0;
  for (int i = 0; i < threads; ++i) pthread_create(&t[i], NULL, worker, (void*)(long)(i + 1));
  for (int i = 0; i < threads; ++i) {
    void* r;
    pthread_join(t[i], &r);
    bad += (long)r;
  }
  return bad;
}

int main(int argc, char** argv) {
  if (argc < 5) return 2;
  g_calls = atoi(argv[1]);
  g_n = atoi(argv[2]);
  const int threads = atoi(argv[3]), do_fork = atoi(argv[4]);
  long bad = run_threads(threads);
  if (do_fork) {
    pid_t pid = fork();
    if (pid == 0) _exit(run_threads(threads) ? 1 : 0);
    bad += run_threads(threads);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      printf("child failed (status %d)\n", status);
      bad += 1;
    }
  }
  if (bad) {
    printf("FAIL: %ld wrong elements\n", bad);
    return 1;
  }
  printf("PASS\n");
  return 0;
}
