#include "server/backend_select.h"

#include <algorithm>

#include "backends/registry.h"
#include "server/placement/placement.h"
#include "server/placement/slowed_backend.h"

namespace rcpu::server {
namespace {

using backend::BackendEntry;
using backend::BackendError;
using Devices = std::vector<std::unique_ptr<backend::Backend>>;

// --backend auto: every registered backend from the highest preference down (the fallback last);
// the first that starts serves.
Devices auto_devices(const backend::BackendOptions& bo, std::string* note) {
  std::vector<const BackendEntry*> order;
  for (const BackendEntry& e : backend::registered_backends()) order.push_back(&e);
  std::stable_sort(order.begin(), order.end(), [](const BackendEntry* x, const BackendEntry* y) {
    if (x->fallback != y->fallback) return y->fallback;
    return x->auto_preference > y->auto_preference;
  });
  std::string why;  // the preferred backends that did not start
  for (const BackendEntry* e : order) {
    try {
      Devices devices = e->make_devices(bo, note);
      if (note) {
        if (!why.empty())
          *note = why + "; using " + e->name;
        else if (order.size() == 1)
          *note = "no other backend is built in; using " + e->name;
      }
      return devices;
    } catch (const std::exception& ex) {
      if (e == order.back()) throw;
      why += (why.empty() ? "" : "; ") + e->name + " backend unavailable (" + ex.what() + ")";
    }
  }
  throw BackendError("no backend is registered");
}

}  // namespace

std::unique_ptr<backend::Backend> make_server_backend(const ServerOptions& o, std::string* note) {
  backend::BackendOptions bo;
  bo.devices = o.devices;
  bo.virtual_devices = o.virtual_devices;
  bo.automatic = o.backend == "auto";
  Devices devices;
  if (bo.automatic) {
    devices = auto_devices(bo, note);
  } else if (const BackendEntry* e = backend::find_backend(o.backend)) {
    devices = e->make_devices(bo, note);
  } else {
    throw BackendError("unknown backend '" + o.backend + "' (want " + backend::backend_names() + " or auto)");
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
