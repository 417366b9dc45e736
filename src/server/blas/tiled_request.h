// A tiled (pipelined) Level-3 REQUEST (kFlagTiled; protocol/tiling.h, docs/protocol.md) on the
// connection it came on, the call's primary: sets the call up (blas/tiled_call.h), registers it
// for its other stripes' JOINs when striped, runs stripe 0 while the worker (blas/panel_worker.h)
// computes, and answers.
#pragma once

#include "protocol/frame.h"
#include "server/core/session.h"

namespace rcpu::server::blas {

void serve_tiled_request(Session& session, const protocol::FrameHeader& h);

}  // namespace rcpu::server::blas
