// The tiled (pipelined) path of a Level-3 call (protocol/tiling.h has the order of the tiles): the
// output is cut into column panels, the server computes a panel as soon as its inputs are in, and
// result tiles come back while later inputs are still on the way.
#pragma once

#include <cstdint>
#include <optional>

#include "client/core/packed_copy.h"
#include "client/core/remote.h"
#include "client/core/remote_pool.h"
#include "common/level3.h"
#include "protocol/messages.h"

namespace rcpu::client {

// One Level-3 call on its way to the server: the application's arguments (its leading dimensions)
// and operands, their shapes, and the request as it travels (every operand packed).
struct Level3Call {
  const Level3Args& args;
  const Level3Shapes& shapes;
  const protocol::Request& request;
  std::uint32_t opcode;
  const void* a;
  const void* b;
  void* c;
};

// Where a packed result of shape `s` goes in the application's memory.
inline PackedOutput packed_output(const OperandShape& s, std::size_t elem) {
  return {s.rows, s.cols, s.ld, elem, s.tri};
}

// Runs the call tiled on `lease` (and stripes of it) when that is worth it: RCPU_PIPELINE is on,
// the server takes tiles, the call's output columns are independent, and it makes more than one
// panel (or RCPU_TILE forces tiles). Then the lease is used up and the result returned; otherwise
// returns nothing and leaves `lease` to the stop-and-wait path.
std::optional<RemoteResult> run_tiled_if_worth_it(const Level3Call& call, Lease& lease);

}  // namespace rcpu::client
