// The LAPACK call kind of rcpud (spec/offload/lapack.txt): stop-and-wait calls on whole operands
// (lapack/lapack_request.h). It has no striped calls.
#pragma once

#include "server/core/kind_table.h"

namespace rcpu::server::lapack {

inline constexpr const char* kName = "lapack";

// Claims the REQUESTs whose opcode is a LAPACK routine's.
CallKind lapack_kind();

}  // namespace rcpu::server::lapack
