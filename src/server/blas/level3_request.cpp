#include "server/blas/level3_request.h"

#include "common/level3.h"
#include "protocol/level3_request.h"
#include "server/core/stop_and_wait.h"

namespace rcpu::server::blas {

using namespace rcpu::protocol;

void serve_level3_request(Session& session, const FrameHeader& h) {
  // Without a decoded operand list nobody knows what data follows: close.
  const Request req = session.decode_or_close<Request>(h, ErrorCode::bad_request, "bad REQUEST: ");
  StopAndWaitCall call(session, h, req.operands);
  if (auto err = check_level3_request(h.opcode, req)) return call.reject(ErrorCode::bad_request, *err);
  if (!call.within_request_limit() || !call.borrow_buffers()) return;
  call.receive_inputs();

  const Level3Args args = level3_packed(req.args);
  SessionContext& ctx = session.ctx();
  backend::Backend& be = ctx.primary.supports(args) ? ctx.primary : ctx.cpu;
  Response resp;
  if (!call.run(be, resp.compute_ns, [&] { be.level3(args, call.buffer(0), call.buffer(1), call.buffer(2)); })) return;
  resp.output = *output_operand(req.operands);
  resp.backend = be.name();
  call.reply(resp);
}

}  // namespace rcpu::server::blas
