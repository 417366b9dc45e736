// The one stop-and-wait request path of rcpud, shared by every kind's one-connection calls (Level
// 3, LAPACK, FFT): the REQUEST announced its operands; the input operands follow as DATA frames
// into buffers borrowed from the server's pool (or the kind's own); the call runs on a backend,
// falling through to the CPU backend where the kind says so; the RESPONSE goes back, then the
// output operands. A kind strings the steps together with its own checks in between. Each step
// that refuses the call answers ERROR itself (after draining the inputs, so the connection stays
// usable) and returns false.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "protocol/frame.h"
#include "protocol/messages.h"
#include "protocol/status.h"
#include "server/core/session.h"

namespace rcpu::server {

// Why a call failed on its backend, as its ERROR reply says it.
struct BackendFailure {
  protocol::ErrorCode code;
  std::string message;
};

// Where a call goes when its backend throws BackendError: to `be`, once `before(error)` ran (logs
// the failure, plans on `be`; it may throw as the call does). Null `be`: no fall-through.
struct Fallback {
  backend::Backend* be = nullptr;
  std::function<void(const backend::BackendError&)> before;
};

// Runs `run` (the call on `be`, or on fallback.be once `be` failed), timing it into `ns`. A
// BackendError or an allocation failure comes back as the failure to answer, naming the backend
// that failed last, a workspace the memory budget refused (backend::WorkspaceRefused) as
// over_limit; other exceptions pass through.
std::optional<BackendFailure> run_on_backend(backend::Backend& be, std::uint64_t& ns, const std::function<void()>& run,
                                             const Fallback& fallback = {});

class StopAndWaitCall {
 public:
  using Clock = std::chrono::steady_clock;

  // `operands`: the decoded REQUEST's operand list (checked or not).
  StopAndWaitCall(Session& session, const protocol::FrameHeader& h, std::vector<protocol::OperandDesc> operands);

  // Refuses the call: its inputs are read and dropped, then ERROR (Session::reject).
  void reject(protocol::ErrorCode code, const std::string& message);
  // Whether the operands are within --max-request-bytes (else rejects: over_limit), then admit().
  bool within_request_limit();
  // Admits the call under its client's limits (core/client_limits.h), held until the call object
  // is destroyed; else rejects it (over_limit for the client's memory, busy for its calls).
  bool admit();
  // Borrows a buffer for each operand from the server's pool (Session::buffers), at least
  // max(bytes, element size, min_bytes), output-only ones cleared to zeros (nothing another call
  // left there may leave the server); false (rejected: out_of_memory) when memory is refused.
  bool borrow_buffers(std::uint64_t min_bytes = 0);
  // Operand `index` lives in the kind's own buffer instead.
  void use_buffer(int index, std::uint8_t* p) { buf_.at(std::size_t(index)) = p; }
  std::uint8_t* buffer(int index) const { return buf_.at(std::size_t(index)); }
  const std::vector<protocol::OperandDesc>& operands() const { return ops_; }

  // Receives every input operand into its buffer.
  void receive_inputs();
  // run_on_backend; a failure is answered with ERROR (the connection stays usable: the inputs are
  // in) and false is returned.
  bool run(backend::Backend& be, std::uint64_t& compute_ns, const std::function<void()>& run,
           const Fallback& fallback = {});
  // The same for a call the kind ran itself: answers `failure`, if any, with ERROR and returns
  // false; true when there was none.
  bool ran(const std::optional<BackendFailure>& failure);
  // Counts the call, sends `resp` (its server_ns set here: from the last input byte on) and every
  // output operand after it.
  template <class Response>
  void reply(Response& resp);

 private:
  void count_and_send_outputs(std::uint64_t compute_ns, const std::function<std::uint64_t()>& send_response);

  Session& session_;
  const protocol::FrameHeader h_;
  const std::vector<protocol::OperandDesc> ops_;
  std::vector<std::uint8_t*> buf_;
  ClientTicket ticket_;
  std::uint64_t wire_in_ = 0;
  Clock::time_point inputs_in_{};
};

template <class Response>
void StopAndWaitCall::reply(Response& resp) {
  resp.server_ns =
      std::uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - inputs_in_).count());
  count_and_send_outputs(resp.compute_ns, [&] {
    return protocol::send_message(session_.conn(), protocol::Kind::response, h_.request_id, h_.opcode, resp);
  });
}

}  // namespace rcpu::server
