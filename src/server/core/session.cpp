#include "server/core/session.h"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "common/log.h"
#include "protocol/level3_request.h"
#include "rcpu_opcodes.h"
#include "security/handshake_proof.h"
#include "server/core/authenticate.h"

namespace rcpu::server {
namespace {

using namespace rcpu::protocol;
using transport::TransportError;

constexpr int kHangUpDrainMs = 200;

std::string hex64(std::uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)v);
  return buf;
}

std::string hex_bytes(const std::string& bytes) {
  std::string out;
  char buf[4];
  for (const char c : bytes) {
    std::snprintf(buf, sizeof buf, "%02x", unsigned(static_cast<unsigned char>(c)));
    out += buf;
  }
  return out;
}

// "127.0.0.1:40000" -> "127.0.0.1", "[::1]:7000" -> "[::1]".
std::string peer_host(const std::string& peer) {
  const std::size_t colon = peer.rfind(':');
  return colon == std::string::npos || (peer.find(']') != std::string::npos && colon < peer.rfind(']'))
             ? peer
             : peer.substr(0, colon);
}

}  // namespace

ErrorCode limit_error_code(LimitReason why) {
  return why == LimitReason::memory ? ErrorCode::over_limit : ErrorCode::busy;
}

Admission Session::admit_call(const FrameHeader& h, std::uint64_t bytes) {
  Admission a = ctx_.clients.admit_call(client_, bytes);
  if (!a.ticket) {
    ctx_.counters.add_limit_refusal(a.refused);
    a.why = std::string(opcode_name(h.opcode)) + " of " + client_ + ": " + a.why;
  }
  return a;
}

Session::Session(transport::Connection& conn, SessionContext& ctx)
    : conn_(conn), ctx_(ctx), cache_(ctx.buffers), kinds_(ctx.kinds.size()) {}

Session::~Session() {
  if (counted_) ctx_.active_sessions.fetch_sub(1);
}

void Session::run() noexcept {
  try {
    serve();
  } catch (const CloseSession&) {
  } catch (const ProtocolError& e) {
    // A header that did not decode: the stream cannot be trusted any more.
    log::info("session " + peer() + ": protocol error: " + e.what());
    reply_error_and_hang_up(0, 0, e.code, e.what());
  } catch (const TransportError& e) {
    if (e.kind == TransportError::Kind::handshake) {
      // TLS refused the peer (or the peer us) before any rcpu frame: a failed authentication.
      ctx_.counters.add_auth_failure();
      log::info("session " + peer() + ": " + e.what());
    } else if (e.kind != TransportError::Kind::closed || !ctx_.stopping.load())
      log::debug("session " + peer() + " ended: " + e.what());
  } catch (const std::exception& e) {
    log::error("session " + peer() + ": " + e.what());
    reply_error_and_hang_up(0, 0, ErrorCode::internal, e.what());
  } catch (...) {
    // Everything a request throws is handled above; this only guards the thread against the unforeseen.
  }
}

void Session::serve() {
  conn_.set_timeouts(ctx_.options.handshake_timeout_ms, ctx_.options.io_timeout_ms);
  // The whole handshake within the time-out, however slowly its bytes trickle in.
  conn_.set_read_deadline(ctx_.options.handshake_timeout_ms);
  if (!handshake()) return;
  for (;;) {
    // Idle between calls (a pooled connection): the next frame header, whole, within the idle
    // time-out, or the session ends and its slot goes to someone else (the client's pool notices
    // the closed connection and opens a new one when it needs it).
    conn_.set_timeouts(0, ctx_.options.io_timeout_ms);
    conn_.set_read_deadline(ctx_.options.idle_timeout_ms);
    const FrameHeader h = recv_header(conn_);
    conn_.set_timeouts(ctx_.options.io_timeout_ms, ctx_.options.io_timeout_ms);
    // From here the request's body, then its input operands (expect_request_bytes), within a
    // deadline, so a client cannot hold a session and its memory reservation by trickling bytes.
    request_start_ = std::chrono::steady_clock::now();
    expect_request_bytes(h.payload_length);
    if (h.kind == Kind::bye) return;
    if (h.kind == Kind::join) {
      serve_join(h);
      continue;
    }
    if (h.kind != Kind::request)
      fail_and_close(h, ErrorCode::bad_frame, std::string("unexpected ") + kind_name(h.kind) + " frame");
    serve_request(h);
    cache_.release();  // the buffers serve the next call of any session
  }
}

void Session::expect_request_bytes(std::uint64_t bytes) {
  const ServerOptions& o = ctx_.options;
  const double allowed_ms =
      double(o.body_base_ms) + double(bytes) * 1000.0 / double(std::max<std::uint64_t>(1, o.body_min_rate));
  const double spent_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - request_start_).count();
  // Never 0 (no deadline), and within int.
  conn_.set_read_deadline(int(std::clamp(allowed_ms - spent_ms, 1.0, double(std::numeric_limits<int>::max()))));
}

void Session::reply_error_and_hang_up(std::uint64_t id, std::uint32_t opcode, ErrorCode code,
                                      const std::string& message) {
  try {
    send_error(conn_, id, opcode, code, message, true);
    conn_.hang_up(kHangUpDrainMs);
  } catch (...) {
    // The peer is gone already; nothing left to tell it.
  }
}

void Session::fail_and_close(const FrameHeader& h, ErrorCode code, const std::string& message) {
  log::info("session " + peer() + ": " + message);
  reply_error_and_hang_up(h.request_id, h.opcode, code, message);
  throw CloseSession{};
}

