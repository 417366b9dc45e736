// Level-3 calls through the real shim (linked with librcpu like any -lblas program) that the
// integration scenario `tiled` runs against rcpud with a tiny forced tile (RCPU_TILE, RCPU_TILE_BYTES),
// RCPU_POLICY=remote and RCPU_FALLBACK=error, so each call below really travels as pipelined
// tiles (or, for the calls that are not tiled, stop-and-wait) and any failure is fatal.
// Every result is compared with OpenBLAS called directly (dlopen'ed privately), and the padding
// of every array (lda > rows) must come back bit for bit unchanged.
//
// Odd shapes (not multiples of the tile), every transpose combination, row-major CBLAS, alpha = 0,
// beta = 0 with C full of NaN, k = 0, columns longer than a tile (row pieces), side R and rank-k
// updates (stop-and-wait), s/d/c/z.
#include <dlfcn.h>

#include <cmath>
#include <complex>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

using cf = std::complex<float>;
using cd = std::complex<double>;
using blas_int = int;
using len_t = std::size_t;

// One direct reference keeps the link to librcpu (--as-needed would drop a library whose symbols
// are only looked up with dlsym).
extern "C" void dgemm_(const char*, const char*, const blas_int*, const blas_int*, const blas_int*, const double*,
                       const double*, const blas_int*, const double*, const blas_int*, const double*, double*,
                       const blas_int*, len_t, len_t);

