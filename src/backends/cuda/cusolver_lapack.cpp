// LAPACK on the GPU through cuSOLVER's 64-bit generic API (cusolverDnX*, one code path for s/d/c/z
// by cudaDataType), adapted to LAPACK's contract:
//   getrf   Xgetrf; pivots come back as int64, 1-based like LAPACK's, and are narrowed to INTEGER;
//           INFO = i when U(i,i) is exactly zero, the factorization completed (as LAPACK).
//   getrs   Xgetrs (trans 'C' on real data is 'T', as in LAPACK).
//   gesv    Xgetrf, then Xgetrs only when INFO = 0 (LAPACK leaves B untouched otherwise).
//   getri   LAPACK first checks U's diagonal for an exact zero (INFO = its index, A untouched):
//           done on the host; then A^-1 = Xgetrs(N) of the identity with the given LU and pivots.
//   potrf   Xpotrf (INFO > 0: the spec's local-if-info reruns the call locally).
//   potrs   Xpotrs.   posv: Xpotrf, then Xpotrs when INFO = 0.
//   potri   LAPACK's trtri check (a zero on the factor's diagonal: INFO, A untouched) on the host,
//           then cusolverDn?potri (legacy API; no 64-bit one exists).
//   trtri   the same host check when diag = 'N', then Xtrtri.
//   geqrf   Xgeqrf (Householder vectors and tau in LAPACK's convention).
//   orgqr/ungqr, ormqr/unmqr   the typed cusolverDn?orgqr/?ormqr (no 64-bit API).
//   gels    trans = 'N', m >= n: Xgeqrf, ?ormqr, cuBLAS trsm -- LAPACK's own path for that case.
//   syevd/heevd, syev/heev   Xsyevd (syev's contract -- ascending eigenvalues, orthonormal
//           eigenvectors in A -- is syevd's; INFO > 0 reruns locally).
//   gesvd   Xgesvd for jobu/jobvt in {A, S, N}; cuSOLVER needs m >= n, so for m < n the SVD of
//           A^H is computed and transposed back (gesvd_wide).
//   gesdd   as gesvd with jobu = jobvt = jobz, for jobz in {A, S, N}.
// gesvd/gesdd run here only with RCPU_CUDA_SVD=1 (see supports()). Everything else (gels with
// m < n or trans != 'N', gesvd/gesdd with 'O') answers supports() == false and runs on the
// server's CPU backend.
// Operands are copied to device memory allocated for the call and back; the host buffers are the
// server's packed operands (leading dimension max(1, rows)).
#include "backends/cuda/cusolver_lapack.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <complex>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "backends/cuda/cuda_util.h"

namespace rcpu::backend::cuda {

struct CusolverLapack::Handles {
  cusolverDnHandle_t solver = nullptr;
  cusolverDnParams_t params = nullptr;
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;  // trsm of gels, on the same stream
};

namespace {

void check_solver(cusolverStatus_t s, int dev, const std::string& what) {
  if (s == CUSOLVER_STATUS_SUCCESS) return;
  (void)cudaGetLastError();
  if (s == CUSOLVER_STATUS_ALLOC_FAILED)
    throw OutOfDeviceMemory("cuda: out of device memory inside cuSOLVER (" + what + ") on device " +
                            std::to_string(dev));
  throw BackendError("cuda: cuSOLVER " + what + " failed on device " + std::to_string(dev) + ": status " +
                     std::to_string(int(s)));
}

// Device memory for one call, freed on every way out.
class DevBuf {
 public:
  DevBuf(std::size_t bytes, int dev) {
    if (bytes) check_cuda(cudaMalloc(&p_, bytes), dev, "cudaMalloc (LAPACK operand)");
  }
  ~DevBuf() {
    if (p_) (void)cudaFree(p_);
  }
  DevBuf(const DevBuf&) = delete;
  DevBuf& operator=(const DevBuf&) = delete;
  void* get() const { return p_; }

 private:
  void* p_ = nullptr;
};

cudaDataType data_type(Dtype t) {
  switch (t) {
    case Dtype::s:
      return CUDA_R_32F;
    case Dtype::d:
      return CUDA_R_64F;
    case Dtype::c:
      return CUDA_C_32F;
    case Dtype::z:
      return CUDA_C_64F;
  }
  return CUDA_R_64F;
}
cudaDataType real_type(Dtype t) { return (t == Dtype::s || t == Dtype::c) ? CUDA_R_32F : CUDA_R_64F; }

cublasFillMode_t fill(char uplo) { return uplo == 'U' ? CUBLAS_FILL_MODE_UPPER : CUBLAS_FILL_MODE_LOWER; }

// The first exact zero on the diagonal of an n x n packed matrix (1-based), or 0.
std::int64_t first_zero_diagonal(const void* a, std::int64_t n, Dtype t) {
  const std::size_t elem = element_size(t);
  const auto* p = static_cast<const unsigned char*>(a);
  for (std::int64_t i = 0; i < n; ++i) {
    const unsigned char* x = p + (std::size_t(i) * std::size_t(n) + std::size_t(i)) * elem;
    bool zero = false;
    switch (t) {
      case Dtype::s: {
        float v;
        std::memcpy(&v, x, 4);
        zero = v == 0;
        break;
      }
      case Dtype::d: {
        double v;
        std::memcpy(&v, x, 8);
        zero = v == 0;
        break;
      }
      case Dtype::c: {
        std::complex<float> v;
        std::memcpy(&v, x, 8);
        zero = v == std::complex<float>(0);
        break;
      }
      case Dtype::z: {
        std::complex<double> v;
        std::memcpy(&v, x, 16);
        zero = v == std::complex<double>(0);
        break;
      }
    }
    if (zero) return i + 1;
  }
  return 0;
}

struct Call {
  int dev;
  CusolverLapack::Handles* h;
  Dtype t;
  std::size_t elem;

