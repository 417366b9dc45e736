// LAPACK calls of the CUDA backend through cuSOLVER, adapted so that the application
// sees exactly the LAPACK contract (see cusolver_lapack.cpp for each routine). One object per
// CUDA backend, used under the backend's mutex.
#pragma once

#include <cstdint>
#include <memory>

#include "backends/backend.h"
#include "common/lapack.h"

namespace rcpu::backend::cuda {

class CusolverLapack {
 public:
  explicit CusolverLapack(int device);  // throws BackendError
  ~CusolverLapack();
  CusolverLapack(const CusolverLapack&) = delete;
  CusolverLapack& operator=(const CusolverLapack&) = delete;

  // Whether cuSOLVER runs this call (routine and options); the rest goes to the CPU backend:
  // gels with m < n or trans != 'N', and gesvd/gesdd with jobu/jobvt/jobz = 'O'.
  static bool supports(const LapackArgs& args);

  // Runs a validated call on packed host buffers (Backend::lapack); returns LAPACK's INFO.
  // Throws BackendError (OutOfDeviceMemory for cudaMalloc failures).
  std::int64_t run(const LapackArgs& args, void* const* p);

  struct Handles;  // cuSOLVER handle, parameters, stream (defined in the .cpp)

 private:
  int dev_;
  std::unique_ptr<Handles> h_;
};

}  // namespace rcpu::backend::cuda
