#include "server/core/stop_and_wait.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "protocol/level3_request.h"
#include "protocol/wire.h"

namespace rcpu::server {

using namespace rcpu::protocol;

std::optional<BackendFailure> run_on_backend(backend::Backend& be, std::uint64_t& ns, const std::function<void()>& run,
                                             const Fallback& fallback) {
  backend::Backend* current = &be;
  try {
    const auto t0 = std::chrono::steady_clock::now();
    try {
      run();
    } catch (const backend::BackendError& e) {
      if (!fallback.be) throw;
      current = fallback.be;
      if (fallback.before) fallback.before(e);
      run();
    }
    ns = std::uint64_t(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
    return std::nullopt;
  } catch (const backend::BackendError& e) {
    return BackendFailure{ErrorCode::backend_failed, current->name() + ": " + e.what()};
  } catch (const std::bad_alloc&) {
    return BackendFailure{ErrorCode::out_of_memory, current->name() + ": out of memory"};
  } catch (const backend::WorkspaceRefused& e) {
    return BackendFailure{ErrorCode::over_limit, current->name() + ": " + e.what()};
  }
}

StopAndWaitCall::StopAndWaitCall(Session& session, const FrameHeader& h, std::vector<OperandDesc> operands)
    : session_(session), h_(h), ops_(std::move(operands)), wire_in_(kHeaderSize + h.payload_length) {
  std::size_t n = 0;
  for (const OperandDesc& d : ops_) n = std::max<std::size_t>(n, std::size_t(d.index) + 1);
  buf_.assign(n, nullptr);
  // Frame headers of the DATA frames (at most 64 MiB each) are covered by the deadline's base.
  session_.expect_request_bytes(h.payload_length + input_bytes(ops_));
}

void StopAndWaitCall::reject(ErrorCode code, const std::string& message) {
  session_.reject(h_, ops_, code, message, "", [&] {
    for (const OperandDesc& d : ops_)
      if (d.role == Role::in || d.role == Role::inout)
        recv_matrix(session_.conn(), h_.request_id, d.index, nullptr, d.bytes());
  });
}

bool StopAndWaitCall::within_request_limit() {
  const std::uint64_t total = total_bytes(ops_);
  const std::uint64_t limit = session_.ctx().options.max_request_bytes;
  if (total > limit) {
    session_.refuse_over_request_limit(
        h_, ops_,
        "request of " + std::to_string(total) + " operand bytes exceeds --max-request-bytes " + std::to_string(limit),
        "");
    return false;
  }
  return admit();
}

bool StopAndWaitCall::admit() {
  if (ticket_) return true;
  Admission a = session_.admit_call(h_, total_bytes(ops_));
  if (!a.ticket) {
    reject(limit_error_code(a.refused), a.why);
    return false;
  }
  ticket_ = std::move(a.ticket);
  return true;
}

bool StopAndWaitCall::borrow_buffers(std::uint64_t min_bytes) {
  std::vector<std::uint64_t> need(buf_.size(), 0);
  for (const OperandDesc& d : ops_) need[d.index] = std::max({d.bytes(), std::uint64_t(d.elem_size), min_bytes});
  BufferCache& cache = session_.buffers();
  if (!cache.prepare(need)) {
    reject(ErrorCode::out_of_memory,
           "server memory budget exhausted (" + std::to_string(session_.ctx().memory.limit()) + " bytes)");
    return false;
  }
  for (const OperandDesc& d : ops_) buf_[d.index] = cache.get(d.index);
  // Pooled buffers hold what an earlier call of any session left. An output the backend does not
  // write in full (the other triangle of a rank-k update, LAPACK outputs when INFO < 0) must not
  // carry that back: every output-only operand starts as zeros. Inputs are overwritten whole.
  for (const OperandDesc& d : ops_)
    if (d.role == Role::out) std::memset(buf_[d.index], 0, d.bytes());
  return true;
}

void StopAndWaitCall::receive_inputs() {
  for (const OperandDesc& d : ops_)
    if (d.role == Role::in || d.role == Role::inout)
      wire_in_ += recv_matrix(session_.conn(), h_.request_id, d.index, buf_[d.index], d.bytes());
  inputs_in_ = Clock::now();
}

bool StopAndWaitCall::run(backend::Backend& be, std::uint64_t& compute_ns, const std::function<void()>& run,
                          const Fallback& fallback) {
  return ran(run_on_backend(be, compute_ns, run, fallback));
}

bool StopAndWaitCall::ran(const std::optional<BackendFailure>& failure) {
  if (!failure) return true;
  session_.ctx().counters.add_error(h_.opcode);
  send_error(session_.conn(), h_.request_id, h_.opcode, failure->code, failure->message, false);
  return false;
}

void StopAndWaitCall::count_and_send_outputs(std::uint64_t compute_ns,
                                             const std::function<std::uint64_t()>& send_response) {
  Counters& counters = session_.ctx().counters;
  // Counted before the RESPONSE goes out: once the client has it, the call is over for everyone.
  counters.add_call(h_.opcode, wire_in_, 0, compute_ns);
  std::uint64_t wire_out = send_response();
  for (const OperandDesc& d : ops_)
    if (d.role == Role::out || d.role == Role::inout)
      wire_out += send_matrix(session_.conn(), h_.request_id, h_.opcode, d.index, buf_[d.index], d.rows, d.cols, d.rows,
                              d.elem_size);
  counters.add_bytes_out(h_.opcode, wire_out);
}

}  // namespace rcpu::server
