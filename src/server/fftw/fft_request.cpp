#include "server/fftw/fft_request.h"

#include "rcpu_opcodes.h"
#include "server/core/stop_and_wait.h"

namespace rcpu::server::fftw {

using namespace rcpu::protocol;

std::optional<FftFatal> serve_fft_request(Session& session, FftSessionState& state, const FrameHeader& h,
                                          const FftRequest& req) {
  SessionContext& ctx = session.ctx();
  if (auto err = check_fft_request(h.opcode, req, ctx.options.max_request_bytes)) {
    ctx.counters.add_error(h.opcode);
    return FftFatal{ErrorCode::bad_request, std::string(opcode_name(h.opcode)) + " rejected: " + *err};
  }
  const FftDescriptor& d = req.desc;
  const OperandDesc in_op = fft_input_operand(d), out_op = fft_output_operand(d);
  // A call that cannot run drains its input (within the limit: checked above) and the connection
  // stays usable.
  StopAndWaitCall call(session, h, {in_op, out_op});
  if (!call.admit()) return std::nullopt;  // over the client's limits (core/client_limits.h)
  const std::optional<FftBuffers> bufs = borrow_fft_buffers(session, in_op.bytes(), out_op.bytes());
  std::uint8_t* const in = bufs ? bufs->in : nullptr;
  std::uint8_t* const out = bufs ? bufs->out : nullptr;
  if (!bufs) {
    call.reject(ErrorCode::out_of_memory,
                "server memory budget exhausted (" + std::to_string(ctx.memory.limit()) + " bytes)");
    return std::nullopt;
  }
  call.use_buffer(in_op.index, in);
  call.use_buffer(out_op.index, out);
  FftBackends backends(ctx, state, h, req, in, out);
  if (auto failed = backends.plan()) {
    call.reject(failed->code, failed->message);
    return std::nullopt;
  }
  call.receive_inputs();
  Response resp;
  if (!call.ran(backends.transform(resp.compute_ns, [&] { backends.run_whole(); }))) return std::nullopt;
  resp.output = out_op;
  resp.backend = backends.backend().name();
  call.reply(resp);
  return std::nullopt;
}

}  // namespace rcpu::server::fftw
