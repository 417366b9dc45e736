// Runs some output columns of a tiled Level-3 call on the local library. Used after a pipelined
// call broke midway: its result columns that had fully arrived are already final in the
// application's C (they land there panel by panel), and only the rest are computed here, from the
// application's untouched inputs. Only the tiled families qualify (protocol/tiling.h: gemm, and
// symm/hemm/trmm/trsm with side 'L'), whose output columns are independent of one another.
#pragma once

#include <cstdint>

#include "common/level3.h"

namespace rcpu::route {

// Columns [col0, col0 + cols) of the call `x` (the application's own arrays and leading
// dimensions), with the re-entry guard held, as the local library computes them.
void run_local_columns(const Level3Args& x, const void* a, const void* b, void* c, std::int64_t col0,
                       std::int64_t cols);

}  // namespace rcpu::route
