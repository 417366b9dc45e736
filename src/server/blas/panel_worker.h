// The worker thread of a tiled call (blas/tiled_call.h): computes the panels on the backend as
// their inputs arrive and announces each finished one to the stripes' senders.
#pragma once

#include <cstdint>

#include "backends/backend.h"
#include "server/blas/tiled_call.h"

namespace rcpu::server::blas {

// Starts panel j once every stripe has delivered its inputs, keeping up to call.depth() panels in
// flight on the backend (panel j+1's upload overlaps panel j's compute), and announces each
// finished panel to the stripes' senders; `n` is the output's column count. A failure of the
// backend is kept in tc.failure (the inputs are still drained, then the primary answers ERROR).
// compute_ns: the time this thread spent inside the backend's calls (for an asynchronous backend,
// little: its work runs on the device while this thread polls).
void compute_panels(TiledCall& tc, backend::StreamedCall& call, backend::Backend& be, std::int64_t n,
                    std::uint64_t& compute_ns);

}  // namespace rcpu::server::blas