  void up(void* dst, const void* src, std::size_t bytes) const {
    if (bytes) check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, h->stream), dev, "cudaMemcpy H2D");
  }
  void down(void* dst, const void* src, std::size_t bytes) const {
    if (bytes) check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, h->stream), dev, "cudaMemcpy D2H");
  }
  void sync() const { check_cuda(cudaStreamSynchronize(h->stream), dev, "cudaStreamSynchronize"); }
  int info(const DevBuf& d) const {
    int v = 0;
    down(&v, d.get(), sizeof v);
    sync();
    return v;
  }
};

// Workspace of one cuSOLVER call: device and host parts.
struct Work {
  Work(std::size_t dev_bytes, std::size_t host_bytes, int dev) : d(dev_bytes, dev), host(host_bytes) {}
  DevBuf d;
  std::vector<unsigned char> host;
  void* h() { return host.empty() ? nullptr : host.data(); }
};

std::int64_t getrf(const Call& c, std::int64_t m, std::int64_t n, void* a_host, void* ipiv_host, DevBuf& a,
                   DevBuf& piv64) {
  const cudaDataType dt = data_type(c.t);
  std::size_t wd = 0, wh = 0;
  check_solver(cusolverDnXgetrf_bufferSize(c.h->solver, c.h->params, m, n, dt, a.get(), std::max<std::int64_t>(1, m),
                                           dt, &wd, &wh),
               c.dev, "Xgetrf_bufferSize");
  Work w(wd, wh, c.dev);
  DevBuf info(sizeof(int), c.dev);
  c.up(a.get(), a_host, std::size_t(m * n) * c.elem);
  check_solver(cusolverDnXgetrf(c.h->solver, c.h->params, m, n, dt, a.get(), std::max<std::int64_t>(1, m),
                                static_cast<std::int64_t*>(piv64.get()), dt, w.d.get(), wd, w.h(), wh,
                                static_cast<int*>(info.get())),
               c.dev, "Xgetrf");
  const std::int64_t k = std::min(m, n);
  std::vector<std::int64_t> piv(std::size_t(std::max<std::int64_t>(k, 1)));
  c.down(a_host, a.get(), std::size_t(m * n) * c.elem);
  c.down(piv.data(), piv64.get(), std::size_t(k) * sizeof(std::int64_t));
  const int inf = c.info(info);
  if (ipiv_host) {
    auto* out = static_cast<std::int32_t*>(ipiv_host);
    for (std::int64_t i = 0; i < k; ++i) out[i] = std::int32_t(piv[std::size_t(i)]);  // 1-based, as LAPACK
  }
  return inf;
}

std::int64_t getrs(const Call& c, char trans, std::int64_t n, std::int64_t nrhs, const DevBuf& a, const DevBuf& piv64,
                   void* b_host) {
  const cudaDataType dt = data_type(c.t);
  const bool cplx = is_complex(c.t);
  const cublasOperation_t op = trans == 'N' ? CUBLAS_OP_N : (trans == 'C' && cplx) ? CUBLAS_OP_C : CUBLAS_OP_T;
  DevBuf b(std::size_t(n * nrhs) * c.elem, c.dev);
  DevBuf info(sizeof(int), c.dev);
  c.up(b.get(), b_host, std::size_t(n * nrhs) * c.elem);
  check_solver(cusolverDnXgetrs(c.h->solver, c.h->params, op, n, nrhs, dt, a.get(), std::max<std::int64_t>(1, n),
                                static_cast<const std::int64_t*>(piv64.get()), dt, b.get(),
                                std::max<std::int64_t>(1, n), static_cast<int*>(info.get())),
               c.dev, "Xgetrs");
  c.down(b_host, b.get(), std::size_t(n * nrhs) * c.elem);
  return c.info(info);
}

void upload_pivots(const Call& c, const void* ipiv_host, std::int64_t n, DevBuf& piv64) {
  std::vector<std::int64_t> piv(std::size_t(std::max<std::int64_t>(n, 1)));
  const auto* in = static_cast<const std::int32_t*>(ipiv_host);
  for (std::int64_t i = 0; i < n; ++i) piv[std::size_t(i)] = in[i];
  c.up(piv64.get(), piv.data(), std::size_t(n) * sizeof(std::int64_t));
  c.sync();  // `piv` goes out of scope
}

std::int64_t potrf(const Call& c, char uplo, std::int64_t n, void* a_host, DevBuf& a) {
  const cudaDataType dt = data_type(c.t);
  std::size_t wd = 0, wh = 0;
  check_solver(cusolverDnXpotrf_bufferSize(c.h->solver, c.h->params, fill(uplo), n, dt, a.get(),
                                           std::max<std::int64_t>(1, n), dt, &wd, &wh),
               c.dev, "Xpotrf_bufferSize");
  Work w(wd, wh, c.dev);
  DevBuf info(sizeof(int), c.dev);
  c.up(a.get(), a_host, std::size_t(n * n) * c.elem);
  check_solver(cusolverDnXpotrf(c.h->solver, c.h->params, fill(uplo), n, dt, a.get(), std::max<std::int64_t>(1, n), dt,
                                w.d.get(), wd, w.h(), wh, static_cast<int*>(info.get())),
               c.dev, "Xpotrf");
  c.down(a_host, a.get(), std::size_t(n * n) * c.elem);
  return c.info(info);
}

