#include "server/session.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>

#include "common/log.h"
#include "protocol/level3_request.h"
#include "protocol/wire.h"
#include "rcpu_opcodes.h"

namespace rcpu::server {
namespace {

using namespace rcpu::protocol;
using transport::Connection;
using transport::TransportError;
using Clock = std::chrono::steady_clock;

constexpr int kHangUpDrainMs = 200;

std::uint64_t ns_since(Clock::time_point t0) {
  return std::uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
}

std::string hex64(std::uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)v);
  return buf;
}

// Why a session ends after an ERROR: the reply is sent, then the connection is closed gently.
struct CloseSession {};

class Session {
 public:
  Session(Connection& conn, SessionContext& ctx) : conn_(conn), ctx_(ctx) {}

  void run() {
    try {
      conn_.set_timeouts(ctx_.options.handshake_timeout_ms, ctx_.options.io_timeout_ms);
      if (!handshake()) return;
      for (;;) {
        conn_.set_timeouts(0, ctx_.options.io_timeout_ms);  // idle between calls: a pooled connection
        const FrameHeader h = recv_header(conn_);
        conn_.set_timeouts(ctx_.options.io_timeout_ms, ctx_.options.io_timeout_ms);
        if (h.kind == Kind::bye) return;
        if (h.kind != Kind::request) fail_and_close(h, ErrorCode::bad_frame, std::string("unexpected ") + kind_name(h.kind) + " frame");
        handle_request(h);
      }
    } catch (const CloseSession&) {
    } catch (const ProtocolError& e) {
      // A header that did not decode: the stream cannot be trusted any more.
      log::info("session " + conn_.peer() + ": protocol error: " + e.what());
      reply_error_and_hang_up(0, 0, e.code, e.what());
    } catch (const TransportError& e) {
      if (e.kind != TransportError::Kind::closed || !ctx_.stopping.load())
        log::debug("session " + conn_.peer() + " ended: " + e.what());
    } catch (const std::exception& e) {
      log::error("session " + conn_.peer() + ": " + e.what());
      reply_error_and_hang_up(0, 0, ErrorCode::internal, e.what());
    }
  }

  ~Session() {
    if (counted_) ctx_.active_sessions.fetch_sub(1);
  }

 private:
  void reply_error_and_hang_up(std::uint64_t id, std::uint32_t opcode, ErrorCode code, const std::string& message) {
    try {
      send_error(conn_, id, opcode, code, message, true);
      conn_.hang_up(kHangUpDrainMs);
    } catch (...) {
      // The peer is gone already; nothing left to tell it.
    }
  }

  [[noreturn]] void fail_and_close(const FrameHeader& h, ErrorCode code, const std::string& message) {
    log::info("session " + conn_.peer() + ": " + message);
    reply_error_and_hang_up(h.request_id, h.opcode, code, message);
    throw CloseSession{};
  }

  bool handshake() {
    const FrameHeader h = recv_header(conn_);
    if (h.kind != Kind::hello) fail_and_close(h, ErrorCode::bad_frame, std::string("expected HELLO, got ") + kind_name(h.kind));
    Hello hello;
    try {
      hello = recv_body<Hello>(conn_, h);
    } catch (const DecodeError& e) {
      fail_and_close(h, ErrorCode::bad_frame, std::string("bad HELLO: ") + e.what());
    }
    if (hello.protocol_version != kVersion)
      fail_and_close(h, ErrorCode::version_mismatch,
                     "protocol version " + std::to_string(hello.protocol_version) + " not supported (server speaks " +
                         std::to_string(kVersion) + ")");
    if (hello.opcode_hash != opcode_table_hash())
      fail_and_close(h, ErrorCode::opcode_table_mismatch,
                     "opcode table mismatch: client " + hex64(hello.opcode_hash) + ", server " +
                         hex64(opcode_table_hash()) + " (client and server were built from different specs)");
    if (hello.auth_method != AuthMethod::none)
      fail_and_close(h, ErrorCode::auth_failed,
                     "authentication method " + std::to_string(unsigned(hello.auth_method)) +
                         " is not supported by this server (authentication comes in a later version)");
    counted_ = true;
    if (ctx_.active_sessions.fetch_add(1) + 1 > ctx_.options.max_sessions) {
      ctx_.counters.add_rejected_session();
      fail_and_close(h, ErrorCode::busy, "server busy: " + std::to_string(ctx_.options.max_sessions) + " sessions already");
    }
    ctx_.counters.add_session();
    log::debug("session " + conn_.peer() + ": client '" + hello.client + "'");
    HelloOk ok;
    ok.server_version = "rcpud 0.1.0";
    ok.backend = ctx_.primary.name();
    ok.capabilities = kCapLevel3;
    ok.max_request_bytes = ctx_.options.max_request_bytes;
    send_message(conn_, Kind::hello_ok, h.request_id, 0, ok);
    return true;
  }

