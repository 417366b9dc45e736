// Choosing rcpud's backend from --backend: a registered backend by name (backends/registry.h), or
// auto (the registered backends by preference, the first that starts).
#pragma once

#include <memory>
#include <string>

#include "backends/backend.h"
#include "server/core/options.h"

namespace rcpu::server {

// The backend rcpud serves: its devices (one backend each: a GPU of --devices, all GPUs by default,
// or --virtual-devices shares of the CPU, each optionally slowed by --device-slowdown) combined by
// the placement layer (server/placement/placement.h). Throws backend::BackendError with a message
// fit for the user when the choice cannot be honoured. `note` receives why auto did not pick a
// backend it preferred, and what a backend ignored.
std::unique_ptr<backend::Backend> make_server_backend(const ServerOptions& options, std::string* note = nullptr);

}  // namespace rcpu::server
