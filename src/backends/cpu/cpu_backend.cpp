// The CPU backend: every Level-3 family in s/d/c/z through OpenBLAS's Fortran entry points.
// It is also where every other backend's unsupported calls end up (the server falls through to it).
#include <algorithm>
#include <climits>
#include <complex>
#include <mutex>
#include <string>

#include "backends/backend.h"
#include "backends/cpu/lapack_cpu.h"
#include "backends/cpu/openblas_api.h"

namespace rcpu::backend {
namespace {

using openblas::cd;
using openblas::cf;
using openblas::fint;

// The Fortran routines of one scalar type. Real types have no hemm/herk/her2k (the validator
// rejects Hermitian routines on real data before anything reaches a backend).
template <class T>
struct Routines;
template <>
struct Routines<float> {
  static constexpr auto gemm = sgemm_;
  static constexpr auto symm = ssymm_;
  static constexpr auto syrk = ssyrk_;
  static constexpr auto syr2k = ssyr2k_;
  static constexpr auto trmm = strmm_;
  static constexpr auto trsm = strsm_;
};
template <>
struct Routines<double> {
  static constexpr auto gemm = dgemm_;
  static constexpr auto symm = dsymm_;
  static constexpr auto syrk = dsyrk_;
  static constexpr auto syr2k = dsyr2k_;
  static constexpr auto trmm = dtrmm_;
  static constexpr auto trsm = dtrsm_;
};
template <>
struct Routines<cf> {
  static constexpr auto gemm = cgemm_;
  static constexpr auto symm = csymm_;
  static constexpr auto hemm = chemm_;
  static constexpr auto syrk = csyrk_;
  static constexpr auto herk = cherk_;
  static constexpr auto syr2k = csyr2k_;
  static constexpr auto her2k = cher2k_;
  static constexpr auto trmm = ctrmm_;
  static constexpr auto trsm = ctrsm_;
};
template <>
struct Routines<cd> {
  static constexpr auto gemm = zgemm_;
  static constexpr auto symm = zsymm_;
  static constexpr auto hemm = zhemm_;
  static constexpr auto syrk = zsyrk_;
  static constexpr auto herk = zherk_;
  static constexpr auto syr2k = zsyr2k_;
  static constexpr auto her2k = zher2k_;
  static constexpr auto trmm = ztrmm_;
  static constexpr auto trsm = ztrsm_;
};

template <class T>
struct RealOf {
  using type = T;
};
template <class R>
struct RealOf<std::complex<R>> {
  using type = R;
};

template <class T>
T scalar(std::complex<double> v) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>)
    return T(v.real());
  else
    return T(typename T::value_type(v.real()), typename T::value_type(v.imag()));
}

// OpenBLAS here is LP64: a dimension past INT_MAX cannot be expressed (level3_validate allows 2^31).
fint to_fint(std::int64_t v, const char* what) {
  if (v < 0 || v > INT_MAX) throw BackendError(std::string(what) + " does not fit the 32-bit BLAS integer");
  return fint(v);
}