  // Reads and drops the input operands a request announced, so the connection stays usable after an
  // error reply. Only called when their total is within the request limit.
  void drain_inputs(std::uint64_t id, const std::vector<OperandDesc>& ops) {
    for (const OperandDesc& d : ops)
      if (d.role == Role::in || d.role == Role::inout) recv_matrix(conn_, id, d.index, nullptr, d.bytes());
  }

  void reject_request(const FrameHeader& h, const Request& req, ErrorCode code, const std::string& message) {
    ctx_.counters.add_error(h.opcode);
    log::info("session " + conn_.peer() + ": " + opcode_name(h.opcode) + " rejected: " + message);
    // Draining more than the limit would let a client make the server read without bound; past it,
    // the connection is closed instead.
    if (input_bytes(req.operands) > ctx_.options.max_request_bytes) fail_and_close(h, code, message);
    drain_inputs(h.request_id, req.operands);
    send_error(conn_, h.request_id, h.opcode, code, message, false);
  }

  void handle_request(const FrameHeader& h) {
    Request req;
    try {
      req = recv_body<Request>(conn_, h);
    } catch (const DecodeError& e) {
      // Without a decoded operand list nobody knows what data follows: close.
      fail_and_close(h, ErrorCode::bad_request, std::string("bad REQUEST: ") + e.what());
    }
    if (auto err = check_level3_request(h.opcode, req)) return reject_request(h, req, ErrorCode::bad_request, *err);
    const std::uint64_t total = total_bytes(req.operands);
    if (total > ctx_.options.max_request_bytes)
      return reject_request(h, req, ErrorCode::over_limit,
                            "request of " + std::to_string(total) + " operand bytes exceeds --max-request-bytes " +
                                std::to_string(ctx_.options.max_request_bytes));
    Reservation reservation(ctx_.memory, total);
    if (!reservation)
      return reject_request(h, req, ErrorCode::out_of_memory,
                            "server memory budget exhausted (" + std::to_string(ctx_.memory.limit()) + " bytes)");

    // One buffer per operand, each at least one element so every pointer is valid.
    std::unique_ptr<std::uint8_t[]> buf[3];
    try {
      for (const OperandDesc& d : req.operands)
        buf[d.index].reset(new std::uint8_t[std::max<std::uint64_t>(d.bytes(), d.elem_size)]);
    } catch (const std::bad_alloc&) {
      for (auto& b : buf) b.reset();
      return reject_request(h, req, ErrorCode::out_of_memory, "out of memory for " + std::to_string(total) + " bytes");
    }

    std::uint64_t wire_in = kHeaderSize + h.payload_length;
    for (const OperandDesc& d : req.operands) {
      if (d.role == Role::in || d.role == Role::inout) wire_in += recv_matrix(conn_, h.request_id, d.index, buf[d.index].get(), d.bytes());
      else std::memset(buf[d.index].get(), 0, d.bytes());  // C not sent (beta == 0)
    }
    const auto t_inputs = Clock::now();

    // The backend sees packed operands: every leading dimension is the operand's row count.
    Level3Args args = req.args;
    const Level3Shapes s = level3_shapes(args);
    args.lda = std::max<std::int64_t>(1, s.a.rows);
    args.ldb = std::max<std::int64_t>(1, s.b.rows);
    args.ldc = std::max<std::int64_t>(1, s.c.rows);
    if (args.family == L3Family::trmm || args.family == L3Family::trsm) args.ldb = args.ldc;
    backend::Backend& be = ctx_.primary.supports(args) ? ctx_.primary : ctx_.cpu;
    std::uint64_t compute_ns = 0;
    try {
      const auto t0 = Clock::now();
      be.level3(args, buf[0].get(), buf[1].get(), buf[2].get());
      compute_ns = ns_since(t0);
    } catch (const backend::BackendError& e) {
      ctx_.counters.add_error(h.opcode);
      send_error(conn_, h.request_id, h.opcode, ErrorCode::backend_failed, std::string(be.name()) + ": " + e.what(), false);
      return;
    } catch (const std::bad_alloc&) {
      ctx_.counters.add_error(h.opcode);
      send_error(conn_, h.request_id, h.opcode, ErrorCode::out_of_memory, be.name() + ": out of memory", false);
      return;
    }

    const OperandDesc& out = *output_operand(req.operands);
    Response resp;
    resp.compute_ns = compute_ns;
    resp.output = out;
    resp.server_ns = ns_since(t_inputs);
    resp.backend = be.name();
    std::uint64_t wire_out = send_message(conn_, Kind::response, h.request_id, h.opcode, resp);
    wire_out += send_matrix(conn_, h.request_id, h.opcode, out.index, buf[out.index].get(), out.rows, out.cols,
                            out.rows, out.elem_size);
    ctx_.counters.add_call(h.opcode, wire_in, wire_out, compute_ns);
  }

  Connection& conn_;
  SessionContext& ctx_;
  bool counted_ = false;
};

}  // namespace

void run_session(transport::Connection& conn, SessionContext& ctx) {
  try {
    Session s(conn, ctx);
    s.run();
  } catch (...) {
    // run() handles everything; this only guards the thread against the unforeseen.
  }
}

}  // namespace rcpu::server
