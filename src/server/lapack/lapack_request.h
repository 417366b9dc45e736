// LAPACK REQUESTs of a session (spec/offload/lapack.txt; docs/protocol.md "LAPACK calls"): each one
// a stop-and-wait call (core/stop_and_wait.h) on whole operands.
#pragma once

#include "protocol/frame.h"
#include "server/core/session.h"

namespace rcpu::server::lapack {

void serve_lapack_request(Session& session, const protocol::FrameHeader& h);

}  // namespace rcpu::server::lapack
