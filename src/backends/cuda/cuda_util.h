// Small helpers shared by the CUDA backend's files: error text, sizes for messages, env knobs.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "backends/backend.h"

namespace rcpu::backend::cuda {

// Out of device memory (cudaErrorMemoryAllocation, CUBLAS_STATUS_ALLOC_FAILED): the backend
// releases the pool and retries such a failure once (Device::with_oom_retry, device.h).
struct OutOfDeviceMemory : BackendError {
  using BackendError::BackendError;
};

// "12.0 GiB", "512.0 MiB", "4.0 KiB"
std::string format_bytes(std::uint64_t bytes);

// "cudaErrorMemoryAllocation: out of memory"
std::string cuda_error_text(cudaError_t e);
std::string cublas_status_text(cublasStatus_t s);

// Throws BackendError("cuda: <what> failed on device <dev>: <error>") unless e == cudaSuccess.
// Clears the (non-sticky) last-error state first so later calls do not see it again.
void check_cuda(cudaError_t e, int device, const char* what);
void check_cublas(cublasStatus_t s, int device, const std::string& what);

// Integer from the environment, or fallback when unset or not a number.
long env_long(const char* name, long fallback);

}  // namespace rcpu::backend::cuda
