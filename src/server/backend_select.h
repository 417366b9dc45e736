// Choosing rcpud's backend from --backend: cpu, cuda (only when built with RCPU_WITH_CUDA), or auto
// (cuda when built and usable, else cpu).
#pragma once

#include <memory>
#include <string>

#include "backends/backend.h"
#include "server/core/options.h"

namespace rcpu::server {

// Throws backend::BackendError with a message fit for the user when the choice cannot be honoured.
// `note` receives why auto did not pick cuda, if it did not.
std::unique_ptr<backend::Backend> select_backend(const std::string& which, const backend::BackendOptions& options,
                                                 std::string* note = nullptr);

// The backend rcpud serves: its devices (one backend each: a GPU of --devices, all GPUs by default,
// or --virtual-devices shares of the CPU, each optionally slowed by --device-slowdown) combined by
// the placement layer (server/placement/placement.h). Throws backend::BackendError as above.
std::unique_ptr<backend::Backend> make_server_backend(const ServerOptions& options, std::string* note = nullptr);

}  // namespace rcpu::server