void Session::reject(const FrameHeader& h, const std::vector<OperandDesc>& ops, ErrorCode code,
                     const std::string& message, const char* what, const std::function<void()>& drain) {
  ctx_.counters.add_error(h.opcode);
  log::info("session " + peer() + ": " + opcode_name(h.opcode) + what + " rejected: " + message);
  if (input_bytes(ops) > ctx_.options.max_request_bytes) fail_and_close(h, code, message);
  drain();
  send_error(conn_, h.request_id, h.opcode, code, message, false);
}

void Session::refuse_over_request_limit(const FrameHeader& h, const std::vector<OperandDesc>& ops,
                                        const std::string& message, const char* what) {
  ctx_.counters.add_error(h.opcode);
  log::info("session " + peer() + ": " + opcode_name(h.opcode) + what + " rejected: " + message);
  if (input_bytes(ops) > 0) fail_and_close(h, ErrorCode::over_limit, message);
  send_error(conn_, h.request_id, h.opcode, ErrorCode::over_limit, message, false);
}

bool Session::handshake() {
  const FrameHeader h = recv_header(conn_);
  if (h.kind != Kind::hello)
    fail_and_close(h, ErrorCode::bad_frame, std::string("expected HELLO, got ") + kind_name(h.kind));
  const Hello hello = decode_or_close<Hello>(h, ErrorCode::bad_frame, "bad HELLO: ");
  if (hello.protocol_version != kVersion)
    fail_and_close(h, ErrorCode::version_mismatch,
                   "protocol version " + std::to_string(hello.protocol_version) + " not supported (server speaks " +
                       std::to_string(kVersion) + ")");
  if (hello.opcode_hash != opcode_table_hash())
    fail_and_close(h, ErrorCode::opcode_table_mismatch,
                   "opcode table mismatch: client " + hex64(hello.opcode_hash) + ", server " +
                       hex64(opcode_table_hash()) + " (client and server were built from different specs)");
  if (hello.instance.size() != security::kInstanceBytes)
    fail_and_close(h, ErrorCode::bad_frame, "HELLO without a 16-byte client instance id");
  // Before anything is allocated for the client: who it is decides whether it is served at all.
  const AuthOutcome auth = authenticate_client(conn_, h, hello, ctx_.auth);
  if (!auth.principal) {
    ctx_.counters.add_auth_failure();
    fail_and_close(h, ErrorCode::auth_failed, auth.why);
  }
  if (*auth.principal == "anonymous") log::warn("session " + peer() + ": unauthenticated client (--insecure)");
  // Stripes of a call may only be joined by connections of the same authenticated process.
  client_identity_ = *auth.principal + "/" + hex_bytes(hello.instance);
  client_ = auth.client.empty() ? "host:" + peer_host(peer()) : auth.client;
  counted_ = true;
  if (ctx_.active_sessions.fetch_add(1) + 1 > ctx_.options.max_sessions) {
    ctx_.counters.add_rejected_session();
    fail_and_close(h, ErrorCode::busy,
                   "server busy: " + std::to_string(ctx_.options.max_sessions) + " sessions already");
  }
  Admission own = ctx_.clients.open_session(client_);
  if (!own.ticket) {
    ctx_.counters.add_rejected_session();
    ctx_.counters.add_limit_refusal(own.refused);
    fail_and_close(h, ErrorCode::busy, own.why);
  }
  session_ticket_ = std::move(own.ticket);
  ctx_.counters.add_session();
  log::debug("session " + peer() + ": client '" + hello.client + "' as " + *auth.principal);
  HelloOk ok;
  ok.server_version = "rcpud 0.1.0";
  ok.backend = ctx_.primary.name();
  ok.capabilities = ctx_.kinds.capabilities();
  ok.max_request_bytes = ctx_.options.max_request_bytes;
  send_message(conn_, Kind::hello_ok, h.request_id, 0, ok);
  return true;
}

void Session::serve_request(const FrameHeader& h) {
  const std::optional<std::size_t> kind = ctx_.kinds.for_request(h);
  if (!kind)  // every opcode has a kind in rcpud (the Level-3 kind answers unknown ones)
    fail_and_close(h, ErrorCode::bad_request, std::string("no call kind serves opcode ") + std::to_string(h.opcode));
  std::unique_ptr<KindSession>& part = kinds_[*kind];
  if (!part) part = ctx_.kinds.at(*kind).open(*this);
  part->serve(h);
}

// JOIN on another connection of a client: this connection carries one stripe of a striped call
// whose REQUEST came (or is coming) on the client's first connection. When the stripe is over,
// the connection goes back to serving requests.
void Session::serve_join(const FrameHeader& h) {
  const Join j = decode_or_close<Join>(h, ErrorCode::bad_frame, "bad JOIN: ");
  const CallKind* kind = ctx_.kinds.for_join(h);
  if (!kind) fail_and_close(h, ErrorCode::bad_frame, "unexpected JOIN frame: no call kind has striped calls");
  std::string why;
  const std::shared_ptr<StripedCall> call =
      ctx_.stripes.attach(kind->name, StripeKey{client_identity_, j.token}, int(j.stripe), &conn_,
                          ctx_.options.handshake_timeout_ms, ctx_.stopping, why);
  if (!call) fail_and_close(h, ErrorCode::bad_request, kind->join_name + ": " + why);
  // A stripe's share of the inputs is bounded by the per-read I/O time-out only (the call's
  // threads watch for a silent client).
  conn_.set_read_deadline(0);
  if (!serve_joined_stripe(call, int(j.stripe), conn_)) throw CloseSession{};
}

void run_session(transport::Connection& conn, SessionContext& ctx) {
  try {
    Session s(conn, ctx);
    s.run();
  } catch (...) {
    // run() handles everything; this only guards the thread against the unforeseen.
  }
}

}  // namespace rcpu::server
