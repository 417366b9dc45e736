// What rcpud's test hooks (core/testing.h) do to a tiled call. Installed at one point, once the
// call is set up (blas/tiled_request.cpp), and only when a hook is on: production calls never
// meet them.
#pragma once

#include <memory>

#include "backends/backend.h"
#include "server/blas/host_staging.h"
#include "server/blas/tiled_call.h"

namespace rcpu::server::blas {

// What the hooks installed on one call own, kept for the call's life.
struct TiledCallTestHooks {
  std::unique_ptr<HostStaging> staging;
};

// Installs the hooks the environment asks for on `tc`, whose backend call `call` is begun (and
// whose staging, if the backend offers it, is set): RCPUD_TEST_STAGING_BYTES moves a call without
// staging through HostStaging slots; RCPUD_TEST_FAIL_PANEL wraps `call` so it fails at that panel
// once every earlier panel's results have gone out; RCPUD_TEST_TEAR_PANEL makes every stripe's
// sender tear its first result tile of that panel and fail the call.
void install_test_hooks(TiledCall& tc, std::unique_ptr<backend::StreamedCall>& call, TiledCallTestHooks& kept);

}  // namespace rcpu::server::blas
