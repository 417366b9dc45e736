#include "server/backend_select.h"

#include "server/placement/placement.h"
#include "server/placement/slowed_backend.h"

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

namespace {

std::vector<std::unique_ptr<backend::Backend>> cpu_devices(const ServerOptions& o) {
  backend::BackendOptions bo;
  bo.cpu_share = o.virtual_devices;
  std::vector<std::unique_ptr<backend::Backend>> out;
  for (int i = 0; i < o.virtual_devices; ++i) out.push_back(backend::make_cpu_backend(bo));
  return out;
}

#ifdef RCPU_WITH_CUDA
std::vector<std::unique_ptr<backend::Backend>> cuda_devices(const ServerOptions& o) {
  if (o.virtual_devices != 1)
    throw backend::BackendError(
        "--virtual-devices applies to the CPU backend only (one cuda device per GPU: --devices)");
  backend::BackendOptions bo;
  bo.devices = o.devices;
  return backend::make_cuda_backends(bo);
}
#endif

}  // namespace

std::unique_ptr<backend::Backend> make_server_backend(const ServerOptions& o, std::string* note) {
  using backend::BackendError;
  std::vector<std::unique_ptr<backend::Backend>> devices;
  if (o.backend == "cpu") {
    devices = cpu_devices(o);
  } else if (o.backend == "cuda") {
#ifdef RCPU_WITH_CUDA
    devices = cuda_devices(o);
#else
    throw BackendError("--backend cuda: this rcpud was built without CUDA (RCPU_WITH_CUDA=OFF); use --backend cpu");
#endif
  } else if (o.backend == "auto") {
#ifdef RCPU_WITH_CUDA
    try {
      backend::BackendOptions bo;
      bo.devices = o.devices;
      devices = backend::make_cuda_backends(bo);
      if (o.virtual_devices != 1 && note) *note = "--virtual-devices applies to the CPU backend only; ignored for cuda";
    } catch (const std::exception& e) {
      if (note) *note = std::string("cuda backend unavailable (") + e.what() + "); using cpu";
    }
#else
    if (note) *note = "built without CUDA; using cpu";
#endif
    if (devices.empty()) devices = cpu_devices(o);
  } else {
    throw BackendError("unknown backend '" + o.backend + "' (want cpu, cuda or auto)");
  }
  if (!o.device_slowdown.empty()) {
    if (o.device_slowdown.size() != devices.size())
      throw BackendError("--device-slowdown has " + std::to_string(o.device_slowdown.size()) + " factors for " +
                         std::to_string(devices.size()) + " devices");
    for (std::size_t i = 0; i < devices.size(); ++i)
      devices[i] = placement::make_slowed_backend(std::move(devices[i]), o.device_slowdown[i]);
  }
  if (!o.device_rates.empty() && o.device_rates.size() != devices.size())
    throw BackendError("--device-rates has " + std::to_string(o.device_rates.size()) + " rates for " +
                       std::to_string(devices.size()) + " devices");
  placement::Options po;
  po.rates = o.device_rates;
  po.split_min_flops = o.split_min_flops;
  po.split_min_cols = o.split_min_cols;
  po.split_min_fft_bytes = o.split_min_fft_bytes;
  return std::make_unique<placement::Placement>(std::move(devices), po);
}

}  // namespace rcpu::server