std::int64_t potrs(const Call& c, char uplo, std::int64_t n, std::int64_t nrhs, const DevBuf& a, void* b_host) {
  const cudaDataType dt = data_type(c.t);
  DevBuf b(std::size_t(n * nrhs) * c.elem, c.dev);
  DevBuf info(sizeof(int), c.dev);
  c.up(b.get(), b_host, std::size_t(n * nrhs) * c.elem);
  check_solver(
      cusolverDnXpotrs(c.h->solver, c.h->params, fill(uplo), n, nrhs, dt, a.get(), std::max<std::int64_t>(1, n), dt,
                       b.get(), std::max<std::int64_t>(1, n), static_cast<int*>(info.get())),
      c.dev, "Xpotrs");
  c.down(b_host, b.get(), std::size_t(n * nrhs) * c.elem);
  return c.info(info);
}

std::int64_t trtri(const Call& c, char uplo, char diag, std::int64_t n, void* a_host) {
  const cudaDataType dt = data_type(c.t);
  const cublasDiagType_t d = diag == 'U' ? CUBLAS_DIAG_UNIT : CUBLAS_DIAG_NON_UNIT;
  DevBuf a(std::size_t(n * n) * c.elem, c.dev);
  std::size_t wd = 0, wh = 0;
  check_solver(
      cusolverDnXtrtri_bufferSize(c.h->solver, fill(uplo), d, n, dt, a.get(), std::max<std::int64_t>(1, n), &wd, &wh),
      c.dev, "Xtrtri_bufferSize");
  Work w(wd, wh, c.dev);
  DevBuf info(sizeof(int), c.dev);
  c.up(a.get(), a_host, std::size_t(n * n) * c.elem);
  check_solver(cusolverDnXtrtri(c.h->solver, fill(uplo), d, n, dt, a.get(), std::max<std::int64_t>(1, n), w.d.get(), wd,
                                w.h(), wh, static_cast<int*>(info.get())),
               c.dev, "Xtrtri");
  c.down(a_host, a.get(), std::size_t(n * n) * c.elem);
  return c.info(info);
}

std::int64_t potri(const Call& c, char uplo, std::int64_t n, void* a_host) {
  DevBuf a(std::size_t(n * n) * c.elem, c.dev);
  DevBuf info(sizeof(int), c.dev);
  const int ni = int(n), ld = int(std::max<std::int64_t>(1, n));
  int lwork = 0;
  c.up(a.get(), a_host, std::size_t(n * n) * c.elem);
  auto run = [&](auto buffer_size, auto potri_fn, auto* ptr) {
    using P = std::remove_pointer_t<decltype(ptr)>;
    check_solver(buffer_size(c.h->solver, fill(uplo), ni, static_cast<P*>(a.get()), ld, &lwork), c.dev,
                 "potri_bufferSize");
    DevBuf w(std::size_t(std::max(lwork, 1)) * sizeof(P), c.dev);
    check_solver(potri_fn(c.h->solver, fill(uplo), ni, static_cast<P*>(a.get()), ld, static_cast<P*>(w.get()), lwork,
                          static_cast<int*>(info.get())),
                 c.dev, "potri");
    c.sync();
  };
  switch (c.t) {
    case Dtype::s:
      run(cusolverDnSpotri_bufferSize, cusolverDnSpotri, static_cast<float*>(nullptr));
      break;
    case Dtype::d:
      run(cusolverDnDpotri_bufferSize, cusolverDnDpotri, static_cast<double*>(nullptr));
      break;
    case Dtype::c:
      run(cusolverDnCpotri_bufferSize, cusolverDnCpotri, static_cast<cuComplex*>(nullptr));
      break;
    case Dtype::z:
      run(cusolverDnZpotri_bufferSize, cusolverDnZpotri, static_cast<cuDoubleComplex*>(nullptr));
      break;
  }
  c.down(a_host, a.get(), std::size_t(n * n) * c.elem);
  return c.info(info);
}

std::int64_t geqrf(const Call& c, std::int64_t m, std::int64_t n, void* a_host, void* tau_host) {
  const cudaDataType dt = data_type(c.t);
  const std::int64_t k = std::min(m, n);
  DevBuf a(std::size_t(m * n) * c.elem, c.dev), tau(std::size_t(std::max<std::int64_t>(k, 1)) * c.elem, c.dev);
  std::size_t wd = 0, wh = 0;
  check_solver(cusolverDnXgeqrf_bufferSize(c.h->solver, c.h->params, m, n, dt, a.get(), std::max<std::int64_t>(1, m),
                                           dt, tau.get(), dt, &wd, &wh),
               c.dev, "Xgeqrf_bufferSize");
  Work w(wd, wh, c.dev);
  DevBuf info(sizeof(int), c.dev);
  c.up(a.get(), a_host, std::size_t(m * n) * c.elem);
  check_solver(cusolverDnXgeqrf(c.h->solver, c.h->params, m, n, dt, a.get(), std::max<std::int64_t>(1, m), dt,
                                tau.get(), dt, w.d.get(), wd, w.h(), wh, static_cast<int*>(info.get())),
               c.dev, "Xgeqrf");
  c.down(a_host, a.get(), std::size_t(m * n) * c.elem);
  c.down(tau_host, tau.get(), std::size_t(k) * c.elem);
  return c.info(info);
}

