// The CUDA backend's LAPACK routines on cuSOLVER, one function per routine (cusolver_lapack.cpp
// says how each meets LAPACK's contract). Host buffers are the server's packed operands (leading
// dimension max(1, rows)); each returns LAPACK's INFO and throws BackendError (OutOfDeviceMemory
// when device memory runs out).
#pragma once

#include <cstdint>

#include "backends/cuda/cusolver_call.h"

namespace rcpu::backend::cuda::cusolver {

// LU (cusolver_factor.cpp). getrf leaves the factors in `a` and the pivots (64-bit) in `piv64` on
// the device, for getrs after it (gesv).
std::int64_t getrf(const Call& c, std::int64_t m, std::int64_t n, void* a_host, void* ipiv_host, DevBuf& a,
                   DevBuf& piv64);
std::int64_t getrs(const Call& c, char trans, std::int64_t n, std::int64_t nrhs, const DevBuf& a, const DevBuf& piv64,
                   void* b_host);
// The 32-bit pivots of the host, widened to 64 bits on the device.
void upload_pivots(const Call& c, const void* ipiv_host, std::int64_t n, DevBuf& piv64);

// Cholesky and triangular inverses (cusolver_factor.cpp).
std::int64_t potrf(const Call& c, char uplo, std::int64_t n, void* a_host, DevBuf& a);
std::int64_t potrs(const Call& c, char uplo, std::int64_t n, std::int64_t nrhs, const DevBuf& a, void* b_host);
std::int64_t trtri(const Call& c, char uplo, char diag, std::int64_t n, void* a_host);
std::int64_t potri(const Call& c, char uplo, std::int64_t n, void* a_host);

// QR and least squares (cusolver_qr_eig_svd.cpp).
std::int64_t geqrf(const Call& c, std::int64_t m, std::int64_t n, void* a_host, void* tau_host);
std::int64_t orgqr(const Call& c, std::int64_t m, std::int64_t n, std::int64_t k, void* a_host, const void* tau_host);
std::int64_t ormqr(const Call& c, char side, char trans, std::int64_t m, std::int64_t n, std::int64_t k,
                   const void* a_host, const void* tau_host, void* c_host);
std::int64_t gels(const Call& c, std::int64_t m, std::int64_t n, std::int64_t nrhs, void* a_host, void* b_host);

// Symmetric/Hermitian eigenvalues and the SVD (cusolver_qr_eig_svd.cpp).
std::int64_t syevd(const Call& c, char jobz, char uplo, std::int64_t n, void* a_host, void* w_host);
// m >= n.
std::int64_t gesvd(const Call& c, char jobu, char jobvt, std::int64_t m, std::int64_t n, void* a_host, void* s_host,
                   void* u_host, void* vt_host);
// m < n.
std::int64_t gesvd_wide(const Call& c, char jobu, char jobvt, std::int64_t m, std::int64_t n, void* a_host,
                        void* s_host, void* u_host, void* vt_host);

}  // namespace rcpu::backend::cuda::cusolver
