// Every offloaded LAPACK routine (spec/offload/lapack.txt), s/d/c/z, called through the shim and
// through the local library directly, on the same random, ill-conditioned and singular inputs:
// INFO must be identical, outputs equal within a tolerance (bit-for-bit is not required: the GPU
// variant runs cuSOLVER), and every byte LAPACK does not write (padding rows below the leading
// dimension, the other triangle of potrf/potri/trtri) identical.
//
// usage: compare_solvers LOCAL_LIBRARY [--gpu]
//   The shim is "liblapack.so.3" as the loader finds it (LD_LIBRARY_PATH = the shim dir); the
//   driver (check_compare.py) runs this with RCPU_POLICY=remote and a live rcpud, and checks in the
//   trace that every routine really ran remotely. --gpu: singular vectors and eigenvectors are
//   compared up to a unit factor per column, with tolerances for another algorithm.
#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

using fint = int;
using flen = std::size_t;

namespace {

bool g_gpu = false;
int g_failures = 0, g_checks = 0;
void* g_shim = nullptr;
void* g_local = nullptr;

template <class T>
struct Real {
  using type = T;
};
template <class R>
struct Real<std::complex<R>> {
  using type = R;
};
template <class T>
using real_t = typename Real<T>::type;
template <class T>
constexpr bool is_cplx = !std::is_same_v<T, real_t<T>>;

template <class T>
T cj(T x) {
  if constexpr (is_cplx<T>)
    return std::conj(x);
  else
    return x;
}

template <class T>
char letter() {
  if constexpr (std::is_same_v<T, float>)
    return 's';
  else if constexpr (std::is_same_v<T, double>)
    return 'd';
  else if constexpr (std::is_same_v<T, std::complex<float>>)
    return 'c';
  else
    return 'z';
}

template <class F>
F sym(void* lib, const std::string& name) {
  void* p = dlsym(lib, name.c_str());
  if (!p) {
    std::fprintf(stderr, "missing symbol %s\n", name.c_str());
    std::exit(2);
  }
  return reinterpret_cast<F>(p);
}

// The routine's name for this type: "getrf" -> dgetrf_, "orgqr" -> cungqr_ for complex types.
template <class T>
std::string name_of(std::string family) {
  if (is_cplx<T>) {
    if (family == "orgqr") family = "ungqr";
    if (family == "ormqr") family = "unmqr";
    if (family == "syevd") family = "heevd";
    if (family == "syev") family = "heev";
  }
  return std::string(1, letter<T>()) + family + "_";
}

std::mt19937_64 g_rng(12345);
template <class T>
T rnd() {
  std::uniform_real_distribution<double> u(-1, 1);
  if constexpr (is_cplx<T>)
    return T(real_t<T>(u(g_rng)), real_t<T>(u(g_rng)));
  else
    return T(u(g_rng));
}

enum class Kind { random, illcond, singular };
const char* kind_name(Kind k) {
  return k == Kind::random ? "random" : k == Kind::illcond ? "ill-conditioned" : "singular";
}

// A column-major m x n matrix with leading dimension ld; padding rows hold a sentinel.
template <class T>
struct Mat {
  fint m = 0, n = 0, ld = 1;
  std::vector<T> v;
  Mat() = default;
  Mat(fint m_, fint n_, fint pad = 3)
      : m(m_), n(n_), ld(std::max(1, m_ + pad)), v(std::size_t(ld) * std::max(1, n_), T(777)) {}
  T& operator()(fint i, fint j) { return v[std::size_t(j) * ld + i]; }
};

template <class T>
Mat<T> general(fint m, fint n, Kind kind) {
  Mat<T> a(m, n);
  for (fint j = 0; j < n; ++j)
    for (fint i = 0; i < m; ++i) a(i, j) = rnd<T>();
  if (kind == Kind::illcond)
    for (fint j = 0; j < n; ++j)
      for (fint i = 0; i < m; ++i) a(i, j) *= real_t<T>(std::pow(10.0, -6.0 * j / std::max(1, n - 1)));
  if (kind == Kind::singular && n > 0)
    for (fint i = 0; i < m; ++i) a(i, n / 2) = T(0);
  return a;
}

// Hermitian positive definite (random, ill-conditioned by a diagonal scaling), or Hermitian
// indefinite for Kind::singular (not positive definite: potrf reports the failing minor).
template <class T>
Mat<T> hermitian(fint n, Kind kind, bool definite) {
  Mat<T> b = general<T>(n, n, Kind::random), a(n, n);
  for (fint j = 0; j < n; ++j)
    for (fint i = 0; i < n; ++i) {
      T s(0);
      if (definite)
        for (fint k = 0; k < n; ++k) s += cj(b(k, i)) * b(k, j);
      else
        s = b(i, j) + cj(b(j, i));
      a(i, j) = s;
    }
  for (fint i = 0; i < n; ++i) a(i, i) = T(std::real(a(i, i)) + (definite ? n : 0));
  if (kind == Kind::illcond)
    for (fint j = 0; j < n; ++j)
      for (fint i = 0; i < n; ++i) a(i, j) *= real_t<T>(std::pow(10.0, -3.0 * (i + j) / std::max(1, n - 1)));
  if (kind == Kind::singular && definite) a(n / 2, n / 2) = T(-1);
  return a;
}

template <class T>
double eps() {
  return std::numeric_limits<real_t<T>>::epsilon();
}

// Compares two arrays of the same layout: sentinels (and anything LAPACK must not write) equal,
// the rest within tol * max|ref|.
template <class T>
void compare(const std::string& what, const std::vector<T>& got, const std::vector<T>& ref, double tol) {
  ++g_checks;
  double scale = 0, worst = 0;
  std::size_t at = 0;
  for (const T& x : ref) scale = std::max(scale, double(std::abs(x)));
  for (std::size_t i = 0; i < ref.size(); ++i) {
    if (ref[i] == T(777) || got[i] == T(777)) {
      if (!(ref[i] == got[i])) {
        worst = INFINITY;
        at = i;
        break;
      }
      continue;
    }
    const double d = std::abs(got[i] - ref[i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  if (!(worst <= tol * std::max(scale, 1e-30))) {
    ++g_failures;
    std::printf("FAIL %s: differs by %.3g (scale %.3g, tol %.3g) at %zu\n", what.c_str(), worst, scale, tol, at);
  }
}

void compare_info(const std::string& what, fint got, fint ref) {
  ++g_checks;
  if (got != ref) {
    ++g_failures;
    std::printf("FAIL %s: info %d, local library %d\n", what.c_str(), got, ref);
  }
}

// Singular vectors / eigenvectors, column by column, up to a unit factor (the GPU computes another
// but equally valid basis): |<u_j, v_j>| ~ 1. Rows x cols inside arrays of leading dimension ld.
template <class T>
void compare_columns(const std::string& what, const Mat<T>& got, const Mat<T>& ref, fint rows, fint cols, double tol) {
  ++g_checks;
  for (fint j = 0; j < cols; ++j) {
    T dot(0);
    double ng = 0, nr = 0;
    for (fint i = 0; i < rows; ++i) {
      dot += cj(got.v[std::size_t(j) * got.ld + i]) * ref.v[std::size_t(j) * ref.ld + i];
      ng += std::norm(got.v[std::size_t(j) * got.ld + i]);
      nr += std::norm(ref.v[std::size_t(j) * ref.ld + i]);
    }
    if (std::abs(std::abs(dot) - std::sqrt(ng * nr)) > tol * std::max(1.0, std::sqrt(ng * nr))) {
      ++g_failures;
      std::printf("FAIL %s: column %d is not parallel to the local one\n", what.c_str(), j);
      return;
    }
  }
}

// An eigendecomposition judged as LAPACK's own tester does (xSYT21): the residual
// ||A V - V diag(w)||_F / (||A||_F n eps) and the orthogonality ||V^H V - I||_F / (n eps), each
// at most 100. Used instead of comparing eigenvectors with the local ones: eigenvectors of
// eigenvalues closer than eps ||A|| (the graded, ill-conditioned inputs) are not unique, and the
// GPU's differ from the local library's while being just as right.
template <class T, class R>
void check_eigenpairs(const std::string& what, Mat<T> a0, Mat<T> v, const std::vector<R>& w, fint n) {
  ++g_checks;
  double anorm = 0, res = 0, orth = 0;
  for (fint j = 0; j < n; ++j)
    for (fint i = 0; i < n; ++i) anorm += std::norm(a0(i, j));
  for (fint j = 0; j < n; ++j)
    for (fint i = 0; i < n; ++i) {
      T av(0), vv(0);
      for (fint k = 0; k < n; ++k) {
        av += a0(i, k) * v(k, j);
        vv += cj(v(k, i)) * v(k, j);
      }
      res += std::norm(av - v(i, j) * T(w[std::size_t(j)]));
      orth += std::norm(vv - T(i == j ? 1 : 0));
    }
  const double e = double(eps<T>()) * std::max(1, n);
  const double r = std::sqrt(res) / (std::max(std::sqrt(anorm), 1e-300) * e), o = std::sqrt(orth) / e;
  if (!(r <= 100 && o <= 100)) {
    ++g_failures;
    std::printf("FAIL %s: residual %.3g, orthogonality %.3g (units of n eps, at most 100)\n", what.c_str(), r, o);
  }
}

// The array with every element of the m x n block zeroed: what is left are the padding rows.
template <class T>
std::vector<T> padding_only(Mat<T> a) {
  for (fint j = 0; j < a.n; ++j)
    for (fint i = 0; i < a.m; ++i) a(i, j) = T(0);
  return a.v;
}
// The array with the triangle `uplo` (diagonal included) zeroed.
template <class T>
std::vector<T> outside_triangle(Mat<T> a, char uplo) {
  for (fint j = 0; j < a.n; ++j)
    for (fint i = 0; i < a.m; ++i)
      if (uplo == 'U' ? i <= j : i >= j) a(i, j) = T(0);
  return a.v;
}

template <class T>
double tol_for(Kind kind, fint n) {
  if (!g_gpu) return 64 * eps<T>() * std::max(1, n);
  return (kind == Kind::random ? 1e3 * n * eps<T>() : std::sqrt(eps<T>()));
}

std::string label(const std::string& r, Kind k, const std::string& extra = "") {
  return r + " " + kind_name(k) + (extra.empty() ? "" : " " + extra);
}

// Workspace query through the library itself, as applications do.
template <class T>
fint lwork_of(T w) {
  return fint(std::real(w));
}

// ---- the routines ----

template <class T>
void test_getrf(Kind kind, fint m, fint n) {
  using F = void (*)(const fint*, const fint*, T*, const fint*, fint*, fint*);
  const std::string r = name_of<T>("getrf");
  Mat<T> a0 = general<T>(m, n, kind);
  Mat<T> a1 = a0, a2 = a0;
  std::vector<fint> p1(std::min(m, n) + 2, -7), p2 = p1;
  fint i1 = -99, i2 = -99;
  sym<F>(g_shim, r)(&m, &n, a1.v.data(), &a1.ld, p1.data(), &i1);
  sym<F>(g_local, r)(&m, &n, a2.v.data(), &a2.ld, p2.data(), &i2);
  const std::string what = label(r, kind, std::to_string(m) + "x" + std::to_string(n));
  compare_info(what, i1, i2);
  // On the GPU, pivots of nearly tied (ill-conditioned) or exactly tied (a zero column) candidates
  // may legitimately differ; INFO may not.
  if (g_gpu && kind != Kind::random) return;
  compare(what + " LU", a1.v, a2.v, tol_for<T>(kind, n));
  ++g_checks;
  if (p1 != p2) {
    ++g_failures;
    std::printf("FAIL %s: pivots differ\n", what.c_str());
  }
}

template <class T>
void test_gesv_family(Kind kind, fint n, fint nrhs) {
  using Getrf = void (*)(const fint*, const fint*, T*, const fint*, fint*, fint*);
  using Getrs =
      void (*)(const char*, const fint*, const fint*, const T*, const fint*, const fint*, T*, const fint*, fint*, flen);
  using Gesv = void (*)(const fint*, const fint*, T*, const fint*, fint*, T*, const fint*, fint*);
  using Getri = void (*)(const fint*, T*, const fint*, const fint*, T*, const fint*, fint*);
  const double tol = tol_for<T>(kind, n);
  Mat<T> a0 = general<T>(n, n, kind), b0 = general<T>(n, nrhs, Kind::random);
  {  // gesv
    const std::string r = name_of<T>("gesv");
    Mat<T> a1 = a0, a2 = a0, b1 = b0, b2 = b0;
    std::vector<fint> p1(n, -7), p2(n, -7);
    fint i1 = -99, i2 = -99;
    sym<Gesv>(g_shim, r)(&n, &nrhs, a1.v.data(), &a1.ld, p1.data(), b1.v.data(), &b1.ld, &i1);
    sym<Gesv>(g_local, r)(&n, &nrhs, a2.v.data(), &a2.ld, p2.data(), b2.v.data(), &b2.ld, &i2);
    compare_info(label(r, kind), i1, i2);
    if (!g_gpu || kind == Kind::random) {
      compare(label(r, kind, "LU"), a1.v, a2.v, tol);
      if (kind != Kind::illcond) compare(label(r, kind, "X"), b1.v, b2.v, tol);
    }
  }
  // getrs and getri on the local library's factors.
  Mat<T> lu = a0;
  std::vector<fint> piv(n);
  fint info = 0;
  sym<Getrf>(g_local, name_of<T>("getrf"))(&n, &n, lu.v.data(), &lu.ld, piv.data(), &info);
  if (info == 0) {
    for (char trans : std::string(is_cplx<T> ? "NTC" : "NT")) {
      const std::string r = name_of<T>("getrs");
      Mat<T> b1 = b0, b2 = b0;
      fint i1 = -99, i2 = -99;
      sym<Getrs>(g_shim, r)(&trans, &n, &nrhs, lu.v.data(), &lu.ld, piv.data(), b1.v.data(), &b1.ld, &i1, 1);
      sym<Getrs>(g_local, r)(&trans, &n, &nrhs, lu.v.data(), &lu.ld, piv.data(), b2.v.data(), &b2.ld, &i2, 1);
      compare_info(label(r, kind, std::string("trans=") + trans), i1, i2);
      if (kind != Kind::illcond) compare(label(r, kind, std::string("trans=") + trans), b1.v, b2.v, tol);
    }
  }
  {
    const std::string r = name_of<T>("getri");
    Mat<T> a1 = lu, a2 = lu;
    T wq;
    fint m1 = -1, iq = 0;
    sym<Getri>(g_shim, r)(&n, a1.v.data(), &a1.ld, piv.data(), &wq, &m1, &iq);
    fint lw = std::max(1, lwork_of(wq));
    std::vector<T> w1(lw), w2(lw);
    fint i1 = -99, i2 = -99;
    sym<Getri>(g_shim, r)(&n, a1.v.data(), &a1.ld, piv.data(), w1.data(), &lw, &i1);
    sym<Getri>(g_local, r)(&n, a2.v.data(), &a2.ld, piv.data(), w2.data(), &lw, &i2);
    compare_info(label(r, kind), i1, i2);
    if (kind != Kind::illcond) compare(label(r, kind, "inverse"), a1.v, a2.v, tol);
  }
}

template <class T>
void test_po_family(Kind kind, fint n, fint nrhs) {
  using Potrf = void (*)(const char*, const fint*, T*, const fint*, fint*, flen);
  using Potrs = void (*)(const char*, const fint*, const fint*, const T*, const fint*, T*, const fint*, fint*, flen);
  using Potri = Potrf;
  using Trtri = void (*)(const char*, const char*, const fint*, T*, const fint*, fint*, flen, flen);
  const double tol = tol_for<T>(kind, n);
  Mat<T> a0 = hermitian<T>(n, kind, true), b0 = general<T>(n, nrhs, Kind::random);
  for (char uplo : std::string("UL")) {
    const std::string u = std::string("uplo=") + uplo;
    Mat<T> f = a0;
    {
      const std::string r = name_of<T>("potrf");
      Mat<T> a1 = a0, a2 = a0;
      fint i1 = -99, i2 = -99;
      sym<Potrf>(g_shim, r)(&uplo, &n, a1.v.data(), &a1.ld, &i1, 1);
      sym<Potrf>(g_local, r)(&uplo, &n, a2.v.data(), &a2.ld, &i2, 1);
      compare_info(label(r, kind, u), i1, i2);
      compare(label(r, kind, u), a1.v, a2.v, tol);
      f = a2;
    }
    {
      const std::string r = name_of<T>("posv");
      using Posv = void (*)(const char*, const fint*, const fint*, T*, const fint*, T*, const fint*, fint*, flen);
      Mat<T> a1 = a0, a2 = a0, b1 = b0, b2 = b0;
      fint i1 = -99, i2 = -99;
      sym<Posv>(g_shim, r)(&uplo, &n, &nrhs, a1.v.data(), &a1.ld, b1.v.data(), &b1.ld, &i1, 1);
      sym<Posv>(g_local, r)(&uplo, &n, &nrhs, a2.v.data(), &a2.ld, b2.v.data(), &b2.ld, &i2, 1);
      compare_info(label(r, kind, u), i1, i2);
      compare(label(r, kind, u + " factor"), a1.v, a2.v, tol);
      compare(label(r, kind, u + " X"), b1.v, b2.v, tol);
    }
    if (kind == Kind::singular) continue;  // potrs/potri need a factor
    {
      const std::string r = name_of<T>("potrs");
      Mat<T> b1 = b0, b2 = b0;
      fint i1 = -99, i2 = -99;
      sym<Potrs>(g_shim, r)(&uplo, &n, &nrhs, f.v.data(), &f.ld, b1.v.data(), &b1.ld, &i1, 1);
      sym<Potrs>(g_local, r)(&uplo, &n, &nrhs, f.v.data(), &f.ld, b2.v.data(), &b2.ld, &i2, 1);
      compare_info(label(r, kind, u), i1, i2);
      compare(label(r, kind, u), b1.v, b2.v, tol);
    }
    {
      const std::string r = name_of<T>("potri");
      Mat<T> a1 = f, a2 = f;
      fint i1 = -99, i2 = -99;
      sym<Potri>(g_shim, r)(&uplo, &n, a1.v.data(), &a1.ld, &i1, 1);
      sym<Potri>(g_local, r)(&uplo, &n, a2.v.data(), &a2.ld, &i2, 1);
      compare_info(label(r, kind, u), i1, i2);
      compare(label(r, kind, u), a1.v, a2.v, kind == Kind::illcond && g_gpu ? 1e-2 : tol);
    }
  }
  // trtri: a triangular matrix from the general generator (singular: a zero on the diagonal).
  for (char uplo : std::string("UL"))
    for (char diag : std::string("NU")) {
      const std::string r = name_of<T>("trtri");
      Mat<T> t = general<T>(n, n, Kind::random);
      for (fint i = 0; i < n; ++i) t(i, i) = T(real_t<T>(2 + std::abs(rnd<T>())));
      if (kind == Kind::singular) t(n / 3, n / 3) = T(0);
      if (kind == Kind::illcond)
        for (fint i = 0; i < n; ++i) t(i, i) *= real_t<T>(std::pow(10.0, -4.0 * i / n));
      Mat<T> a1 = t, a2 = t;
      fint i1 = -99, i2 = -99;
      sym<Trtri>(g_shim, r)(&uplo, &diag, &n, a1.v.data(), &a1.ld, &i1, 1, 1);
      sym<Trtri>(g_local, r)(&uplo, &diag, &n, a2.v.data(), &a2.ld, &i2, 1, 1);
      const std::string what = label(r, kind, std::string("uplo=") + uplo + " diag=" + diag);
      compare_info(what, i1, i2);
      compare(what, a1.v, a2.v, kind == Kind::illcond && g_gpu ? 1e-2 : tol);
    }
}

template <class T>
void test_qr_family(Kind kind, fint m, fint n, fint nrhs) {
  using Geqrf = void (*)(const fint*, const fint*, T*, const fint*, T*, T*, const fint*, fint*);
  using Orgqr = void (*)(const fint*, const fint*, const fint*, T*, const fint*, const T*, T*, const fint*, fint*);
  using Ormqr = void (*)(const char*, const char*, const fint*, const fint*, const fint*, const T*, const fint*,
                         const T*, T*, const fint*, T*, const fint*, fint*, flen, flen);
  using Gels = void (*)(const char*, const fint*, const fint*, const fint*, T*, const fint*, T*, const fint*, T*,
                        const fint*, fint*, flen);
  const double tol = tol_for<T>(kind, std::max(m, n));
  const std::string dims = std::to_string(m) + "x" + std::to_string(n);
  Mat<T> a0 = general<T>(m, n, kind);
  const fint k = std::min(m, n);
  Mat<T> qr = a0;
  std::vector<T> tau(std::max(1, k));
  {
    const std::string r = name_of<T>("geqrf");
    Mat<T> a1 = a0, a2 = a0;
    std::vector<T> t1(k + 1, T(777)), t2 = t1;
    T wq;
    fint m1 = -1, iq;
    sym<Geqrf>(g_shim, r)(&m, &n, a1.v.data(), &a1.ld, t1.data(), &wq, &m1, &iq);
    fint lw = std::max(1, lwork_of(wq));
    std::vector<T> w(lw);
    fint i1 = -99, i2 = -99;
    sym<Geqrf>(g_shim, r)(&m, &n, a1.v.data(), &a1.ld, t1.data(), w.data(), &lw, &i1);
    sym<Geqrf>(g_local, r)(&m, &n, a2.v.data(), &a2.ld, t2.data(), w.data(), &lw, &i2);
    compare_info(label(r, kind, dims), i1, i2);
    compare(label(r, kind, dims + " R and V"), a1.v, a2.v, tol);
    compare(label(r, kind, dims + " tau"), t1, t2, tol);
    qr = a2;
    std::copy(t2.begin(), t2.begin() + k, tau.begin());
  }
  if (m >= n) {  // orgqr: Q (m x n) from the local factors
    const std::string r = name_of<T>("orgqr");
    Mat<T> a1 = qr, a2 = qr;
    T wq;
    fint m1 = -1, iq;
    sym<Orgqr>(g_shim, r)(&m, &n, &k, a1.v.data(), &a1.ld, tau.data(), &wq, &m1, &iq);
    fint lw = std::max(1, lwork_of(wq));
    std::vector<T> w(lw);
    fint i1 = -99, i2 = -99;
    sym<Orgqr>(g_shim, r)(&m, &n, &k, a1.v.data(), &a1.ld, tau.data(), w.data(), &lw, &i1);
    sym<Orgqr>(g_local, r)(&m, &n, &k, a2.v.data(), &a2.ld, tau.data(), w.data(), &lw, &i2);
    compare_info(label(r, kind, dims), i1, i2);
    compare(label(r, kind, dims), a1.v, a2.v, tol);
  }
  for (char side : std::string("LR"))
    for (char trans : std::string(is_cplx<T> ? "NC" : "NT")) {  // ormqr/unmqr with the local factors
      const std::string r = name_of<T>("ormqr");
      const fint cm = side == 'L' ? m : 5, cn = side == 'L' ? 5 : m;
      Mat<T> c0 = general<T>(cm, cn, Kind::random), c1 = c0, c2 = c0;
      T wq;
      fint m1 = -1, iq;
      sym<Ormqr>(g_shim, r)(&side, &trans, &cm, &cn, &k, qr.v.data(), &qr.ld, tau.data(), c1.v.data(), &c1.ld, &wq, &m1,
                            &iq, 1, 1);
      fint lw = std::max(1, lwork_of(wq));
      std::vector<T> w(lw);
      fint i1 = -99, i2 = -99;
      sym<Ormqr>(g_shim, r)(&side, &trans, &cm, &cn, &k, qr.v.data(), &qr.ld, tau.data(), c1.v.data(), &c1.ld, w.data(),
                            &lw, &i1, 1, 1);
      sym<Ormqr>(g_local, r)(&side, &trans, &cm, &cn, &k, qr.v.data(), &qr.ld, tau.data(), c2.v.data(), &c2.ld,
                             w.data(), &lw, &i2, 1, 1);
      const std::string what = label(r, kind, dims + " side=" + side + " trans=" + trans);
      compare_info(what, i1, i2);
      compare(what, c1.v, c2.v, tol);
    }
  for (char trans : std::string(is_cplx<T> ? "NC" : "NT")) {
    const std::string r = name_of<T>("gels");
    Mat<T> a1 = a0, a2 = a0, b0 = general<T>(std::max(m, n), nrhs, Kind::random), b1 = b0, b2 = b0;
    T wq;
    fint m1 = -1, iq;
    sym<Gels>(g_shim, r)(&trans, &m, &n, &nrhs, a1.v.data(), &a1.ld, b1.v.data(), &b1.ld, &wq, &m1, &iq, 1);
    fint lw = std::max(1, lwork_of(wq));
    std::vector<T> w(lw);
    fint i1 = -99, i2 = -99;
    sym<Gels>(g_shim, r)(&trans, &m, &n, &nrhs, a1.v.data(), &a1.ld, b1.v.data(), &b1.ld, w.data(), &lw, &i1, 1);
    sym<Gels>(g_local, r)(&trans, &m, &n, &nrhs, a2.v.data(), &a2.ld, b2.v.data(), &b2.ld, w.data(), &lw, &i2, 1);
    const std::string what = label(r, kind, dims + " trans=" + trans);
    compare_info(what, i1, i2);
    compare(what + " factors", a1.v, a2.v, tol);
    if (kind != Kind::illcond || !g_gpu) compare(what + " X", b1.v, b2.v, tol);
  }
}

template <class T>
void test_eig(Kind kind, fint n) {
  using R = real_t<T>;
  const double tol = tol_for<T>(kind, n);
  // Indefinite Hermitian (random), graded (ill-conditioned), rank-deficient (singular).
  Mat<T> a0 = hermitian<T>(n, Kind::random, false);
  if (kind == Kind::illcond) a0 = hermitian<T>(n, Kind::illcond, false);
  if (kind == Kind::singular)
    for (fint i = 0; i < n; ++i) a0(i, n / 2) = a0(n / 2, i) = T(0);
  for (const char* fam : {"syevd", "syev"})
    for (char jobz : std::string("NV"))
      for (char uplo : std::string("UL")) {
        const std::string r = name_of<T>(fam);
        Mat<T> a1 = a0, a2 = a0;
        std::vector<R> w1(n + 1, R(777)), w2 = w1;
        fint i1 = -99, i2 = -99;
        const bool d = std::string(fam) == "syevd";
        for (int pass = 0; pass < 2; ++pass) {
          void* lib = pass == 0 ? g_shim : g_local;
          Mat<T>& a = pass == 0 ? a1 : a2;
          std::vector<R>& w = pass == 0 ? w1 : w2;
          fint& info = pass == 0 ? i1 : i2;
          T wq;
          R rq = 0;
          fint iwq = 0, m1 = -1, iq = 0;
          if constexpr (is_cplx<T>) {
            if (d) {
              using F = void (*)(const char*, const char*, const fint*, T*, const fint*, R*, T*, const fint*, R*,
                                 const fint*, fint*, const fint*, fint*, flen, flen);
              sym<F>(g_shim, r)(&jobz, &uplo, &n, a.v.data(), &a.ld, w.data(), &wq, &m1, &rq, &m1, &iwq, &m1, &iq, 1,
                                1);
              fint lw = lwork_of(wq), lr = fint(rq), li = iwq;
              std::vector<T> wk(lw);
              std::vector<R> rw(lr);
              std::vector<fint> iw(li);
              sym<F>(lib, r)(&jobz, &uplo, &n, a.v.data(), &a.ld, w.data(), wk.data(), &lw, rw.data(), &lr, iw.data(),
                             &li, &info, 1, 1);
            } else {
              using F = void (*)(const char*, const char*, const fint*, T*, const fint*, R*, T*, const fint*, R*, fint*,
                                 flen, flen);
              std::vector<R> rw(std::max(1, 3 * n - 2));
              sym<F>(g_shim, r)(&jobz, &uplo, &n, a.v.data(), &a.ld, w.data(), &wq, &m1, rw.data(), &iq, 1, 1);
              fint lw = lwork_of(wq);
              std::vector<T> wk(lw);
              sym<F>(lib, r)(&jobz, &uplo, &n, a.v.data(), &a.ld, w.data(), wk.data(), &lw, rw.data(), &info, 1, 1);
            }
          } else {
            if (d) {
              using F = void (*)(const char*, const char*, const fint*, T*, const fint*, R*, T*, const fint*, fint*,
                                 const fint*, fint*, flen, flen);
              sym<F>(g_shim, r)(&jobz, &uplo, &n, a.v.data(), &a.ld, w.data(), &wq, &m1, &iwq, &m1, &iq, 1, 1);
              fint lw = lwork_of(wq), li = iwq;
              std::vector<T> wk(lw);
              std::vector<fint> iw(li);
              sym<F>(lib, r)(&jobz, &uplo, &n, a.v.data(), &a.ld, w.data(), wk.data(), &lw, iw.data(), &li, &info, 1,
                             1);
            } else {
              using F = void (*)(const char*, const char*, const fint*, T*, const fint*, R*, T*, const fint*, fint*,
                                 flen, flen);
              sym<F>(g_shim, r)(&jobz, &uplo, &n, a.v.data(), &a.ld, w.data(), &wq, &m1, &iq, 1, 1);
              fint lw = lwork_of(wq);
              std::vector<T> wk(lw);
              sym<F>(lib, r)(&jobz, &uplo, &n, a.v.data(), &a.ld, w.data(), wk.data(), &lw, &info, 1, 1);
            }
          }
        }
        const std::string what = label(r, kind, std::string("jobz=") + jobz + " uplo=" + uplo);
        compare_info(what, i1, i2);
        compare(what + " eigenvalues", w1, w2, tol);
        // Eigenvectors: see check_eigenpairs (the local library's pass against the same criterion
        // too, so the criterion itself is proven on this input).
        if (jobz == 'V' && i1 == 0) {
          check_eigenpairs(what + " eigenpairs", a0, a1, w1, n);
          check_eigenpairs(what + " eigenpairs (local library)", a0, a2, w2, n);
        }
        if (jobz == 'V') compare(what + " padding", padding_only(a1), padding_only(a2), 0);
        // jobz = N: the uplo triangle is destroyed; the other one, and the padding, stay untouched.
        if (jobz == 'N') compare(what + " other triangle", outside_triangle(a1, uplo), outside_triangle(a2, uplo), 0);
      }
}

template <class T>
void test_svd(Kind kind, fint m, fint n) {
  using R = real_t<T>;
  const double tol = tol_for<T>(kind, std::max(m, n));
  const fint mn = std::min(m, n);
  Mat<T> a0 = general<T>(m, n, kind);
  const std::string dims = std::to_string(m) + "x" + std::to_string(n);
  // (jobu, jobvt) for gesvd; jobz for gesdd.
  const std::vector<std::string> svd_jobs = {"NN", "AA", "SS", "ON", "NO", "SA"};
  for (const std::string& job : svd_jobs) {
    const std::string r = name_of<T>("gesvd");
    const char ju = job[0], jv = job[1];
    Mat<T> a[2] = {a0, a0};
    Mat<T> u[2] = {Mat<T>(m, ju == 'A' ? m : mn), Mat<T>(m, ju == 'A' ? m : mn)};
    Mat<T> vt[2] = {Mat<T>(jv == 'A' ? n : mn, n), Mat<T>(jv == 'A' ? n : mn, n)};
    std::vector<R> s[2] = {std::vector<R>(mn + 1, R(777)), std::vector<R>(mn + 1, R(777))};
    fint info[2] = {-99, -99};
    for (int pass = 0; pass < 2; ++pass) {
      void* lib = pass == 0 ? g_shim : g_local;
      T wq;
      fint m1 = -1, iq;
      std::vector<R> rw(std::max(1, 5 * mn));
      if constexpr (is_cplx<T>) {
        using F = void (*)(const char*, const char*, const fint*, const fint*, T*, const fint*, R*, T*, const fint*, T*,
                           const fint*, T*, const fint*, R*, fint*, flen, flen);
        sym<F>(g_shim, r)(&ju, &jv, &m, &n, a[pass].v.data(), &a[pass].ld, s[pass].data(), u[pass].v.data(),
                          &u[pass].ld, vt[pass].v.data(), &vt[pass].ld, &wq, &m1, rw.data(), &iq, 1, 1);
        fint lw = lwork_of(wq);
        std::vector<T> wk(lw);
        sym<F>(lib, r)(&ju, &jv, &m, &n, a[pass].v.data(), &a[pass].ld, s[pass].data(), u[pass].v.data(), &u[pass].ld,
                       vt[pass].v.data(), &vt[pass].ld, wk.data(), &lw, rw.data(), &info[pass], 1, 1);
      } else {
        using F = void (*)(const char*, const char*, const fint*, const fint*, T*, const fint*, R*, T*, const fint*, T*,
                           const fint*, T*, const fint*, fint*, flen, flen);
        sym<F>(g_shim, r)(&ju, &jv, &m, &n, a[pass].v.data(), &a[pass].ld, s[pass].data(), u[pass].v.data(),
                          &u[pass].ld, vt[pass].v.data(), &vt[pass].ld, &wq, &m1, &iq, 1, 1);
        fint lw = lwork_of(wq);
        std::vector<T> wk(lw);
        sym<F>(lib, r)(&ju, &jv, &m, &n, a[pass].v.data(), &a[pass].ld, s[pass].data(), u[pass].v.data(), &u[pass].ld,
                       vt[pass].v.data(), &vt[pass].ld, wk.data(), &lw, &info[pass], 1, 1);
      }
    }
    const std::string what = label(r, kind, dims + " jobu=" + ju + " jobvt=" + jv);
    compare_info(what, info[0], info[1]);
    compare(what + " S", s[0], s[1], tol);
    // Singular vectors up to a unit factor per column (rows of VT: compared as its transpose's
    // columns would need a copy; its padding and A's are compared exactly).
    if (kind == Kind::random && (ju == 'A' || ju == 'S')) compare_columns(what + " U", u[0], u[1], m, mn, tol);
    compare(what + " U padding", padding_only(u[0]), padding_only(u[1]), 0);
    compare(what + " VT padding", padding_only(vt[0]), padding_only(vt[1]), 0);
    compare(what + " A padding", padding_only(a[0]), padding_only(a[1]), 0);
  }
  for (char jobz : std::string("NASO")) {
    const std::string r = name_of<T>("gesdd");
    const fint ucols = (jobz == 'A' || (jobz == 'O' && m < n)) ? m : mn;
    const fint vtrows = (jobz == 'A' || (jobz == 'O' && m >= n)) ? n : mn;
    Mat<T> a[2] = {a0, a0};
    Mat<T> u[2] = {Mat<T>(m, ucols), Mat<T>(m, ucols)};
    Mat<T> vt[2] = {Mat<T>(vtrows, n), Mat<T>(vtrows, n)};
    std::vector<R> s[2] = {std::vector<R>(mn + 1, R(777)), std::vector<R>(mn + 1, R(777))};
    fint info[2] = {-99, -99};
    const fint mx = std::max(m, n);
    std::vector<fint> iw(8 * std::max(1, mn));
    std::vector<R> rw(std::max(1, std::max(5 * mn * mn + 7 * mn, 2 * mx * mn + 2 * mn * mn + mn)));
    for (int pass = 0; pass < 2; ++pass) {
      void* lib = pass == 0 ? g_shim : g_local;
      T wq;
      fint m1 = -1, iq;
      if constexpr (is_cplx<T>) {
        using F = void (*)(const char*, const fint*, const fint*, T*, const fint*, R*, T*, const fint*, T*, const fint*,
                           T*, const fint*, R*, fint*, fint*, flen);
        sym<F>(g_shim, r)(&jobz, &m, &n, a[pass].v.data(), &a[pass].ld, s[pass].data(), u[pass].v.data(), &u[pass].ld,
                          vt[pass].v.data(), &vt[pass].ld, &wq, &m1, rw.data(), iw.data(), &iq, 1);
        fint lw = lwork_of(wq);
        std::vector<T> wk(lw);
        sym<F>(lib, r)(&jobz, &m, &n, a[pass].v.data(), &a[pass].ld, s[pass].data(), u[pass].v.data(), &u[pass].ld,
                       vt[pass].v.data(), &vt[pass].ld, wk.data(), &lw, rw.data(), iw.data(), &info[pass], 1);
      } else {
        using F = void (*)(const char*, const fint*, const fint*, T*, const fint*, R*, T*, const fint*, T*, const fint*,
                           T*, const fint*, fint*, fint*, flen);
        sym<F>(g_shim, r)(&jobz, &m, &n, a[pass].v.data(), &a[pass].ld, s[pass].data(), u[pass].v.data(), &u[pass].ld,
                          vt[pass].v.data(), &vt[pass].ld, &wq, &m1, iw.data(), &iq, 1);
        fint lw = lwork_of(wq);
        std::vector<T> wk(lw);
        sym<F>(lib, r)(&jobz, &m, &n, a[pass].v.data(), &a[pass].ld, s[pass].data(), u[pass].v.data(), &u[pass].ld,
                       vt[pass].v.data(), &vt[pass].ld, wk.data(), &lw, iw.data(), &info[pass], 1);
      }
    }
    const std::string what = label(r, kind, dims + " jobz=" + jobz);
    compare_info(what, info[0], info[1]);
    compare(what + " S", s[0], s[1], tol);
    if (kind == Kind::random && (jobz == 'A' || jobz == 'S')) compare_columns(what + " U", u[0], u[1], m, mn, tol);
    compare(what + " U padding", padding_only(u[0]), padding_only(u[1]), 0);
    compare(what + " VT padding", padding_only(vt[0]), padding_only(vt[1]), 0);
    compare(what + " A padding", padding_only(a[0]), padding_only(a[1]), 0);
  }
}

template <class T>
void test_type() {
  for (Kind kind : {Kind::random, Kind::illcond, Kind::singular}) {
    test_getrf<T>(kind, 40, 40);
    test_getrf<T>(kind, 50, 30);
    test_getrf<T>(kind, 30, 50);
    test_gesv_family<T>(kind, 40, 3);
    test_po_family<T>(kind, 40, 3);
    test_qr_family<T>(kind, 50, 30, 2);
    test_qr_family<T>(kind, 30, 50, 2);
    test_eig<T>(kind, 36);
    test_svd<T>(kind, 40, 25);
    test_svd<T>(kind, 25, 40);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: compare_solvers LOCAL_LIBRARY [--gpu]\n");
    return 2;
  }
  g_gpu = argc > 2 && std::string(argv[2]) == "--gpu";
  g_shim = dlopen("liblapack.so.3", RTLD_NOW | RTLD_GLOBAL);
  g_local = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!g_shim || !g_local) {
    std::fprintf(stderr, "cannot open the shim or %s: %s\n", argv[1], dlerror());
    return 2;
  }
  if (!dlsym(g_shim, "rcpu_generic_target") && !dlsym(g_shim, "dlamc3_")) {
    std::fprintf(stderr, "liblapack.so.3 is not the shim\n");
    return 2;
  }
  test_type<float>();
  test_type<double>();
  test_type<std::complex<float>>();
  test_type<std::complex<double>>();
  std::printf("%d checks, %d failed\n", g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}