std::int64_t syevd(const Call& c, char jobz, char uplo, std::int64_t n, void* a_host, void* w_host) {
  const cudaDataType dt = data_type(c.t), rt = real_type(c.t);
  const std::size_t relem = (c.t == Dtype::s || c.t == Dtype::c) ? 4 : 8;
  const cusolverEigMode_t mode = jobz == 'V' ? CUSOLVER_EIG_MODE_VECTOR : CUSOLVER_EIG_MODE_NOVECTOR;
  DevBuf a(std::size_t(n * n) * c.elem, c.dev), w(std::size_t(std::max<std::int64_t>(n, 1)) * relem, c.dev);
  std::size_t wd = 0, wh = 0;
  check_solver(cusolverDnXsyevd_bufferSize(c.h->solver, c.h->params, mode, fill(uplo), n, dt, a.get(),
                                           std::max<std::int64_t>(1, n), rt, w.get(), dt, &wd, &wh),
               c.dev, "Xsyevd_bufferSize");
  Work work(wd, wh, c.dev);
  DevBuf info(sizeof(int), c.dev);
  c.up(a.get(), a_host, std::size_t(n * n) * c.elem);
  check_solver(
      cusolverDnXsyevd(c.h->solver, c.h->params, mode, fill(uplo), n, dt, a.get(), std::max<std::int64_t>(1, n), rt,
                       w.get(), dt, work.d.get(), wd, work.h(), wh, static_cast<int*>(info.get())),
      c.dev, "Xsyevd");
  c.down(a_host, a.get(), std::size_t(n * n) * c.elem);
  c.down(w_host, w.get(), std::size_t(n) * relem);
  return c.info(info);
}

// m >= n, jobu and jobvt in {A, S, N}; u/vt host buffers as the spec shapes them (may be empty).
std::int64_t gesvd(const Call& c, char jobu, char jobvt, std::int64_t m, std::int64_t n, void* a_host, void* s_host,
                   void* u_host, void* vt_host) {
  const cudaDataType dt = data_type(c.t), rt = real_type(c.t);
  const std::size_t relem = (c.t == Dtype::s || c.t == Dtype::c) ? 4 : 8;
  const std::int64_t k = std::min(m, n);
  const std::int64_t ucols = jobu == 'A' ? m : jobu == 'S' ? k : 0;
  const std::int64_t vtrows = jobvt == 'A' ? n : jobvt == 'S' ? k : 0;
  const std::int64_t ldu = std::max<std::int64_t>(1, ucols ? m : 1), ldvt = std::max<std::int64_t>(1, vtrows);
  DevBuf a(std::size_t(m * n) * c.elem, c.dev), s(std::size_t(std::max<std::int64_t>(k, 1)) * relem, c.dev);
  DevBuf u(std::size_t(std::max<std::int64_t>(m * ucols, 1)) * c.elem, c.dev);
  DevBuf vt(std::size_t(std::max<std::int64_t>(vtrows * n, 1)) * c.elem, c.dev);
  std::size_t wd = 0, wh = 0;
  check_solver(cusolverDnXgesvd_bufferSize(c.h->solver, c.h->params, (signed char)jobu, (signed char)jobvt, m, n, dt,
                                           a.get(), std::max<std::int64_t>(1, m), rt, s.get(), dt, u.get(), ldu, dt,
                                           vt.get(), ldvt, dt, &wd, &wh),
               c.dev, "Xgesvd_bufferSize");
  Work w(wd, wh, c.dev);
  DevBuf info(sizeof(int), c.dev);
  c.up(a.get(), a_host, std::size_t(m * n) * c.elem);
  check_solver(cusolverDnXgesvd(c.h->solver, c.h->params, (signed char)jobu, (signed char)jobvt, m, n, dt, a.get(),
                                std::max<std::int64_t>(1, m), rt, s.get(), dt, u.get(), ldu, dt, vt.get(), ldvt, dt,
                                w.d.get(), wd, w.h(), wh, static_cast<int*>(info.get())),
               c.dev, "Xgesvd");
  c.down(a_host, a.get(), std::size_t(m * n) * c.elem);
  c.down(s_host, s.get(), std::size_t(k) * relem);
  if (ucols) c.down(u_host, u.get(), std::size_t(m * ucols) * c.elem);
  if (vtrows) c.down(vt_host, vt.get(), std::size_t(vtrows * n) * c.elem);
  return c.info(info);
}

// The typed (32-bit) cuSOLVER/cuBLAS routines where no generic one exists: orgqr/ungqr,
// ormqr/unmqr, and cuBLAS trsm for gels.
template <class P>
struct Legacy;
template <>
struct Legacy<float> {
  static constexpr auto orgqr_size = cusolverDnSorgqr_bufferSize;
  static constexpr auto orgqr = cusolverDnSorgqr;
  static constexpr auto ormqr_size = cusolverDnSormqr_bufferSize;
  static constexpr auto ormqr = cusolverDnSormqr;
  static constexpr auto trsm = cublasStrsm;
  static float one() { return 1.0f; }
};
template <>
struct Legacy<double> {
  static constexpr auto orgqr_size = cusolverDnDorgqr_bufferSize;
  static constexpr auto orgqr = cusolverDnDorgqr;
  static constexpr auto ormqr_size = cusolverDnDormqr_bufferSize;
  static constexpr auto ormqr = cusolverDnDormqr;
  static constexpr auto trsm = cublasDtrsm;
  static double one() { return 1.0; }
};
template <>
struct Legacy<cuComplex> {
  static constexpr auto orgqr_size = cusolverDnCungqr_bufferSize;
  static constexpr auto orgqr = cusolverDnCungqr;
  static constexpr auto ormqr_size = cusolverDnCunmqr_bufferSize;
  static constexpr auto ormqr = cusolverDnCunmqr;
  static constexpr auto trsm = cublasCtrsm;
  static cuComplex one() { return make_cuComplex(1, 0); }
};
template <>
struct Legacy<cuDoubleComplex> {
  static constexpr auto orgqr_size = cusolverDnZungqr_bufferSize;
  static constexpr auto orgqr = cusolverDnZungqr;
  static constexpr auto ormqr_size = cusolverDnZunmqr_bufferSize;
  static constexpr auto ormqr = cusolverDnZunmqr;
  static constexpr auto trsm = cublasZtrsm;
  static cuDoubleComplex one() { return make_cuDoubleComplex(1, 0); }
};

