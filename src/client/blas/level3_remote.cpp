// The remote path of a Level-3 call (see level3_remote.h). What makes it safe to fall back to the
// local library after any failure:
//   - the application's arrays are only read while sending;
//   - results for an inout C, a triangle, or a C with ldc > rows land in a staging buffer and are
//     copied into the application's C only once every byte has arrived. Only a C with role `out`
//     (beta == 0: its old contents are never read), contiguous and without a triangle, is received
//     in place; if that breaks midway the local rerun overwrites all of it anyway.
// Nothing here throws across the API: every failure becomes a RemoteStatus and a short cause.
#include "client/blas/level3_remote.h"

#include <algorithm>
#include <memory>
#include <new>

#include "client/blas/level3_tiled.h"
#include "client/core/packed_copy.h"
#include "client/core/remote_pool.h"
#include "client/core/reply.h"
#include "client/core/stop_and_wait.h"
#include "protocol/level3_request.h"
#include "protocol/wire.h"
#include "rcpu_opcodes.h"

namespace rcpu::client {
namespace {

using namespace rcpu::protocol;

RemoteResult run(const Level3Args& args, const void* a, const void* b, void* c) {
  const auto opcode = level3_opcode(args.family, args.dtype);
  if (!opcode)
    return remote_failure(RemoteStatus::failed, routine_name(args.family, args.dtype) + " cannot run remotely");
  const Level3Shapes shapes = level3_shapes(args);
  const std::size_t elem = element_size(args.dtype);

  Request req;
  req.args = level3_packed(args);
  req.operands = level3_operands(args);
  const OperandDesc* out = output_operand(req.operands);
  if (!out) return remote_failure(RemoteStatus::failed, "call has no output");

  std::string cause;
  std::optional<Lease> lease = pool().acquire(cause);
  if (!lease) return remote_failure(RemoteStatus::unavailable, cause);
  if (total_bytes(req.operands) > lease->conn->info().max_request_bytes)
    return give_up(std::move(*lease), "request over the server's size limit");

  const Level3Call call{args, shapes, req, *opcode, a, b, c};
  if (std::optional<RemoteResult> tiled = run_tiled_if_worth_it(call, *lease)) return *tiled;

  const OperandShape& cs = shapes.c;
  const bool in_place = cs.role == Role::out && cs.tri == 0 && cs.ld == cs.rows;
  std::unique_ptr<std::uint8_t[]> staging;
  if (!in_place) {
    staging.reset(new (std::nothrow) std::uint8_t[std::max<std::uint64_t>(out->bytes(), 1)]);
    if (!staging) return give_up(std::move(*lease), "out of memory for the result staging buffer");
  }

  StopAndWaitCall exchange;
  exchange.opcode = *opcode;
  exchange.request = encode(req);
  const void* bases[3] = {a, b, c};
  const OperandShape* ops[3] = {&shapes.a, &shapes.b, &shapes.c};
  for (const OperandDesc& d : req.operands) {
    if (d.role != Role::in && d.role != Role::inout) continue;
    exchange.sends.push_back({d.index, bases[d.index], d.rows, d.cols, std::uint64_t(ops[d.index]->ld), elem});
  }
  exchange.receives.push_back({out->index, in_place ? c : staging.get(), out->bytes()});
  exchange.read_response = [&](Connection& conn, const FrameHeader& h) {
    const Response resp = read_response(conn, h, *out);
    return ServerReport{resp.server_ns, resp.backend};
  };
  RemoteResult r = run_stop_and_wait(std::move(*lease), exchange);
  if (r.status == RemoteStatus::ok && !in_place)
    copy_packed(staging.get(), static_cast<std::uint8_t*>(c), packed_output(cs, elem));
  return r;
}

}  // namespace

RemoteResult run_level3_remote(const Level3Args& args, const void* a, const void* b, void* c) {
  try {
    return run(args, a, b, c);
  } catch (const std::bad_alloc&) {
    return remote_failure(RemoteStatus::failed, "out of memory");
  } catch (const std::exception& e) {
    return remote_failure(RemoteStatus::failed, e.what());
  } catch (...) {
    return remote_failure(RemoteStatus::failed, "unknown error");
  }
}

}  // namespace rcpu::client
