// The remote path of a LAPACK call (spec/offload/lapack.txt): one stop-and-wait exchange
// (core/stop_and_wait.h) on a pooled connection. Contract as for Level 3 (blas/level3_remote.h):
// on any status but ok the application's arrays, *info and its workspace are exactly as before the
// call, so the caller runs it locally.
#pragma once

#include "client/core/remote.h"
#include "client/lapack/lapack_site.h"
#include "common/lapack.h"

namespace rcpu::client {

// `ops`: the routine's operands for these arguments (LapackRoutine::shapes). Valid, non-trivial
// calls only. On ok every written operand (only its `tri` triangle where the spec gives one) and
// *info hold LAPACK's results; rerun_local: the server's info asks for LAPACK's own partial results
// (spec: local-if-info), nothing was written.
RemoteResult run_lapack_remote(const LapackRoutine& r, const LapackSite& x, const LapackOperand* ops);

}  // namespace rcpu::client