// Calls f(P*) with the device element type of the call's data type.
template <class F>
std::int64_t by_type(Dtype t, F f) {
  switch (t) {
    case Dtype::s:
      return f(static_cast<float*>(nullptr));
    case Dtype::d:
      return f(static_cast<double*>(nullptr));
    case Dtype::c:
      return f(static_cast<cuComplex*>(nullptr));
    case Dtype::z:
      return f(static_cast<cuDoubleComplex*>(nullptr));
  }
  throw BackendError("cuda: unknown data type");
}

// orgqr/ungqr: Q (m x n) from k reflectors.
std::int64_t orgqr(const Call& c, std::int64_t m, std::int64_t n, std::int64_t k, void* a_host, const void* tau_host) {
  DevBuf a(std::size_t(m * n) * c.elem, c.dev), tau(std::size_t(std::max<std::int64_t>(k, 1)) * c.elem, c.dev);
  DevBuf info(sizeof(int), c.dev);
  c.up(a.get(), a_host, std::size_t(m * n) * c.elem);
  c.up(tau.get(), tau_host, std::size_t(k) * c.elem);
  by_type(c.t, [&](auto* tag) -> std::int64_t {
    using P = std::remove_pointer_t<decltype(tag)>;
    using L = Legacy<P>;
    const int lda = int(std::max<std::int64_t>(1, m));
    int lwork = 0;
    check_solver(L::orgqr_size(c.h->solver, int(m), int(n), int(k), static_cast<P*>(a.get()), lda,
                               static_cast<P*>(tau.get()), &lwork),
                 c.dev, "orgqr_bufferSize");
    DevBuf w(std::size_t(std::max(lwork, 1)) * sizeof(P), c.dev);
    check_solver(L::orgqr(c.h->solver, int(m), int(n), int(k), static_cast<P*>(a.get()), lda,
                          static_cast<P*>(tau.get()), static_cast<P*>(w.get()), lwork, static_cast<int*>(info.get())),
                 c.dev, "orgqr");
    c.sync();
    return 0;
  });
  c.down(a_host, a.get(), std::size_t(m * n) * c.elem);
  return c.info(info);
}

// ormqr/unmqr on device operands: C := op(Q) C or C op(Q); Q from k reflectors in a (rows x k).
void ormqr_dev(const Call& c, char side, char trans, std::int64_t m, std::int64_t n, std::int64_t k, const DevBuf& a,
               std::int64_t a_rows, const DevBuf& tau, DevBuf& cm, std::int64_t ldc, DevBuf& info) {
  const cublasSideMode_t sd = side == 'L' ? CUBLAS_SIDE_LEFT : CUBLAS_SIDE_RIGHT;
  const cublasOperation_t op = trans == 'N' ? CUBLAS_OP_N : is_complex(c.t) ? CUBLAS_OP_C : CUBLAS_OP_T;
  by_type(c.t, [&](auto* tag) -> std::int64_t {
    using P = std::remove_pointer_t<decltype(tag)>;
    using L = Legacy<P>;
    const int lda = int(std::max<std::int64_t>(1, a_rows));
    int lwork = 0;
    check_solver(L::ormqr_size(c.h->solver, sd, op, int(m), int(n), int(k), static_cast<P*>(a.get()), lda,
                               static_cast<P*>(tau.get()), static_cast<P*>(cm.get()), int(ldc), &lwork),
                 c.dev, "ormqr_bufferSize");
    DevBuf w(std::size_t(std::max(lwork, 1)) * sizeof(P), c.dev);
    check_solver(
        L::ormqr(c.h->solver, sd, op, int(m), int(n), int(k), static_cast<P*>(a.get()), lda, static_cast<P*>(tau.get()),
                 static_cast<P*>(cm.get()), int(ldc), static_cast<P*>(w.get()), lwork, static_cast<int*>(info.get())),
        c.dev, "ormqr");
    c.sync();
    return 0;
  });
}

std::int64_t ormqr(const Call& c, char side, char trans, std::int64_t m, std::int64_t n, std::int64_t k,
                   const void* a_host, const void* tau_host, void* c_host) {
  const std::int64_t a_rows = side == 'L' ? m : n;
  DevBuf a(std::size_t(a_rows * k) * c.elem, c.dev), tau(std::size_t(std::max<std::int64_t>(k, 1)) * c.elem, c.dev);
  DevBuf cm(std::size_t(m * n) * c.elem, c.dev), info(sizeof(int), c.dev);
  c.up(a.get(), a_host, std::size_t(a_rows * k) * c.elem);
  c.up(tau.get(), tau_host, std::size_t(k) * c.elem);
  c.up(cm.get(), c_host, std::size_t(m * n) * c.elem);
  ormqr_dev(c, side, trans, m, n, k, a, a_rows, tau, cm, std::max<std::int64_t>(1, m), info);
  c.down(c_host, cm.get(), std::size_t(m * n) * c.elem);
  return c.info(info);
}

