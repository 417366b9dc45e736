#include "backends/registry.h"

#include <stdexcept>

namespace rcpu::backend {

const std::vector<BackendEntry>& registered_backends() {
  static const std::vector<BackendEntry> entries = [] {
    std::vector<BackendEntry> list = registered_backend_entries();
    int fallbacks = 0;
    for (const BackendEntry& e : list) fallbacks += e.fallback ? 1 : 0;
    if (fallbacks != 1)
      throw std::logic_error("rcpu: " + std::to_string(fallbacks) + " registered backends are the fallback; want one");
    return list;
  }();
  return entries;
}

const BackendEntry* find_backend(std::string_view name) {
  for (const BackendEntry& e : registered_backends())
    if (e.name == name) return &e;
  return nullptr;
}

std::string backend_names() {
  std::string out;
  for (const BackendEntry& e : registered_backends()) out += (out.empty() ? "" : ", ") + e.name;
  return out;
}

std::unique_ptr<Backend> make_fallback_backend() {
  for (const BackendEntry& e : registered_backends())
    if (e.fallback) return std::move(e.make_devices(BackendOptions{}, nullptr).front());
  throw BackendError("no fallback backend is registered");
}

}  // namespace rcpu::backend
