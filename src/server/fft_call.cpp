#include "server/fft_call.h"

#include <chrono>
#include <cstdlib>
#include <memory>

#include "common/log.h"
#include "protocol/fft_request.h"
#include "protocol/wire.h"
#include "rcpu_opcodes.h"
#include "server/memory_budget.h"

namespace rcpu::server {
namespace {

using namespace rcpu::protocol;
using Clock = std::chrono::steady_clock;
std::uint64_t ns_since(Clock::time_point t0) {
  return std::uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
}

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<std::uint8_t, AlignedFree>;

// 64-byte aligned, so that every FFTW plan made on one buffer runs on any other (same alignment).
Buffer allocate(std::uint64_t bytes) {
  void* p = nullptr;
  if (posix_memalign(&p, 64, std::size_t(bytes ? bytes : 1)) != 0) return nullptr;
  return Buffer(static_cast<std::uint8_t*>(p));
}

}  // namespace

std::optional<std::string> serve_fft(transport::Connection& conn, SessionContext& ctx, FftSessionState& state,
                                     const FrameHeader& h) {
  FftRequest req;
  try {
    req = recv_body<FftRequest>(conn, h);
  } catch (const DecodeError& e) {
    return std::string("bad FFT REQUEST: ") + e.what();
  }
  if (auto err = check_fft_request(h.opcode, req, ctx.options.max_request_bytes)) {
    ctx.counters.add_error(h.opcode);
    return std::string(opcode_name(h.opcode)) + " rejected: " + *err;
  }
  const FftDescriptor& d = req.desc;
  const OperandDesc in_op = fft_input_operand(d), out_op = fft_output_operand(d);
  std::uint64_t wire_in = kHeaderSize + h.payload_length;

  auto refuse = [&](ErrorCode code, const std::string& message) {
    ctx.counters.add_error(h.opcode);
    log::info(std::string("FFT ") + opcode_name(h.opcode) + " refused: " + message);
    recv_matrix(conn, h.request_id, in_op.index, nullptr, in_op.bytes());  // drain: within the limit
    send_error(conn, h.request_id, h.opcode, code, message, false);
    return std::nullopt;
  };

  Reservation reserved(ctx.memory, in_op.bytes() + out_op.bytes());
  if (!reserved)
    return refuse(ErrorCode::out_of_memory,
                  "server memory budget exhausted (" + std::to_string(ctx.memory.limit()) + " bytes)");
  Buffer in = allocate(in_op.bytes()), out = allocate(out_op.bytes());
  if (!in || !out) return refuse(ErrorCode::out_of_memory, "out of memory for the FFT buffers");

  const bool primary = ctx.primary.supports_fft(d);
  backend::Backend& be = primary ? ctx.primary : ctx.cpu;
  std::unique_ptr<backend::FftPlanCache>& cache = primary ? state.primary : state.cpu;
  std::uint64_t compute_ns = 0;
  try {
    if (!cache) cache = be.new_fft_cache();
    be.prepare_fft(*cache, d, req.planner_flags, in.get(), out.get());  // before the input: may overwrite
  } catch (const backend::BackendError& e) {
    return refuse(ErrorCode::backend_failed, be.name() + ": " + e.what());
  } catch (const std::bad_alloc&) {
    return refuse(ErrorCode::out_of_memory, be.name() + ": out of memory");
  }
  wire_in += recv_matrix(conn, h.request_id, in_op.index, in.get(), in_op.bytes());
  const auto t_inputs = Clock::now();
  try {
    const auto t0 = Clock::now();
    be.fft(*cache, d, req.planner_flags, in.get(), out.get());
    compute_ns = ns_since(t0);
  } catch (const backend::BackendError& e) {
    ctx.counters.add_error(h.opcode);
    send_error(conn, h.request_id, h.opcode, ErrorCode::backend_failed, be.name() + ": " + e.what(), false);
    return std::nullopt;
  } catch (const std::bad_alloc&) {
    ctx.counters.add_error(h.opcode);
    send_error(conn, h.request_id, h.opcode, ErrorCode::out_of_memory, be.name() + ": out of memory", false);
    return std::nullopt;
  }
  Response resp;
  resp.compute_ns = compute_ns;
  resp.output = out_op;
  resp.server_ns = ns_since(t_inputs);
  resp.backend = be.name();
  ctx.counters.add_call(h.opcode, wire_in, 0, compute_ns);
  std::uint64_t wire_out = send_message(conn, Kind::response, h.request_id, h.opcode, resp);
  wire_out += send_matrix(conn, h.request_id, h.opcode, out_op.index, out.get(), out_op.rows, 1, out_op.rows,
                          out_op.elem_size);
  ctx.counters.add_bytes_out(h.opcode, wire_out);
  return std::nullopt;
}

}  // namespace rcpu::server