// gels, trans = 'N', m >= n (LAPACK's own path for that case): A = QR (Xgeqrf), B := Q^H B
// (ormqr), then R X = B(1:n, :) (trsm) -- unless R has an exact zero on its diagonal: LAPACK's trtrs
// then returns INFO = its index (and the spec reruns the call locally).
std::int64_t gels(const Call& c, std::int64_t m, std::int64_t n, std::int64_t nrhs, void* a_host, void* b_host) {
  const cudaDataType dt = data_type(c.t);
  const std::int64_t ldb = std::max<std::int64_t>(1, std::max(m, n));
  DevBuf a(std::size_t(m * n) * c.elem, c.dev), tau(std::size_t(std::max<std::int64_t>(n, 1)) * c.elem, c.dev);
  DevBuf b(std::size_t(ldb * nrhs) * c.elem, c.dev), info(sizeof(int), c.dev);
  std::size_t wd = 0, wh = 0;
  check_solver(cusolverDnXgeqrf_bufferSize(c.h->solver, c.h->params, m, n, dt, a.get(), std::max<std::int64_t>(1, m),
                                           dt, tau.get(), dt, &wd, &wh),
               c.dev, "Xgeqrf_bufferSize");
  Work w(wd, wh, c.dev);
  c.up(a.get(), a_host, std::size_t(m * n) * c.elem);
  c.up(b.get(), b_host, std::size_t(ldb * nrhs) * c.elem);
  check_solver(cusolverDnXgeqrf(c.h->solver, c.h->params, m, n, dt, a.get(), std::max<std::int64_t>(1, m), dt,
                                tau.get(), dt, w.d.get(), wd, w.h(), wh, static_cast<int*>(info.get())),
               c.dev, "Xgeqrf");
  if (const int i = c.info(info)) return i;
  // R's diagonal: the packed host copy of A is refreshed only at the end, so read it from the device.
  std::vector<unsigned char> r(std::size_t(m * n) * c.elem);
  c.down(r.data(), a.get(), r.size());
  c.sync();
  std::vector<unsigned char> rdiag(std::size_t(n * n) * c.elem);
  for (std::int64_t j = 0; j < n; ++j)
    std::memcpy(&rdiag[std::size_t(j * n) * c.elem], &r[std::size_t(j * m) * c.elem], std::size_t(n) * c.elem);
  if (const std::int64_t z = first_zero_diagonal(rdiag.data(), n, c.t)) return z;
  ormqr_dev(c, 'L', 'C', ldb, nrhs, n, a, m, tau, b, ldb, info);
  if (const int i = c.info(info)) return i;
  by_type(c.t, [&](auto* tag) -> std::int64_t {
    using P = std::remove_pointer_t<decltype(tag)>;
    using L = Legacy<P>;
    const P one = L::one();
    check_cublas(L::trsm(c.h->blas, CUBLAS_SIDE_LEFT, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N, CUBLAS_DIAG_NON_UNIT, int(n),
                         int(nrhs), &one, static_cast<const P*>(a.get()), int(std::max<std::int64_t>(1, m)),
                         static_cast<P*>(b.get()), int(ldb)),
                 c.dev, "trsm (gels)");
    return 0;
  });
  std::memcpy(a_host, r.data(), r.size());  // the QR factors, as LAPACK leaves them
  c.down(b_host, b.get(), std::size_t(ldb * nrhs) * c.elem);
  c.sync();
  return 0;
}

// dst (cols x rows) = src (rows x cols)^H, both packed.
void conj_transpose(const void* src, std::int64_t rows, std::int64_t cols, void* dst, Dtype t) {
  const std::size_t e = element_size(t);
  const auto* in = static_cast<const unsigned char*>(src);
  auto* out = static_cast<unsigned char*>(dst);
  for (std::int64_t j = 0; j < cols; ++j)
    for (std::int64_t i = 0; i < rows; ++i) {
      unsigned char* o = out + (std::size_t(i) * std::size_t(cols) + std::size_t(j)) * e;
      std::memcpy(o, in + (std::size_t(j) * std::size_t(rows) + std::size_t(i)) * e, e);
      if (t == Dtype::c) {
        float im;
        std::memcpy(&im, o + 4, 4);
        im = -im;
        std::memcpy(o + 4, &im, 4);
      }
      if (t == Dtype::z) {
        double im;
        std::memcpy(&im, o + 8, 8);
        im = -im;
        std::memcpy(o + 8, &im, 8);
      }
    }
}