namespace {

enum CblasOrder { CblasRowMajor = 101, CblasColMajor = 102 };
enum CblasTranspose { CblasNoTrans = 111, CblasTrans = 112, CblasConjTrans = 113 };

template <class T>
using GemmFn = void (*)(const char*, const char*, const blas_int*, const blas_int*, const blas_int*, const T*, const T*,
                        const blas_int*, const T*, const blas_int*, const T*, T*, const blas_int*, len_t, len_t);
template <class T>
using SymmFn = void (*)(const char*, const char*, const blas_int*, const blas_int*, const T*, const T*, const blas_int*,
                        const T*, const blas_int*, const T*, T*, const blas_int*, len_t, len_t);
template <class T>
using TrFn = void (*)(const char*, const char*, const char*, const char*, const blas_int*, const blas_int*, const T*,
                      const T*, const blas_int*, T*, const blas_int*, len_t, len_t, len_t, len_t);
template <class T>
using SyrkFn = void (*)(const char*, const char*, const blas_int*, const blas_int*, const T*, const T*, const blas_int*,
                        const T*, T*, const blas_int*, len_t, len_t);
using CblasDgemmFn = void (*)(int, int, int, int, int, int, double, const double*, int, const double*, int, double,
                              double*, int);
using CblasZgemmFn = void (*)(int, int, int, int, int, int, const void*, const void*, int, const void*, int,
                              const void*, void*, int);

void* g_ref = nullptr;
void* g_shim = nullptr;
int g_failures = 0, g_calls = 0;
std::mt19937_64 g_rng(12345);

template <class F>
F sym(void* lib, const char* name) {
  void* p = dlsym(lib, name);
  if (!p) {
    std::fprintf(stderr, "missing symbol %s\n", name);
    std::exit(1);
  }
  return reinterpret_cast<F>(p);
}

template <class T>
struct Real {
  using type = T;
};
template <class R>
struct Real<std::complex<R>> {
  using type = R;
};
template <class T>
constexpr bool is_cplx = !std::is_same_v<typename Real<T>::type, T>;
template <class T>
const char* prefix() {
  if constexpr (std::is_same_v<T, float>)
    return "s";
  else if constexpr (std::is_same_v<T, double>)
    return "d";
  else if constexpr (std::is_same_v<T, cf>)
    return "c";
  else
    return "z";
}

template <class T>
T rnd() {
  std::uniform_real_distribution<double> u(-1, 1);
  if constexpr (is_cplx<T>)
    return T(typename Real<T>::type(u(g_rng)), typename Real<T>::type(u(g_rng)));
  else
    return T(u(g_rng));
}

// A column-major rows x cols array with leading dimension ld; padding rows hold a sentinel.
template <class T>
std::vector<T> matrix(std::int64_t rows, std::int64_t cols, std::int64_t ld, bool nan = false) {
  std::vector<T> v(std::size_t(std::max<std::int64_t>(1, ld * std::max<std::int64_t>(cols, 1))), T(1234.5));
  for (std::int64_t j = 0; j < cols; ++j)
    for (std::int64_t i = 0; i < rows; ++i)
      v[std::size_t(j * ld + i)] = nan ? T(std::numeric_limits<double>::quiet_NaN()) : rnd<T>();
  return v;
}
// Triangular/symmetric A (n x n) that is well conditioned for trsm: a dominant diagonal.
template <class T>
std::vector<T> square(std::int64_t n, std::int64_t ld) {
  std::vector<T> v = matrix<T>(n, n, ld);
  for (std::int64_t i = 0; i < n; ++i) v[std::size_t(i * ld + i)] += T(double(n) + 2);
  return v;
}

template <class T>
void compare(const std::string& what, const std::vector<T>& got, const std::vector<T>& want) {
  ++g_calls;
  using R = typename Real<T>::type;
  const double tol = std::is_same_v<R, float> ? 1e-4 : 1e-11;
  double worst = 0, scale = 1;
  for (const T& w : want)
    if (std::isfinite(std::abs(w))) scale = std::max(scale, double(std::abs(w)));
  for (std::size_t i = 0; i < got.size(); ++i) {
    const bool same_bits = std::memcmp(&got[i], &want[i], sizeof(T)) == 0;
    if (same_bits) continue;
    const double d = double(std::abs(got[i] - want[i])) / scale;
    if (!(d <= tol)) worst = std::max(worst, std::isnan(d) ? 1e300 : d);
  }
  if (worst > 0) {
    ++g_failures;
    std::printf("FAIL %s: max scaled difference %g\n", what.c_str(), worst);
  }
}

template <class T>
void gemm(char ta, char tb, blas_int m, blas_int n, blas_int k, T alpha, T beta, int pad, bool nan_c = false) {
  const std::int64_t ar = ta == 'N' ? m : k, ac = ta == 'N' ? k : m;
  const std::int64_t br = tb == 'N' ? k : n, bc = tb == 'N' ? n : k;
  const blas_int lda = blas_int(std::max<std::int64_t>(1, ar + pad)),
                 ldb = blas_int(std::max<std::int64_t>(1, br + pad + 1)), ldc = blas_int(std::max(1, m + 2 * pad));
  const auto A = matrix<T>(ar, ac, lda), B = matrix<T>(br, bc, ldb);
  auto C = matrix<T>(m, n, ldc, nan_c), Cref = C;
  const std::string name = std::string(prefix<T>()) + "gemm_";
  sym<GemmFn<T>>(g_ref, name.c_str())(&ta, &tb, &m, &n, &k, &alpha, A.data(), &lda, B.data(), &ldb, &beta, Cref.data(),
                                      &ldc, 1, 1);
  sym<GemmFn<T>>(g_shim, name.c_str())(&ta, &tb, &m, &n, &k, &alpha, A.data(), &lda, B.data(), &ldb, &beta, C.data(),
                                       &ldc, 1, 1);
  char what[160];
  std::snprintf(what, sizeof what, "%s('%c','%c') m=%d n=%d k=%d pad=%d%s", name.c_str(), ta, tb, m, n, k, pad,
                nan_c ? " C=NaN" : "");
  compare(what, C, Cref);
}

template <class T>
void symm(char side, char uplo, blas_int m, blas_int n, T alpha, T beta, bool herm = false) {
  const std::int64_t na = side == 'L' ? m : n;
  const blas_int lda = blas_int(na + 1), ldb = m + 3, ldc = m + 2;
  const auto A = square<T>(na, lda), B = matrix<T>(m, n, ldb);
  auto C = matrix<T>(m, n, ldc), Cref = C;
  const std::string name = std::string(prefix<T>()) + (herm ? "hemm_" : "symm_");
  sym<SymmFn<T>>(g_ref, name.c_str())(&side, &uplo, &m, &n, &alpha, A.data(), &lda, B.data(), &ldb, &beta, Cref.data(),
                                      &ldc, 1, 1);
  sym<SymmFn<T>>(g_shim, name.c_str())(&side, &uplo, &m, &n, &alpha, A.data(), &lda, B.data(), &ldb, &beta, C.data(),
                                       &ldc, 1, 1);
  compare(name + " side " + side + " uplo " + uplo, C, Cref);
}

template <class T>
void tr(const char* routine, char side, char uplo, char ta, char diag, blas_int m, blas_int n, T alpha) {
  const std::int64_t na = side == 'L' ? m : n;
  const blas_int lda = blas_int(na + 2), ldb = m + 1;
  const auto A = square<T>(na, lda);
  auto B = matrix<T>(m, n, ldb), Bref = B;
  const std::string name = std::string(prefix<T>()) + routine;
  sym<TrFn<T>>(g_ref, name.c_str())(&side, &uplo, &ta, &diag, &m, &n, &alpha, A.data(), &lda, Bref.data(), &ldb, 1, 1,
                                    1, 1);
  sym<TrFn<T>>(g_shim, name.c_str())(&side, &uplo, &ta, &diag, &m, &n, &alpha, A.data(), &lda, B.data(), &ldb, 1, 1, 1,
                                     1);
  compare(name + " " + side + uplo + ta + diag + " m=" + std::to_string(m) + " n=" + std::to_string(n), B, Bref);
}

template <class T>
void syrk(char uplo, char trans, blas_int n, blas_int k) {
  const std::int64_t ar = trans == 'N' ? n : k, ac = trans == 'N' ? k : n;
  const blas_int lda = blas_int(ar + 1), ldc = n + 2;
  const auto A = matrix<T>(ar, ac, lda);
  auto C = matrix<T>(n, n, ldc), Cref = C;
  const T alpha = T(0.5), beta = T(1.5);
  const std::string name = std::string(prefix<T>()) + "syrk_";
  sym<SyrkFn<T>>(g_ref, name.c_str())(&uplo, &trans, &n, &k, &alpha, A.data(), &lda, &beta, Cref.data(), &ldc, 1, 1);
  sym<SyrkFn<T>>(g_shim, name.c_str())(&uplo, &trans, &n, &k, &alpha, A.data(), &lda, &beta, C.data(), &ldc, 1, 1);
  compare(name + " " + uplo + trans, C, Cref);
}

void cblas_row_major() {
  const int m = 23, n = 31, k = 19;
  for (int ta : {CblasNoTrans, CblasTrans})
    for (int tb : {CblasNoTrans, CblasTrans}) {
      // Row-major: A is m x k (or k x m) stored by rows, lda >= its column count.
      const int arows = ta == CblasNoTrans ? m : k, acols = ta == CblasNoTrans ? k : m;
      const int brows = tb == CblasNoTrans ? k : n, bcols = tb == CblasNoTrans ? n : k;
      const int lda = acols + 2, ldb = bcols + 1, ldc = n + 3;
      // Stored transposed: a row-major r x c array is a column-major c x r array.
      const auto A = matrix<double>(acols, arows, lda), B = matrix<double>(bcols, brows, ldb);
      auto C = matrix<double>(n, m, ldc), Cref = C;
      sym<CblasDgemmFn>(g_ref, "cblas_dgemm")(CblasRowMajor, ta, tb, m, n, k, 0.75, A.data(), lda, B.data(), ldb, 0.25,
                                              Cref.data(), ldc);
      sym<CblasDgemmFn>(g_shim, "cblas_dgemm")(CblasRowMajor, ta, tb, m, n, k, 0.75, A.data(), lda, B.data(), ldb, 0.25,
                                               C.data(), ldc);
      compare("cblas_dgemm RowMajor " + std::to_string(ta) + "," + std::to_string(tb), C, Cref);
    }
  {
    const int lda = k + 1, ldb = k + 2, ldc = n + 1;  // A m x k (NoTrans), B^H: B stored n x k rows
    const auto A = matrix<cd>(k, m, lda), B = matrix<cd>(k, n, ldb);
    auto C = matrix<cd>(n, m, ldc), Cref = C;
    const cd alpha(0.5, -1), beta(0.25, 0.5);
    sym<CblasZgemmFn>(g_ref, "cblas_zgemm")(CblasRowMajor, CblasNoTrans, CblasConjTrans, m, n, k, &alpha, A.data(), lda,
                                            B.data(), ldb, &beta, Cref.data(), ldc);
    sym<CblasZgemmFn>(g_shim, "cblas_zgemm")(CblasRowMajor, CblasNoTrans, CblasConjTrans, m, n, k, &alpha, A.data(),
                                             lda, B.data(), ldb, &beta, C.data(), ldc);
    compare("cblas_zgemm RowMajor NoTrans,ConjTrans", C, Cref);
  }
}

}  // namespace

