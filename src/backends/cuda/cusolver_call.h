// What the CUDA backend's cuSOLVER routines share (cusolver_factor.cpp, cusolver_qr_eig_svd.cpp):
// the handles, error checks, device buffers freed on every way out, copies on the solver's stream,
// and the typed (32-bit) routines where cuSOLVER has no generic 64-bit one.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "backends/cuda/cuda_util.h"
#include "backends/cuda/cusolver_lapack.h"
#include "common/level3.h"

namespace rcpu::backend::cuda {

struct CusolverLapack::Handles {
  cusolverDnHandle_t solver = nullptr;
  cusolverDnParams_t params = nullptr;
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;  // trsm of gels, on the same stream
};

namespace cusolver {

using Handles = CusolverLapack::Handles;

// Throws BackendError (OutOfDeviceMemory for CUSOLVER_STATUS_ALLOC_FAILED) unless s is success.
void check_solver(cusolverStatus_t s, int dev, const std::string& what);

// Device memory for one call, freed on every way out. Cleared before use: cudaMalloc hands back
// what an earlier call (another session's) left there, and an output cuSOLVER does not write
// (an argument it refuses) would carry it back to this client. The memset runs on the legacy
// stream and is waited for, so the call's own non-blocking stream sees the zeros.
class DevBuf {
 public:
  DevBuf(std::size_t bytes, int dev) {
    if (!bytes) return;
    check_cuda(cudaMalloc(&p_, bytes), dev, "cudaMalloc (LAPACK operand)");
    const cudaError_t cleared = cudaMemset(p_, 0, bytes);
    const cudaError_t waited = cleared == cudaSuccess ? cudaStreamSynchronize(nullptr) : cleared;
    if (waited != cudaSuccess) {
      (void)cudaFree(p_);
      p_ = nullptr;
      check_cuda(waited, dev, "cudaMemset (clearing a LAPACK operand)");
    }
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
cudaDataType data_type(Dtype t);
cudaDataType real_type(Dtype t);  // of the eigenvalues and singular values
cublasFillMode_t fill(char uplo);

// The first exact zero on the diagonal of an n x n packed matrix (1-based), or 0.
std::int64_t first_zero_diagonal(const void* a, std::int64_t n, Dtype t);

// One call's device, handles and element type; its copies go on the solver's stream.
struct Call {
  int dev;
  Handles* h;
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
// The workspace of a typed cuSOLVER routine (`count` elements of P), charged to the server's
// memory budget before it is allocated.
template <class P>
std::size_t workspace_bytes(int count) {
  const std::size_t bytes = std::size_t(std::max(count, 1)) * sizeof(P);
  reserve_workspace(bytes, "cuSOLVER workspace");
  return bytes;
}
// Workspace of one cuSOLVER call: device and host parts, charged to the server's memory budget
// (both: the budget bounds what one call may make the server hold) before they are allocated.
struct Work {
  Work(std::size_t dev_bytes, std::size_t host_bytes, int dev)
      : d((reserve_workspace(dev_bytes + host_bytes, "cuSOLVER workspace"), dev_bytes), dev), host(host_bytes) {}
  DevBuf d;
  std::vector<unsigned char> host;
  void* h() { return host.empty() ? nullptr : host.data(); }
};
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
}  // namespace cusolver
}  // namespace rcpu::backend::cuda
