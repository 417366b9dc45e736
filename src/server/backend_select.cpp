#include "server/backend_select.h"

namespace rcpu::server {

std::unique_ptr<backend::Backend> select_backend(const std::string& which, const backend::BackendOptions& options,
                                                 std::string* note) {
  using backend::BackendError;
  if (which == "cpu") return backend::make_cpu_backend(options);
  if (which == "cuda") {
#ifdef RCPU_WITH_CUDA
    return backend::make_cuda_backend(options);
#else
    throw BackendError("--backend cuda: this rcpud was built without CUDA (RCPU_WITH_CUDA=OFF); use --backend cpu");
#endif
  }
  if (which == "auto") {
#ifdef RCPU_WITH_CUDA
    try {
      return backend::make_cuda_backend(options);
    } catch (const std::exception& e) {
      if (note) *note = std::string("cuda backend unavailable (") + e.what() + "); using cpu";
    }
#else
    if (note) *note = "built without CUDA; using cpu";
#endif
    return backend::make_cpu_backend(options);
  }
  throw BackendError("unknown backend '" + which + "' (want cpu, cuda or auto)");
}

}  // namespace rcpu::server
