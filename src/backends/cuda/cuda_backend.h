// The CUDA backend: Level-3 BLAS (all 9 families x s/d/c/z) through cuBLAS, LAPACK solvers through
// cuSOLVER and FFTs through cuFFT, on one GPU per backend object. Registered as "cuda"
// (backends/registry.h); what it does not run goes to the CPU backend.
#pragma once

#include <memory>
#include <vector>

#include "backends/backend.h"

namespace rcpu::backend {

// The first GPU of options.devices (GPU 0 when empty). Throws BackendError when no usable GPU is
// present or the ordinal is missing.
std::unique_ptr<Backend> make_cuda_backend(const BackendOptions& options);
// One backend per GPU of options.devices (all GPUs when empty); the placement layer combines them.
std::vector<std::unique_ptr<Backend>> make_cuda_backends(const BackendOptions& options);

}  // namespace rcpu::backend
