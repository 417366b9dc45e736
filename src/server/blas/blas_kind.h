// The Level-3 BLAS call kind of rcpud (spec/offload/blas.txt): stop-and-wait calls
// (blas/level3_request.h) and tiled ones, possibly striped (blas/tiled_request.h).
#pragma once

#include "server/core/kind_table.h"

namespace rcpu::server::blas {

// The kind's name in the kind table and the stripe registry.
inline constexpr const char* kName = "blas";

// Claims every REQUEST (add it to the table after the other kinds: Level-3 validation answers an
// opcode no kind knows) and the JOINs without kFlagStriped, which join tiled calls.
CallKind blas_kind();

}  // namespace rcpu::server::blas
