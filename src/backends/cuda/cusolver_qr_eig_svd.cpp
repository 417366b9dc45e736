// The CUDA backend's QR, least-squares, symmetric eigenvalue and SVD routines on cuSOLVER
// (cusolver_lapack.cpp says how each meets LAPACK's contract).
#include <cstring>
#include <type_traits>
#include <vector>

#include "backends/cuda/cusolver_call.h"
#include "backends/cuda/cusolver_routines.h"

namespace rcpu::backend::cuda::cusolver {

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
    DevBuf w(workspace_bytes<P>(lwork), c.dev);
    check_solver(L::orgqr(c.h->solver, int(m), int(n), int(k), static_cast<P*>(a.get()), lda,
                          static_cast<P*>(tau.get()), static_cast<P*>(w.get()), lwork, static_cast<int*>(info.get())),
                 c.dev, "orgqr");
    c.sync();
    return 0;
  });
  c.down(a_host, a.get(), std::size_t(m * n) * c.elem);
  return c.info(info);
}

namespace {

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
    DevBuf w(workspace_bytes<P>(lwork), c.dev);
    check_solver(
        L::ormqr(c.h->solver, sd, op, int(m), int(n), int(k), static_cast<P*>(a.get()), lda, static_cast<P*>(tau.get()),
                 static_cast<P*>(cm.get()), int(ldc), static_cast<P*>(w.get()), lwork, static_cast<int*>(info.get())),
        c.dev, "ormqr");
    c.sync();
    return 0;
  });
}

}  // namespace

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

namespace {

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

}  // namespace

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
}  // namespace rcpu::backend::cuda::cusolver
