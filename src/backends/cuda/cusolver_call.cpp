#include "backends/cuda/cusolver_call.h"

#include <complex>
#include <cstring>

namespace rcpu::backend::cuda::cusolver {

void check_solver(cusolverStatus_t s, int dev, const std::string& what) {
  if (s == CUSOLVER_STATUS_SUCCESS) return;
  (void)cudaGetLastError();
  if (s == CUSOLVER_STATUS_ALLOC_FAILED)
    throw OutOfDeviceMemory("cuda: out of device memory inside cuSOLVER (" + what + ") on device " +
                            std::to_string(dev));
  throw BackendError("cuda: cuSOLVER " + what + " failed on device " + std::to_string(dev) + ": status " +
                     std::to_string(int(s)));
}
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
}  // namespace rcpu::backend::cuda::cusolver
