// The CUDA backend's LU, Cholesky and triangular-inverse routines on cuSOLVER (cusolver_lapack.cpp
// says how each meets LAPACK's contract).
#include <cstring>
#include <type_traits>

#include "backends/cuda/cusolver_call.h"
#include "backends/cuda/cusolver_routines.h"

namespace rcpu::backend::cuda::cusolver {

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
    DevBuf w(workspace_bytes<P>(lwork), c.dev);
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
}  // namespace rcpu::backend::cuda::cusolver
