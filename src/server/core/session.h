// One client connection of rcpud: handshake, then requests one after another until the client says
// BYE, goes away, or breaks the protocol. The session core reads each frame's header and hands a
// REQUEST to the call kind that claims it (core/kind_table.h), a JOIN to the striped call it joins
// (core/striping.h); what a kind does with its requests is in its folder (server/blas, lapack,
// fftw). Everything a session allocates lives in the session's own scope, so it is all freed
// however the session ends.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "protocol/frame.h"
#include "protocol/messages.h"
#include "protocol/status.h"
#include "protocol/wire.h"
#include "security/key_file.h"
#include "server/core/authenticate.h"
#include "server/core/client_limits.h"
#include "server/core/counters.h"
#include "server/core/host_buffers.h"
#include "server/core/kind_table.h"
#include "server/core/memory_budget.h"
#include "server/core/options.h"
#include "server/core/striping.h"
#include "transport/transport.h"

namespace rcpu::server {

struct SessionContext {
  const ServerOptions& options;
  const AuthPolicy& auth;     // who may be served, and how they prove it
  backend::Backend& primary;  // --backend's choice
  backend::Backend& cpu;      // where calls the primary does not support go (may be `primary`)
  Counters& counters;
  MemoryBudget& memory;
  std::atomic<int>& active_sessions;  // sessions that passed the handshake, this one included
  std::atomic<bool>& stopping;
  HostBufferPool& buffers;  // operand buffers, shared by every session
  StripeRegistry& stripes;  // striped calls, joined by their other connections
  const KindTable& kinds;   // who serves which request
  ClientLimits& clients;    // per-client limits, across every session of a client
};

// Why a session ends after an ERROR: the reply is sent, then the connection is closed gently.
struct CloseSession {};

// A session, as the kinds' request handlers see it.
class Session {
 public:
  Session(transport::Connection& conn, SessionContext& ctx);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Runs the session to its end. Never throws.
  void run() noexcept;

  transport::Connection& conn() { return conn_; }
  SessionContext& ctx() { return ctx_; }
  std::string peer() const { return conn_.peer(); }
  // Who the client is, as the handshake established it: the principal that authenticated
  // ("key:<id>", or "anonymous" on an --insecure server) and the client process's instance id.
  // Striped calls are bound to it (core/striping.h).
  const std::string& client_identity() const { return client_identity_; }
  // The client whose per-client limits apply (core/client_limits.h): "key:<id>", "uid:<uid>",
  // or "host:<peer host>" for an unauthenticated client of an --insecure server.
  const std::string& client() const { return client_; }
  // A call of `bytes` operand bytes under the client's limits; a refusal is counted and logged,
  // and its `why` is what the ERROR says (code: limit_error_code). Keep the ticket for the call.
  Admission admit_call(const protocol::FrameHeader& h, std::uint64_t bytes);
  // The operand buffers of the call being served, given back to the pool after each request.
  BufferCache& buffers() { return cache_; }
  std::vector<std::uint8_t>& scratch() { return scratch_; }

  // The request being served must be in within options' body_base_ms + bytes / body_min_rate of
  // its header's arrival, however its bytes trickle in (`bytes`: its body and every input operand
  // byte this connection receives); the session ends when it is not. Each kind calls it once the
  // request's body says how much input follows.
  void expect_request_bytes(std::uint64_t bytes);

  // Logs `message`, answers ERROR(code, closing) and ends the session (throws CloseSession).
  [[noreturn]] void fail_and_close(const protocol::FrameHeader& h, protocol::ErrorCode code,
                                   const std::string& message);
  // Decodes the body of `h` as a Msg; one that does not decode ends the session with ERROR(code,
  // `what` + why): without its description nobody knows what data follows.
  template <class Msg>
  Msg decode_or_close(const protocol::FrameHeader& h, protocol::ErrorCode code, const std::string& what);
  // Refuses a request whose input operands `ops` may still be on their way: `drain` reads and
  // drops them so the connection stays usable, then the ERROR goes out. Draining more than
  // --max-request-bytes would let a client make the server read without bound: past it, the
  // connection is closed instead. `what` qualifies the request in the log (" (tiled)").
  void reject(const protocol::FrameHeader& h, const std::vector<protocol::OperandDesc>& ops, protocol::ErrorCode code,
              const std::string& message, const char* what, const std::function<void()>& drain);
  // Refuses a request over --max-request-bytes (over_limit): one whose input operands would follow
  // gets ERROR(closing) and the connection is closed at once (throws CloseSession), never drained;
  // one without input gets ERROR and the session goes on.
  void refuse_over_request_limit(const protocol::FrameHeader& h, const std::vector<protocol::OperandDesc>& ops,
                                 const std::string& message, const char* what);

 private:
  void serve();
  bool handshake();
  void serve_request(const protocol::FrameHeader& h);
  void serve_join(const protocol::FrameHeader& h);
  void reply_error_and_hang_up(std::uint64_t id, std::uint32_t opcode, protocol::ErrorCode code,
                               const std::string& message);

  transport::Connection& conn_;
  SessionContext& ctx_;
  BufferCache cache_;
  std::vector<std::unique_ptr<KindSession>> kinds_;  // by KindTable index, opened on first use
  std::vector<std::uint8_t> scratch_;
  bool counted_ = false;
  std::string client_identity_;
  std::chrono::steady_clock::time_point request_start_{};  // when the current request's header was in
  std::string client_;
  ClientTicket session_ticket_;  // this session, in its client's count of sessions
};

// The ERROR code of a refusal by a per-client limit: over_limit for memory (the call as it is
// will never fit), busy for the others (it may, once the client's other calls are done).
protocol::ErrorCode limit_error_code(LimitReason why);

template <class Msg>
Msg Session::decode_or_close(const protocol::FrameHeader& h, protocol::ErrorCode code, const std::string& what) {
  try {
    return protocol::recv_body<Msg>(conn_, h);
  } catch (const protocol::DecodeError& e) {
    fail_and_close(h, code, what + e.what());
  }
}

// Runs a session on `conn` to its end. Never throws.
void run_session(transport::Connection& conn, SessionContext& ctx);

}  // namespace rcpu::server
