#include "backends/cuda/cuda_util.h"

#include <cstdio>
#include <cstdlib>

namespace rcpu::backend::cuda {

std::string format_bytes(std::uint64_t bytes) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = double(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  char buf[64];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

std::string cuda_error_text(cudaError_t e) { return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e); }

std::string cublas_status_text(cublasStatus_t s) {
  return std::string(cublasGetStatusName(s)) + ": " + cublasGetStatusString(s);
}

void check_cuda(cudaError_t e, int device, const char* what) {
  if (e == cudaSuccess) return;
  (void)cudaGetLastError();  // reset the non-sticky error state
  if (e == cudaErrorMemoryAllocation)
    throw OutOfDeviceMemory("cuda: out of memory in " + std::string(what) + " on device " + std::to_string(device));
  throw BackendError("cuda: " + std::string(what) + " failed on device " + std::to_string(device) + ": " +
                     cuda_error_text(e));
}

void check_cublas(cublasStatus_t s, int device, const std::string& what) {
  if (s == CUBLAS_STATUS_SUCCESS) return;
  (void)cudaGetLastError();
  if (s == CUBLAS_STATUS_ALLOC_FAILED)
    throw OutOfDeviceMemory("cuda: out of device memory inside cuBLAS (" + what + ") on device " +
                            std::to_string(device));
  throw BackendError("cuda: cuBLAS " + what + " failed on device " + std::to_string(device) + ": " +
                     cublas_status_text(s));
}

long env_long(const char* name, long fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  return (end && *end == 0) ? x : fallback;
}

}  // namespace rcpu::backend::cuda
