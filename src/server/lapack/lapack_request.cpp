#include "server/lapack/lapack_request.h"

#include "common/lapack.h"
#include "protocol/lapack_request.h"
#include "server/core/memory_budget.h"
#include "server/core/stop_and_wait.h"

namespace rcpu::server::lapack {

using namespace rcpu::protocol;

static_assert(kMaxLapackOperands <= int(BufferCache::kSlots), "a LAPACK call's operands must fit a BufferCache");

void serve_lapack_request(Session& session, const FrameHeader& h) {
  const LapackRequest req = session.decode_or_close<LapackRequest>(h, ErrorCode::bad_request, "bad LAPACK REQUEST: ");
  // The operand list decoded: its inputs can be drained if the request is refused.
  StopAndWaitCall call(session, h, req.operands);
  if (auto err = check_lapack_request(h.opcode, req)) return call.reject(ErrorCode::bad_request, *err);
  // Buffers: one per operand, at least 16 bytes (LAPACK may touch element 1 of an unreferenced
  // array), borrowed from the server's pool (charged to the memory budget) for the call.
  if (!call.within_request_limit() || !call.borrow_buffers(16)) return;
  call.receive_inputs();

  const LapackArgs args = lapack_args_of(h.opcode, req);
  SessionContext& ctx = session.ctx();
  backend::Backend& be = ctx.primary.supports_lapack(args) ? ctx.primary : ctx.cpu;
  void* p[kMaxLapackOperands] = {};
  for (const OperandDesc& d : req.operands) p[d.index] = call.buffer(d.index);
  LapackResponse resp;
  // The backend's workspace (LWORK queries, cuSOLVER buffer sizes) counts in the memory budget
  // while the call runs; one over it is refused (over_limit) before it is allocated.
  WorkspaceBudget workspace(ctx.memory);
  const backend::WorkspaceScope scope(&workspace);
  if (!call.run(be, resp.compute_ns, [&] { resp.info = be.lapack(args, p); })) return;
  resp.backend = be.name();
  call.reply(resp);
}

}  // namespace rcpu::server::lapack
