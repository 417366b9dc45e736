// The backends this rcpud is built with, and how the server makes them. Each backend folder
// (src/backends/<name>/) defines one BackendEntry and registers it in its CMakeLists.txt
// (rcpu_add_backend, src/backends/CMakeLists.txt); CMake writes the list of registrations
// (build/src/backends/registered_backends.cpp), so the server finds every backend built without
// naming one, and a static library cannot drop a registration: the list calls each entry function.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backends/backend.h"

namespace rcpu::backend {

// One device of the backend per element (the placement layer combines several). Throws
// BackendError with a message for the user when the backend cannot start as asked. `note`
// (may be null) receives what was ignored on the way, for rcpud's log.
using MakeDevices = std::function<std::vector<std::unique_ptr<Backend>>(const BackendOptions&, std::string* note)>;

struct BackendEntry {
  std::string name;  // --backend's value, and what its Backend::name() answers
  std::string help;  // one line of rcpud --help
  // --backend auto tries the backends from the highest preference down and serves the first that
  // starts; the fallback (preference 0) is tried last.
  int auto_preference = 0;
  // Runs every call on the host: the server sends what another backend does not run to it. Exactly
  // one registered backend is the fallback.
  bool fallback = false;
  MakeDevices make_devices;
};

// Every registered backend, in the order src/backends/CMakeLists.txt adds their folders.
const std::vector<BackendEntry>& registered_backends();
// The entry called `name`, or null.
const BackendEntry* find_backend(std::string_view name);
// The registered names joined: "cpu, cuda".
std::string backend_names();
// One device of the fallback backend, for the calls a device backend does not run.
std::unique_ptr<Backend> make_fallback_backend();

// Defined by the generated list (registered_backends.cpp): the entries in registration order.
std::vector<BackendEntry> registered_backend_entries();

}  // namespace rcpu::backend