// The reference binds to itself (RTLD_DEEPBIND) so that nothing it calls lands in the shim. The
// sanitizers refuse RTLD_DEEPBIND (their interceptors must stay first); the Level-3 entry points this
// program calls do their work inside OpenBLAS without calling another exported BLAS symbol, so the
// reference is still OpenBLAS alone there.
#if defined(__SANITIZE_ADDRESS__)
constexpr int kReferenceBinding = 0;
#else
constexpr int kReferenceBinding = RTLD_DEEPBIND;
#endif

int main(int argc, char** argv) {
  const char* ref_path = argc > 1 ? argv[1] : "libopenblas.so.0";
  g_ref = dlopen(ref_path, RTLD_NOW | RTLD_LOCAL | kReferenceBinding);
  if (!g_ref) {
    std::printf("SKIP: cannot open the reference library %s: %s\n", ref_path, dlerror());
    return 77;
  }
  g_shim = RTLD_DEFAULT;  // the program's own BLAS: librcpu
  if (dlsym(g_shim, "dgemm_") != reinterpret_cast<void*>(&dgemm_)) return 1;
  const char* tnames = "NTC";
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      gemm<double>(tnames[i], tnames[j], 37, 53, 29, 1.25, 0.75, 3);
      gemm<cd>(tnames[i], tnames[j], 19, 23, 17, cd(0.5, 1), cd(-0.25, 0.5), 2);
    }
  gemm<float>('N', 'N', 41, 30, 33, 1.5f, 0.5f, 1);
  gemm<float>('T', 'N', 41, 30, 33, 1.5f, 0.0f, 0);
  gemm<cf>('C', 'T', 21, 26, 14, cf(1, -0.5), cf(0.5, 0.5), 1);
  gemm<double>('N', 'N', 33, 40, 21, 1.0, 0.0, 2, true);  // beta = 0, C full of NaN: must not leak
  gemm<double>('T', 'C', 33, 40, 21, 2.0, 0.0, 0, true);  // same, contiguous C (received in place)
  gemm<cd>('N', 'T', 17, 25, 9, cd(1, 1), cd(0, 0), 1, true);
  gemm<double>('N', 'N', 30, 20, 10, 0.0, 0.5, 1);    // alpha = 0
  gemm<double>('N', 'N', 30, 20, 0, 1.0, 2.0, 1);     // k = 0
  gemm<double>('N', 'N', 700, 40, 600, 0.5, 1.0, 3);  // columns longer than a tile: row pieces
  gemm<double>('T', 'N', 5, 300, 600, 0.5, 1.0, 1);   // short columns (packed sends)
  gemm<double>('N', 'T', 64, 64, 64, 1.0, 1.0, 0);    // exact multiples of the tile width
  cblas_row_major();
  for (char uplo : {'U', 'L'}) {
    symm<double>('L', uplo, 29, 43, 0.5, 1.5);
    symm<double>('L', uplo, 29, 43, 0.5, 0.0);
    symm<double>('R', uplo, 29, 43, 0.5, 1.5);  // side R: stop-and-wait
    symm<cd>('L', uplo, 13, 22, cd(1, 0.5), cd(0.5, 0), true);
    syrk<double>(uplo, 'N', 35, 12);
    syrk<double>(uplo, 'T', 35, 12);
  }
  for (const char* r : {"trmm_", "trsm_"})
    for (char uplo : {'U', 'L'})
      for (char ta : {'N', 'T', 'C'})
        for (char diag : {'N', 'U'}) {
          tr<double>(r, 'L', uplo, ta, diag, 31, 45, 0.75);
          tr<double>(r, 'R', uplo, ta, diag, 31, 45, 0.75);  // stop-and-wait
          tr<cd>(r, 'L', uplo, ta, diag, 12, 19, cd(0.5, -0.5));
        }
  tr<float>("trsm_", 'L', 'U', 'N', 'N', 40, 33, 1.0f);
  tr<cf>("trmm_", 'L', 'L', 'C', 'U', 17, 21, cf(1, 1));
  std::printf("%d calls compared, %d failed\n", g_calls, g_failures);
  return g_failures == 0 ? 0 : 1;
}
