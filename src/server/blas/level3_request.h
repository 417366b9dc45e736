// Level-3 REQUESTs of a session (spec/offload/blas.txt; docs/protocol.md): one stop-and-wait call
// (core/stop_and_wait.h), or a tiled one (kFlagTiled: blas/tiled_request.h).
#pragma once

#include "protocol/frame.h"
#include "server/core/session.h"

namespace rcpu::server::blas {

// A stop-and-wait Level-3 call: the operands arrive whole, the call runs, C (B for trmm/trsm) goes
// back. Also answers a REQUEST no other kind claims: Level-3 validation names its unknown opcode.
void serve_level3_request(Session& session, const protocol::FrameHeader& h);

}  // namespace rcpu::server::blas