template <class T>
void run(const Level3Args& x, const void* a_, const void* b_, void* c_) {
  using R = typename RealOf<T>::type;
  using F = Routines<T>;
  constexpr bool cplx = !std::is_same_v<T, R>;
  const T* a = static_cast<const T*>(a_);
  const T* b = static_cast<const T*>(b_);
  T* c = static_cast<T*>(c_);
  const fint m = to_fint(x.m, "m"), n = to_fint(x.n, "n"), k = to_fint(x.k, "k");
  const fint lda = to_fint(x.lda, "lda"), ldb = to_fint(x.ldb, "ldb"), ldc = to_fint(x.ldc, "ldc");
  const T alpha = scalar<T>(x.alpha), beta = scalar<T>(x.beta);
  const R alpha_r = R(x.alpha.real()), beta_r = R(x.beta.real());
  const char side = x.side, uplo = x.uplo, ta = x.transa, tb = x.transb, diag = x.diag;

  switch (x.family) {
    case L3Family::gemm:
      F::gemm(&ta, &tb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc, 1, 1);
      return;
    case L3Family::symm:
      F::symm(&side, &uplo, &m, &n, &alpha, a, &lda, b, &ldb, &beta, c, &ldc, 1, 1);
      return;
    case L3Family::syrk:
      F::syrk(&uplo, &ta, &n, &k, &alpha, a, &lda, &beta, c, &ldc, 1, 1);
      return;
    case L3Family::syr2k:
      F::syr2k(&uplo, &ta, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc, 1, 1);
      return;
    case L3Family::trmm:
      F::trmm(&side, &uplo, &ta, &diag, &m, &n, &alpha, a, &lda, c, &ldc, 1, 1, 1, 1);
      return;
    case L3Family::trsm:
      F::trsm(&side, &uplo, &ta, &diag, &m, &n, &alpha, a, &lda, c, &ldc, 1, 1, 1, 1);
      return;
    case L3Family::hemm:
    case L3Family::herk:
    case L3Family::her2k:
      if constexpr (cplx) {
        if (x.family == L3Family::hemm)
          F::hemm(&side, &uplo, &m, &n, &alpha, a, &lda, b, &ldb, &beta, c, &ldc, 1, 1);
        else if (x.family == L3Family::herk)
          F::herk(&uplo, &ta, &n, &k, &alpha_r, a, &lda, &beta_r, c, &ldc, 1, 1);
        else
          F::her2k(&uplo, &ta, &n, &k, &alpha, a, &lda, b, &ldb, &beta_r, c, &ldc, 1, 1);
        return;
      }
      break;
  }
  (void)alpha_r;
  (void)beta_r;
  throw BackendError("cpu backend: " + routine_name(x.family, x.dtype) + " is not a BLAS routine");
}

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }

  std::string description() const override {
    const char* config = openblas_get_config();
    const char* core = openblas_get_corename();
    return std::string("cpu: ") + (config ? config : "OpenBLAS") + ", core " + (core ? core : "?") + ", " +
           std::to_string(openblas_get_num_threads()) + " threads";
  }

  bool supports(const Level3Args& args) const override {
    const bool hermitian =
        args.family == L3Family::hemm || args.family == L3Family::herk || args.family == L3Family::her2k;
    return !(hermitian && !is_complex(args.dtype));
  }

  // For trmm/trsm the server passes B as `c` and its leading dimension as ldc or ldb; level3_shapes
  // reports B with ldb, so that is the one used here.
  void level3(const Level3Args& args, const void* a, const void* b, void* c) override {
    Level3Args x = args;
    if (x.family == L3Family::trmm || x.family == L3Family::trsm) x.ldc = x.ldb;
    switch (x.dtype) {
      case Dtype::s:
        return run<float>(x, a, b, c);
      case Dtype::d:
        return run<double>(x, a, b, c);
      case Dtype::c:
        return run<cf>(x, a, b, c);
      case Dtype::z:
        return run<cd>(x, a, b, c);
    }
    throw BackendError("cpu backend: unknown data type");
  }

  // LAPACK: OpenBLAS's own LAPACK, every offloaded routine (generated from the spec).
  bool supports_lapack(const LapackArgs& args) const override { return lapack_cpu_supports(args.opcode); }
  std::int64_t lapack(const LapackArgs& args, void* const* p) override { return lapack_cpu_call(args, p); }

  // FFTs: FFTW (fftw_ops.cpp).
  bool supports_fft(const FftDescriptor& d) const override { return fftw_supports(d); }
  std::unique_ptr<FftPlanCache> new_fft_cache() override { return fftw_new_cache(); }
  void prepare_fft(FftPlanCache& c, const FftDescriptor& d, unsigned flags, void* in, void* out) override {
    fftw_prepare(c, d, flags, in, out);
  }
  void fft(FftPlanCache& c, const FftDescriptor& d, unsigned flags, void* in, void* out) override {
    fftw_run(c, d, flags, in, out);
  }
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(const BackendOptions& options) {
  // Virtual devices (placement): OpenBLAS's thread count is process-wide (no per-thread setting
  // before 0.3.27), so each of N devices running at once gets 1/N of the threads.
  if (options.cpu_share > 1) {
    static std::once_flag once;
    std::call_once(once,
                   [&] { openblas_set_num_threads(std::max(1, openblas_get_num_threads() / options.cpu_share)); });
  }
  return std::make_unique<CpuBackend>();
}

}  // namespace rcpu::backend