// gesvd for m < n (cuSOLVER needs m >= n): the SVD of B = A^H (n x m) is U_B S V_B^H, so
// A = V_B S U_B^H: U = VT_B^H (from jobvt_B = jobu), VT = U_B^H (from jobu_B = jobvt).
std::int64_t gesvd_wide(const Call& c, char jobu, char jobvt, std::int64_t m, std::int64_t n, void* a_host,
                        void* s_host, void* u_host, void* vt_host) {
  const std::int64_t ub_cols = jobvt == 'A' ? n : jobvt == 'S' ? m : 0;  // U_B: n x ub_cols
  const std::int64_t vtb_rows = (jobu == 'A' || jobu == 'S') ? m : 0;    // VT_B: vtb_rows x m
  std::vector<unsigned char> b(std::size_t(m * n) * c.elem),
      ub(std::size_t(std::max<std::int64_t>(n * ub_cols, 1)) * c.elem),
      vtb(std::size_t(std::max<std::int64_t>(vtb_rows * m, 1)) * c.elem);
  conj_transpose(a_host, m, n, b.data(), c.t);
  const std::int64_t info = gesvd(c, jobvt, jobu, n, m, b.data(), s_host, ub.data(), vtb.data());
  if (vtb_rows) conj_transpose(vtb.data(), vtb_rows, m, u_host, c.t);  // U: m x m
  if (ub_cols) conj_transpose(ub.data(), n, ub_cols, vt_host, c.t);    // VT: ub_cols x n
  conj_transpose(b.data(), n, m, a_host, c.t);                         // A: destroyed, as in LAPACK
  return info;
}

}  // namespace

CusolverLapack::CusolverLapack(int device) : dev_(device), h_(std::make_unique<Handles>()) {
  check_cuda(cudaSetDevice(dev_), dev_, "cudaSetDevice");
  check_cuda(cudaStreamCreateWithFlags(&h_->stream, cudaStreamNonBlocking), dev_, "cudaStreamCreate");
  check_solver(cusolverDnCreate(&h_->solver), dev_, "cusolverDnCreate");
  check_solver(cusolverDnSetStream(h_->solver, h_->stream), dev_, "cusolverDnSetStream");
  check_solver(cusolverDnCreateParams(&h_->params), dev_, "cusolverDnCreateParams");
  check_cublas(cublasCreate(&h_->blas), dev_, "cublasCreate (LAPACK)");
  check_cublas(cublasSetStream(h_->blas, h_->stream), dev_, "cublasSetStream (LAPACK)");
  check_cublas(cublasSetPointerMode(h_->blas, CUBLAS_POINTER_MODE_HOST), dev_, "cublasSetPointerMode (LAPACK)");
  check_cublas(cublasSetMathMode(h_->blas, CUBLAS_DEFAULT_MATH), dev_, "cublasSetMathMode (LAPACK)");
}

CusolverLapack::~CusolverLapack() {
  if (!h_) return;
  if (h_->blas) (void)cublasDestroy(h_->blas);
  if (h_->params) (void)cusolverDnDestroyParams(h_->params);
  if (h_->solver) (void)cusolverDnDestroy(h_->solver);
  if (h_->stream) (void)cudaStreamDestroy(h_->stream);
  (void)cudaGetLastError();
}

bool CusolverLapack::supports(const LapackArgs& x) {
  const LapackRoutine* r = lapack_routine(x.opcode);
  if (!r) return false;
  const std::string f = r->family;
  if (f == "getrf" || f == "getrs" || f == "gesv" || f == "getri" || f == "potrf" || f == "potrs" || f == "posv" ||
      f == "potri" || f == "trtri" || f == "geqrf" || f == "syevd" || f == "syev" || f == "orgqr" || f == "ormqr")
    return true;
  if (f == "gels") return x.opts[0] == 'N' && x.dims[0] >= x.dims[1];
  // The SVD on the GPU is opt-in (RCPU_CUDA_SVD=1 in rcpud's environment). Each call's result
  // meets LAPACK's contract (singular vectors are unique up to a unit factor), but LAPACK's own
  // tester (xeigtst's DBD/ZBD drivers) compares the vectors of one matrix across job variants
  // (jobu = A against S, O, N) and expects the same signs: only one implementation for every
  // variant gives that. cuSOLVER has no 'O' and the client keeps calls with a workspace below
  // the local optimum local, so some variants would run on LAPACK and others on cuSOLVER; on the
  // H100 that failed 529 (d) and 425 (z) of those comparisons. By default the SVD therefore runs
  // on the server's CPU backend (LAPACK, every variant consistent).
  static const bool svd_on_gpu = [] {
    const char* env = std::getenv("RCPU_CUDA_SVD");
    return env && std::string(env) == "1";
  }();
  auto job_ok = [](char j) { return j == 'A' || j == 'S' || j == 'N'; };
  if (f == "gesvd") return svd_on_gpu && job_ok(x.opts[0]) && job_ok(x.opts[1]);
  if (f == "gesdd") return svd_on_gpu && job_ok(x.opts[0]);
  return false;
}

