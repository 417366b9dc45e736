#include "server/fft_call.h"

#include <fftw3.h>  // the planner flags travel as FFTW spells them

#include <chrono>
#include <algorithm>
#include <cstdint>
#include <memory>

#include "common/log.h"
#include "protocol/fft_request.h"
#include "protocol/wire.h"
#include "rcpu_opcodes.h"

namespace rcpu::server {
namespace {

using namespace rcpu::protocol;
using Clock = std::chrono::steady_clock;
std::uint64_t ns_since(Clock::time_point t0) {
  return std::uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
}

}  // namespace

void FftHostBuffer::release() {
  if (raw_) be_->free_host(raw_, std::size_t(cap_ + 64));
  if (cap_) budget_->release(cap_);
  raw_ = nullptr;
  cap_ = 0;
}

std::uint8_t* FftHostBuffer::get(backend::Backend& be, MemoryBudget& budget, std::uint64_t bytes) {
  bytes = std::max<std::uint64_t>(bytes, 64);
  if (raw_ && cap_ >= bytes) {
    const auto p = reinterpret_cast<std::uintptr_t>(raw_);
    return reinterpret_cast<std::uint8_t*>((p + 63) & ~std::uintptr_t(63));
  }
  release();
  if (!budget.try_reserve(bytes)) return nullptr;
  be_ = &be;
  budget_ = &budget;
  cap_ = bytes;
  raw_ = be.alloc_host(std::size_t(bytes + 64));
  if (!raw_) {
    release();
    return nullptr;
  }
  const auto p = reinterpret_cast<std::uintptr_t>(raw_);
  return reinterpret_cast<std::uint8_t*>((p + 63) & ~std::uintptr_t(63));
}

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

  std::uint8_t* in = state.in.get(ctx.primary, ctx.memory, in_op.bytes());
  std::uint8_t* out = in ? state.out.get(ctx.primary, ctx.memory, out_op.bytes()) : nullptr;
  if (!in || !out)
    return refuse(ErrorCode::out_of_memory,
                  "server memory budget exhausted (" + std::to_string(ctx.memory.limit()) + " bytes)");

  // The primary backend if it describes the transform, else (or when it fails) the CPU backend:
  // a failure of the GPU path must not cost the client a round trip and a local rerun.
  const bool has_fallback = &ctx.cpu != &ctx.primary;
  bool primary = ctx.primary.supports_fft(d);
  auto backend_of = [&](bool p) -> backend::Backend& { return p ? ctx.primary : ctx.cpu; };
  auto cache_of = [&](bool p) -> std::unique_ptr<backend::FftPlanCache>& { return p ? state.primary : state.cpu; };
  auto prepare = [&](bool p, unsigned flags) {
    auto& cache = cache_of(p);
    if (!cache) cache = backend_of(p).new_fft_cache();
    backend_of(p).prepare_fft(*cache, d, flags, in, out);
  };
  std::uint64_t compute_ns = 0;
  try {
    try {
      prepare(primary, req.planner_flags);  // before the input: MEASURE planning may overwrite the buffers
    } catch (const backend::BackendError& e) {
      if (!primary || !has_fallback) throw;
      log::info(std::string("FFT ") + opcode_name(h.opcode) + ": " + ctx.primary.name() + " cannot plan it (" +
                e.what() + "); the CPU backend runs it");
      primary = false;
      prepare(primary, req.planner_flags);
    }
  } catch (const backend::BackendError& e) {
    return refuse(ErrorCode::backend_failed, backend_of(primary).name() + ": " + e.what());
  } catch (const std::bad_alloc&) {
    return refuse(ErrorCode::out_of_memory, backend_of(primary).name() + ": out of memory");
  }
  wire_in += recv_matrix(conn, h.request_id, in_op.index, in, in_op.bytes());
  const auto t_inputs = Clock::now();
  try {
    const auto t0 = Clock::now();
    try {
      backend_of(primary).fft(*cache_of(primary), d, req.planner_flags, in, out);
    } catch (const backend::BackendError& e) {
      if (!primary || !has_fallback) throw;
      // The device only read the host input: the CPU backend runs it from the same buffers, with
      // an FFTW_ESTIMATE plan (which never touches them).
      log::info(std::string("FFT ") + opcode_name(h.opcode) + ": " + ctx.primary.name() + " failed (" + e.what() +
                "); the CPU backend runs it");
      primary = false;
      prepare(primary, FFTW_ESTIMATE);
      backend_of(primary).fft(*cache_of(primary), d, FFTW_ESTIMATE, in, out);
    }
    compute_ns = ns_since(t0);
  } catch (const backend::BackendError& e) {
    ctx.counters.add_error(h.opcode);
    send_error(conn, h.request_id, h.opcode, ErrorCode::backend_failed, backend_of(primary).name() + ": " + e.what(),
               false);
    return std::nullopt;
  } catch (const std::bad_alloc&) {
    ctx.counters.add_error(h.opcode);
    send_error(conn, h.request_id, h.opcode, ErrorCode::out_of_memory, backend_of(primary).name() + ": out of memory",
               false);
    return std::nullopt;
  }
  backend::Backend& be = backend_of(primary);
  Response resp;
  resp.compute_ns = compute_ns;
  resp.output = out_op;
  resp.server_ns = ns_since(t_inputs);
  resp.backend = be.name();
  ctx.counters.add_call(h.opcode, wire_in, 0, compute_ns);
  std::uint64_t wire_out = send_message(conn, Kind::response, h.request_id, h.opcode, resp);
  wire_out += send_matrix(conn, h.request_id, h.opcode, out_op.index, out, out_op.rows, 1, out_op.rows,
                          out_op.elem_size);
  ctx.counters.add_bytes_out(h.opcode, wire_out);
  return std::nullopt;
}

}  // namespace rcpu::server
