// The remote path of a Level-3 call: stop-and-wait (core/stop_and_wait.h) or, for the shapes whose
// output columns are independent, tiled and pipelined over one or more connections
// (level3_tiled.h, on core/striped_call.h).
#pragma once

#include "client/core/remote.h"
#include "common/level3.h"

namespace rcpu::client {

// Runs a valid, non-trivial Level-3 call remotely. `args` carries the application's leading
// dimensions; only the submatrices level3_shapes() names travel, and only the output block (for
// syrk/herk/syr2k/her2k only its `tri` triangle) is written back. On any status other than ok,
// the application's arrays are exactly as they were before the call, so the caller can run it
// locally, unless `columns_left` says that only those columns remain to be computed.
RemoteResult run_level3_remote(const Level3Args& args, const void* a, const void* b, void* c);

}  // namespace rcpu::client