std::int64_t CusolverLapack::run(const LapackArgs& x, void* const* p) {
  const LapackRoutine* r = lapack_routine(x.opcode);
  if (!r || !supports(x)) throw BackendError("cuda: cuSOLVER does not run this LAPACK call");
  check_cuda(cudaSetDevice(dev_), dev_, "cudaSetDevice");
  const Call c{dev_, h_.get(), r->dtype, element_size(r->dtype)};
  const std::string f = r->family;
  const std::int64_t* d = x.dims;
  if (f == "getrf") {
    DevBuf a(std::size_t(d[0] * d[1]) * c.elem, dev_);
    DevBuf piv(std::size_t(std::max<std::int64_t>(std::min(d[0], d[1]), 1)) * 8, dev_);
    return getrf(c, d[0], d[1], p[0], p[1], a, piv);
  }
  if (f == "getrs") {  // trans; n nrhs; a ipiv b
    DevBuf a(std::size_t(d[0] * d[0]) * c.elem, dev_), piv(std::size_t(std::max<std::int64_t>(d[0], 1)) * 8, dev_);
    c.up(a.get(), p[0], std::size_t(d[0] * d[0]) * c.elem);
    upload_pivots(c, p[1], d[0], piv);
    return getrs(c, x.opts[0], d[0], d[1], a, piv, p[2]);
  }
  if (f == "gesv") {  // n nrhs; a ipiv b
    DevBuf a(std::size_t(d[0] * d[0]) * c.elem, dev_), piv(std::size_t(std::max<std::int64_t>(d[0], 1)) * 8, dev_);
    const std::int64_t info = getrf(c, d[0], d[0], p[0], p[1], a, piv);
    if (info != 0) return info;  // LAPACK: B untouched
    return getrs(c, 'N', d[0], d[1], a, piv, p[2]);
  }
  if (f == "getri") {  // n; a ipiv
    const std::int64_t n = d[0];
    if (const std::int64_t z = first_zero_diagonal(p[0], n, c.t)) return z;  // LAPACK's trtri check: A untouched
    DevBuf a(std::size_t(n * n) * c.elem, dev_), piv(std::size_t(std::max<std::int64_t>(n, 1)) * 8, dev_);
    c.up(a.get(), p[0], std::size_t(n * n) * c.elem);
    upload_pivots(c, p[1], n, piv);
    // The identity, solved in place into A's host buffer: A^-1 = U^-1 L^-1 P^T.
    std::memset(p[0], 0, std::size_t(n * n) * c.elem);
    auto* bytes = static_cast<unsigned char*>(p[0]);
    for (std::int64_t i = 0; i < n; ++i) {
      unsigned char* e = bytes + (std::size_t(i) * std::size_t(n) + std::size_t(i)) * c.elem;
      if (c.t == Dtype::s || c.t == Dtype::c) {
        const float one = 1;
        std::memcpy(e, &one, 4);
      } else {
        const double one = 1;
        std::memcpy(e, &one, 8);
      }
    }
    return getrs(c, 'N', n, n, a, piv, p[0]);
  }
  if (f == "potrf") {
    DevBuf a(std::size_t(d[0] * d[0]) * c.elem, dev_);
    return potrf(c, x.opts[0], d[0], p[0], a);
  }
  if (f == "potrs") {  // uplo; n nrhs; a b
    DevBuf a(std::size_t(d[0] * d[0]) * c.elem, dev_);
    c.up(a.get(), p[0], std::size_t(d[0] * d[0]) * c.elem);
    return potrs(c, x.opts[0], d[0], d[1], a, p[1]);
  }
  if (f == "posv") {  // uplo; n nrhs; a b
    DevBuf a(std::size_t(d[0] * d[0]) * c.elem, dev_);
    const std::int64_t info = potrf(c, x.opts[0], d[0], p[0], a);
    if (info != 0) return info;
    return potrs(c, x.opts[0], d[0], d[1], a, p[1]);
  }
  if (f == "potri") {
    if (const std::int64_t z = first_zero_diagonal(p[0], d[0], c.t)) return z;
    return potri(c, x.opts[0], d[0], p[0]);
  }
  if (f == "trtri") {  // uplo diag; n; a
    if (x.opts[1] == 'N') {
      if (const std::int64_t z = first_zero_diagonal(p[0], d[0], c.t)) return z;
      return trtri(c, x.opts[0], x.opts[1], d[0], p[0]);
    }
    // diag = 'U': LAPACK never writes the diagonal; whatever cuSOLVER leaves there, the original
    // values are put back (the client writes the whole triangle back, diagonal included).
    const std::int64_t n = d[0];
    std::vector<unsigned char> diagonal(std::size_t(n) * c.elem);
    auto* bytes = static_cast<unsigned char*>(p[0]);
    for (std::int64_t i = 0; i < n; ++i)
      std::memcpy(&diagonal[std::size_t(i) * c.elem],
                  bytes + (std::size_t(i) * std::size_t(n) + std::size_t(i)) * c.elem, c.elem);
    const std::int64_t info = trtri(c, x.opts[0], x.opts[1], n, p[0]);
    for (std::int64_t i = 0; i < n; ++i)
      std::memcpy(bytes + (std::size_t(i) * std::size_t(n) + std::size_t(i)) * c.elem,
                  &diagonal[std::size_t(i) * c.elem], c.elem);
    return info;
  }
  if (f == "geqrf") return geqrf(c, d[0], d[1], p[0], p[1]);
  if (f == "orgqr") return orgqr(c, d[0], d[1], d[2], p[0], p[1]);  // m n k; a tau
  if (f == "ormqr")
    return ormqr(c, x.opts[0], x.opts[1], d[0], d[1], d[2], p[0], p[1], p[2]);  // side trans; m n k; a tau c
  if (f == "gels") return gels(c, d[0], d[1], d[2], p[0], p[1]);                // trans; m n nrhs; a b
  if (f == "syevd" || f == "syev") return syevd(c, x.opts[0], x.opts[1], d[0], p[0], p[1]);
  if (f == "gesvd" || f == "gesdd") {
    const char ju = x.opts[0], jv = f == "gesvd" ? x.opts[1] : x.opts[0];
    if (d[0] >= d[1]) return gesvd(c, ju, jv, d[0], d[1], p[0], p[1], p[2], p[3]);
    return gesvd_wide(c, ju, jv, d[0], d[1], p[0], p[1], p[2], p[3]);
  }
  throw BackendError("cuda: no cuSOLVER path for " + std::string(r->name));
}

}  // namespace rcpu::backend::cuda
