#include "server/session.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <thread>

#include "common/log.h"
#include "protocol/fft_request.h"
#include "protocol/lapack_request.h"
#include "protocol/level3_request.h"
#include "protocol/tiling.h"
#include "protocol/wire.h"
#include "rcpu_opcodes.h"
#include "server/fft_call.h"
#include "server/host_buffers.h"
#include "server/host_staging.h"
#include "server/panel_timeline.h"

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

// Testing only (tests/integration scenario `partial`): RCPUD_TEST_FAIL_PANEL=N makes every tiled
// call fail at panel N, after the results of panels 0..N-1 were sent. -1 (unset): never.
std::int64_t injected_failure_panel() {
  static const std::int64_t panel = [] {
    const char* env = std::getenv("RCPUD_TEST_FAIL_PANEL");
    return env && *env ? std::int64_t(std::strtoll(env, nullptr, 10)) : std::int64_t(-1);
  }();
  return panel;
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
  Session(Connection& conn, SessionContext& ctx) : conn_(conn), ctx_(ctx), cache_(ctx.buffers) {}

  void run() {
    try {
      conn_.set_timeouts(ctx_.options.handshake_timeout_ms, ctx_.options.io_timeout_ms);
      if (!handshake()) return;
      for (;;) {
        conn_.set_timeouts(0, ctx_.options.io_timeout_ms);  // idle between calls: a pooled connection
        const FrameHeader h = recv_header(conn_);
        conn_.set_timeouts(ctx_.options.io_timeout_ms, ctx_.options.io_timeout_ms);
        if (h.kind == Kind::bye) return;
        if (h.kind == Kind::join) {
          handle_join(h);
          continue;
        }
        if (h.kind != Kind::request)
          fail_and_close(h, ErrorCode::bad_frame, std::string("unexpected ") + kind_name(h.kind) + " frame");
        if (lapack_routine(h.opcode))
          handle_lapack_request(h);
        else if (h.flags & kFlagTiled)
          handle_tiled_request(h);
        else
          handle_request(h);
        cache_.release();  // the buffers serve the next call of any session
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
    if (h.kind != Kind::hello)
      fail_and_close(h, ErrorCode::bad_frame, std::string("expected HELLO, got ") + kind_name(h.kind));
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
      fail_and_close(h, ErrorCode::busy,
                     "server busy: " + std::to_string(ctx_.options.max_sessions) + " sessions already");
    }
    ctx_.counters.add_session();
    log::debug("session " + conn_.peer() + ": client '" + hello.client + "'");
    HelloOk ok;
    ok.server_version = "rcpud 0.1.0";
    ok.backend = ctx_.primary.name();
    ok.capabilities = kCapLevel3 | kCapTiles | kCapLapack | kCapFftStripes;
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

  // Refuses a request whose operands may still be on their way: they are read and dropped (`drain`)
  // so the connection stays usable, then the ERROR goes out.
  template <class Drain>
  void reject(const FrameHeader& h, const Request& req, ErrorCode code, const std::string& message, const char* what,
              Drain drain) {
    ctx_.counters.add_error(h.opcode);
    log::info("session " + conn_.peer() + ": " + opcode_name(h.opcode) + what + " rejected: " + message);
    // Draining more than the limit would let a client make the server read without bound; past it,
    // the connection is closed instead.
    if (input_bytes(req.operands) > ctx_.options.max_request_bytes) fail_and_close(h, code, message);
    drain();
    send_error(conn_, h.request_id, h.opcode, code, message, false);
  }

  void reject_request(const FrameHeader& h, const Request& req, ErrorCode code, const std::string& message) {
    reject(h, req, code, message, "", [&] { drain_inputs(h.request_id, req.operands); });
  }

  // Runs one stop-and-wait call on a backend, timing it into `ns`. A backend failure or an
  // allocation failure is answered with an ERROR (the connection stays usable: the inputs are in)
  // and false is returned.
  template <class Run>
  bool run_on_backend(const FrameHeader& h, backend::Backend& be, std::uint64_t& ns, Run run) {
    try {
      const auto t0 = Clock::now();
      run();
      ns = ns_since(t0);
      return true;
    } catch (const backend::BackendError& e) {
      ctx_.counters.add_error(h.opcode);
      send_error(conn_, h.request_id, h.opcode, ErrorCode::backend_failed, std::string(be.name()) + ": " + e.what(),
                 false);
    } catch (const std::bad_alloc&) {
      ctx_.counters.add_error(h.opcode);
      send_error(conn_, h.request_id, h.opcode, ErrorCode::out_of_memory, be.name() + ": out of memory", false);
    }
    return false;
  }

  void handle_request(const FrameHeader& h) {
    if (is_fft_opcode(h.opcode)) {  // FFTs: server/fft_call.h
      if (auto fatal = serve_fft(conn_, ctx_, fft_, h)) fail_and_close(h, fatal->code, fatal->message);
      return;
    }
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
    std::uint64_t need[3] = {0, 0, 0};
    for (const OperandDesc& d : req.operands) need[d.index] = std::max<std::uint64_t>(d.bytes(), d.elem_size);
    if (!cache_.prepare(need))
      return reject_request(h, req, ErrorCode::out_of_memory,
                            "server memory budget exhausted (" + std::to_string(ctx_.memory.limit()) + " bytes)");
    std::uint8_t* buf[3] = {cache_.get(0), cache_.get(1), cache_.get(2)};

    std::uint64_t wire_in = kHeaderSize + h.payload_length;
    for (const OperandDesc& d : req.operands) {
      if (d.role == Role::in || d.role == Role::inout)
        wire_in += recv_matrix(conn_, h.request_id, d.index, buf[d.index], d.bytes());
      else
        std::memset(buf[d.index], 0, d.bytes());  // C not sent (beta == 0)
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
    if (!run_on_backend(h, be, compute_ns, [&] { be.level3(args, buf[0], buf[1], buf[2]); })) return;

    const OperandDesc& out = *output_operand(req.operands);
    Response resp;
    resp.compute_ns = compute_ns;
    resp.output = out;
    resp.server_ns = ns_since(t_inputs);
    resp.backend = be.name();
    ctx_.counters.add_call(h.opcode, wire_in, 0, compute_ns);
    std::uint64_t wire_out = send_message(conn_, Kind::response, h.request_id, h.opcode, resp);
    wire_out += send_matrix(conn_, h.request_id, h.opcode, out.index, buf[out.index], out.rows, out.cols, out.rows,
                            out.elem_size);
    ctx_.counters.add_bytes_out(h.opcode, wire_out);
  }

  // ---- LAPACK requests (spec/offload/lapack.txt; docs/protocol.md "LAPACK calls") ----
  void handle_lapack_request(const FrameHeader& h) {
    LapackRequest req;
    try {
      req = recv_body<LapackRequest>(conn_, h);
    } catch (const DecodeError& e) {
      fail_and_close(h, ErrorCode::bad_request, std::string("bad LAPACK REQUEST: ") + e.what());
    }
    // The operand list decoded: its inputs can be drained if the request is refused.
    Request as_level3;
    as_level3.operands = req.operands;
    auto refuse = [&](ErrorCode code, const std::string& message) {
      reject(h, as_level3, code, message, "", [&] { drain_inputs(h.request_id, req.operands); });
    };
    if (auto err = check_lapack_request(h.opcode, req)) return refuse(ErrorCode::bad_request, *err);
    const std::uint64_t total = total_bytes(req.operands);
    if (total > ctx_.options.max_request_bytes)
      return refuse(ErrorCode::over_limit, "request of " + std::to_string(total) +
                                               " operand bytes exceeds --max-request-bytes " +
                                               std::to_string(ctx_.options.max_request_bytes));
    // Buffers: one per operand, at least 16 bytes (LAPACK may touch element 1 of an unreferenced
    // array), borrowed from the server's pool (charged to the memory budget) for the call.
    struct Borrowed {
      HostBufferPool& pool;
      std::vector<HostBufferPool::Block> blocks;
      ~Borrowed() {
        for (const HostBufferPool::Block& b : blocks) pool.give(b);
      }
    } borrowed{ctx_.buffers, {}};
    void* p[kMaxLapackOperands] = {};
    for (const OperandDesc& d : req.operands) {
      std::optional<HostBufferPool::Block> b = ctx_.buffers.take(std::max<std::uint64_t>(d.bytes(), 16));
      if (!b)
        return refuse(ErrorCode::out_of_memory,
                      "server memory budget exhausted (" + std::to_string(ctx_.memory.limit()) + " bytes)");
      borrowed.blocks.push_back(*b);
      p[d.index] = b->p;
    }
    std::uint64_t wire_in = kHeaderSize + h.payload_length;
    for (const OperandDesc& d : req.operands)
      if ((d.role == Role::in || d.role == Role::inout) && d.bytes() > 0)
        wire_in += recv_matrix(conn_, h.request_id, d.index, p[d.index], d.bytes());
    const auto t_inputs = Clock::now();

    const LapackArgs args = lapack_args_of(h.opcode, req);
    backend::Backend& be = ctx_.primary.supports_lapack(args) ? ctx_.primary : ctx_.cpu;
    LapackResponse resp;
    if (!run_on_backend(h, be, resp.compute_ns, [&] { resp.info = be.lapack(args, p); })) return;
    resp.backend = be.name();
    resp.server_ns = ns_since(t_inputs);
    ctx_.counters.add_call(h.opcode, wire_in, 0, resp.compute_ns);
    std::uint64_t wire_out = send_message(conn_, Kind::response, h.request_id, h.opcode, resp);
    for (const OperandDesc& d : req.operands)
      if ((d.role == Role::out || d.role == Role::inout) && d.bytes() > 0)
        wire_out +=
            send_matrix(conn_, h.request_id, h.opcode, d.index, p[d.index], d.rows, d.cols, d.rows, d.elem_size);
    ctx_.counters.add_bytes_out(h.opcode, wire_out);
  }

  // ---- tiled (pipelined) requests: see protocol/tiling.h and docs/protocol.md ----

  // Reads (and drops, with a null buffer list) every input tile of `plan`, checking each against it.
  // Called for a rejected request whose inputs are within the request limit.
  void drain_tiles(const FrameHeader& h, const TilePlan& plan, std::size_t elem, std::size_t stripes) {
    for (std::size_t i = 0; i < plan.inputs.size(); i += stripes) {
      const TileDesc& t = plan.inputs[i];
      const FrameHeader th = recv_header(conn_);
      expect_tile(conn_, th, h.request_id, t, elem);
      recv_tile_data(conn_, t, nullptr, 0, elem, scratch_);
    }
  }

  // Only stripe 0 (this connection) is drained; the other stripes' JOINs find the call retired
  // and are closed, and the client discards those connections.
  void reject_tiled(const FrameHeader& h, const Request& req, const TilePlan& plan, ErrorCode code,
                    const std::string& message, std::size_t stripes = 1) {
    reject(h, req, code, message, " (tiled)", [&] { drain_tiles(h, plan, element_size(req.args.dtype), stripes); });
  }

  // A JOIN's common part: decodes it and attaches this connection as its stripe of the call that
  // `registry` knows by the token (or answers ERROR and closes). The returned guard detaches the
  // stripe from the call however the stripe ends.
  template <class Call>
  struct StripeGuard {
    std::shared_ptr<Call> call;
    int stripe = 0;
    StripeGuard(std::shared_ptr<Call> c, int s) : call(std::move(c)), stripe(s) {}
    StripeGuard(const StripeGuard&) = delete;
    StripeGuard& operator=(const StripeGuard&) = delete;
    ~StripeGuard() {
      std::lock_guard lock(call->mu);
      call->conns[std::size_t(stripe)] = nullptr;
      ++call->finished;
      call->cv.notify_all();
    }
  };
  template <class Call, class Registry>
  std::unique_ptr<StripeGuard<Call>> join_stripe(const FrameHeader& h, Registry& registry, const char* what) {
    Join j;
    try {
      j = recv_body<Join>(conn_, h);
    } catch (const DecodeError& e) {
      fail_and_close(h, ErrorCode::bad_frame, std::string("bad JOIN: ") + e.what());
    }
    std::string why;
    std::shared_ptr<Call> call =
        registry.attach(j.token, int(j.stripe), &conn_, ctx_.options.handshake_timeout_ms, ctx_.stopping, why);
    if (!call) fail_and_close(h, ErrorCode::bad_request, std::string(what) + ": " + why);
    return std::make_unique<StripeGuard<Call>>(std::move(call), int(j.stripe));
  }

  // JOIN on another connection of a client: this connection carries one stripe of a tiled call
  // whose REQUEST came (or is coming) on the client's first connection.
  void handle_join(const FrameHeader& h) {
    if (h.flags & kFlagStriped) return handle_fft_join(h);
    const auto joined = join_stripe<TiledCall>(h, ctx_.calls, "JOIN");
    TiledCall& call = *joined->call;
    {
      std::unique_lock lock(call.mu);
      call.cv.wait(lock, [&] { return call.started || call.abort; });
      if (call.abort) throw CloseSession{};
    }
    run_stripe(call, conn_, joined->stripe);
  }

  // JOIN with kFlagStriped: this connection carries one byte range of a striped FFT whose REQUEST
  // came (or is coming) on the client's first connection (server/fft_stripes.h). When the stripe
  // is over, the connection goes back to serving requests; a failed call closes it.
  void handle_fft_join(const FrameHeader& h) {
    const auto joined = join_stripe<FftStripedCall>(h, ctx_.fft_calls, "striped FFT JOIN");
    try {
      run_fft_stripe(*joined->call, conn_, joined->stripe);
    } catch (const TransportError&) {
      throw CloseSession{};  // the call failed: the client discards this connection
    } catch (const backend::BackendError& e) {
      // The device failed while this stripe's output was coming back; the call is failed already.
      log::info("session " + conn_.peer() + ": striped FFT failed: " + e.what());
      throw CloseSession{};
    }
  }

  // Tells the backend which leading bytes of A and B are final once input tiles [0, upto) are in
  // (tiles travel in column-major order, whole columns or row pieces of one: protocol/tiling.h).
  static void report_inputs(const TiledCall& tc, backend::StreamedCall& call, std::size_t from, std::size_t upto) {
    if (upto == 0 || upto <= from) return;
    const TileDesc& t = tc.plan.inputs[upto - 1];
    if (t.operand > 1) return;  // A and B (when every panel needs it) come first; the rest goes by panel
    const std::uint64_t ld = tc.ld[t.operand];
    const std::uint64_t bytes = ((t.col0 + t.cols - 1) * ld + t.row0 + t.rows) * tc.elem;
    if (t.operand == 1) call.inputs_arrived(0, std::numeric_limits<std::uint64_t>::max());  // all of A is in
    call.inputs_arrived(t.operand, bytes);
  }

  // The worker of a tiled call: starts panel j once every stripe has delivered its inputs, keeping
  // up to call.depth() panels in flight on the backend (panel j+1's upload overlaps panel j's
  // compute), and announces each finished panel to the stripes' senders. compute_ns: the time this
  // thread spent inside the backend's calls (for an asynchronous backend, little: its work runs
  // on the device while this thread polls).
  static void compute_panels(TiledCall& tc, backend::StreamedCall& call, backend::Backend& be, std::int64_t n,
                             std::uint64_t& compute_ns) {
    const TilePlan& plan = tc.plan;
    const std::int64_t depth = std::max(1, call.depth());
    std::int64_t started = 0, finished = 0;
    std::size_t reported = 0;  // input tiles already handed to inputs_arrived
    std::string failure;
    // How often a panel running on the device is polled while no new panel can start.
    constexpr auto kPoll = std::chrono::microseconds(100);
    try {
      while (finished < plan.panels) {
        bool start = false;
        {
          std::unique_lock lock(tc.mu);
          // Start the next panel if its inputs are in and there is room; else see whether the
          // oldest has finished (its results go out while later inputs still arrive).
          const auto can_start = [&] {
            return started < plan.panels && tc.ready > started && started - finished < depth;
          };
          const auto new_input = [&] { return started == 0 && tc.ready == 0 && tc.arrived > reported; };
          tc.cv.wait(lock, [&] { return can_start() || finished < started || tc.abort || new_input(); });
          if (tc.abort) break;
          start = can_start();
          if (!start && new_input()) {
            const std::size_t upto = tc.arrived;
            lock.unlock();
            report_inputs(tc, call, reported, upto);
            reported = upto;
            continue;
          }
        }
        if (!start && !call.try_finish_panel()) {
          std::unique_lock lock(tc.mu);
          tc.cv.wait_for(lock, kPoll, [&] { return tc.ready > started || tc.abort; });
          continue;
        }
        if (!start) {
          ++finished;
          std::lock_guard lock(tc.mu);
          tc.done = finished;
          if (tc.timeline) tc.t_done[std::size_t(finished - 1)] = Clock::now();
          tc.cv.notify_all();
          continue;
        }
        const auto t0 = Clock::now();
        if (start && started == injected_failure_panel()) {
          // Test hook: a backend failure once the results of every earlier panel have gone out,
          // so the client sees a call that broke after part of C had arrived.
          for (; finished < started; ++finished) {
            call.finish_panel();
            std::lock_guard lock(tc.mu);
            tc.done = finished + 1;
            tc.cv.notify_all();
          }
          std::unique_lock lock(tc.mu);
          tc.cv.wait(lock, [&] { return tc.abort || *std::min_element(tc.sent.begin(), tc.sent.end()) >= started; });
          throw backend::BackendError("injected failure at panel " + std::to_string(started) +
                                      " (RCPUD_TEST_FAIL_PANEL)");
        }
        const std::int64_t c0 = plan.panel_begin(started);
        call.start_panel(c0, std::min<std::int64_t>(plan.panel_cols, n - c0));
        ++started;
        compute_ns += ns_since(t0);
      }
    } catch (const std::bad_alloc&) {
      failure = be.name() + ": out of memory";
    } catch (const std::exception& e) {
      failure = be.name() + ": " + e.what();
    }
    if (!failure.empty()) {
      std::lock_guard lock(tc.mu);
      tc.failure = failure;
      tc.cv.notify_all();
    }
  }

  void handle_tiled_request(const FrameHeader& h) {
    const auto t_request = Clock::now();
    TiledRequest treq;
    try {
      treq = recv_body<TiledRequest>(conn_, h);
    } catch (const DecodeError& e) {
      fail_and_close(h, ErrorCode::bad_request, std::string("bad tiled REQUEST: ") + e.what());
    }
    const Request& req = treq.request;
    if (treq.stripes < 1 || treq.stripes > kMaxStripes)
      fail_and_close(h, ErrorCode::bad_request, "tiled request: stripe count out of range");
    const std::size_t stripes = treq.stripes;
    auto tc = std::make_shared<TiledCall>();
    tc->stripes = int(stripes);
    tc->got.assign(stripes, 0);
    tc->conns.assign(stripes, nullptr);
    tc->attached.assign(stripes, false);
    tc->sending.assign(stripes, false);
    tc->sent.assign(stripes, 0);
    tc->conns[0] = &conn_;
    tc->attached[0] = true;
    // Registered first, retired on every way out, so another stripe's JOIN never waits in vain.
    if (stripes > 1 && !ctx_.calls.add(treq.token, tc))
      fail_and_close(h, ErrorCode::bad_request, "tiled request: call token already in use");
    // On every way out: no more JOINs, and stripes that attached to a call that never started
    // (rejected) are released.
    struct Retire {
      CallRegistry& r;
      TiledCall& c;
      Connection& primary;
      std::uint64_t token;
      bool on;
      ~Retire() {
        if (!on) return;
        r.retire(token);
        std::unique_lock lock(c.mu);
        if (!c.started) {
          c.fail_all(&primary);
          c.cv.wait(lock,
                    [&] { return c.finished == int(std::count(c.attached.begin(), c.attached.end(), true)) - 1; });
        }
      }
    } retire{ctx_.calls, *tc, conn_, treq.token, stripes > 1};

    // Without a valid call and plan nobody knows which tiles follow: close rather than guess.
    if (auto err = check_level3_request(h.opcode, req)) fail_and_close(h, ErrorCode::bad_request, *err);
    TilePlan& plan = tc->plan;
    if (auto err = make_tile_plan(req.args, treq.panel_cols, treq.tile_bytes, plan))
      fail_and_close(h, ErrorCode::bad_request, "tiled request: " + *err);
    const std::uint64_t total = total_bytes(req.operands);
    if (total > ctx_.options.max_request_bytes) {
      ctx_.calls.retire(treq.token);
      return reject_tiled(h, req, plan, ErrorCode::over_limit,
                          "request of " + std::to_string(total) + " operand bytes exceeds --max-request-bytes " +
                              std::to_string(ctx_.options.max_request_bytes),
                          stripes);
    }
    for (const OperandDesc& d : req.operands) tc->ld[d.index] = d.rows;

    Level3Args args = req.args;
    const Level3Shapes s = level3_shapes(args);
    args.lda = std::max<std::int64_t>(1, s.a.rows);
    args.ldb = std::max<std::int64_t>(1, s.b.rows);
    args.ldc = std::max<std::int64_t>(1, s.c.rows);
    if (args.family == L3Family::trmm || args.family == L3Family::trsm) args.ldb = args.ldc;
    backend::Backend& be = ctx_.primary.supports(args) ? ctx_.primary : ctx_.cpu;
    const std::size_t elem = element_size(args.dtype);
    const OperandDesc& out = *output_operand(req.operands);

    // Tiles through the backend's slots when it has them (the CUDA backend: straight between the
    // sockets and the GPU; the call is then begun without host buffers), else through host
    // buffers; the test hook stages those too.
    std::unique_ptr<backend::StreamedCall> call;
    const auto begin = [&](bool with_buffers) -> bool {
      call.reset();
      if (with_buffers) {
        std::uint64_t need[3] = {0, 0, 0};
        for (const OperandDesc& d : req.operands) need[d.index] = std::max<std::uint64_t>(d.bytes(), d.elem_size);
        if (!cache_.prepare(need)) {
          if (stripes > 1) ctx_.calls.retire(treq.token);
          reject_tiled(h, req, plan, ErrorCode::out_of_memory,
                       "server memory budget exhausted (" + std::to_string(ctx_.memory.limit()) + " bytes)", stripes);
          return false;
        }
        for (int i = 0; i < 3; ++i) tc->buf[i] = cache_.get(i);
      }
      try {
        call = be.begin_streamed(args, tc->buf[0], tc->buf[1], tc->buf[2]);
      } catch (const std::exception& e) {
        if (stripes > 1) ctx_.calls.retire(treq.token);
        reject_tiled(h, req, plan, ErrorCode::backend_failed, be.name() + ": " + e.what(), stripes);
        return false;
      }
      tc->staging = call->tile_staging(int(stripes));
      return true;
    };
    const bool staged_first = be.offers_tile_staging(args);
    if (!begin(/*with_buffers=*/!staged_first)) return;
    if (staged_first && !tc->staging && !begin(/*with_buffers=*/true)) return;  // no slots after all
    std::unique_ptr<HostStaging> test_staging;
    if (!tc->staging && test_staging_slot_bytes() > 0) {
      test_staging = std::make_unique<HostStaging>(tc->buf, int(stripes), test_staging_slot_bytes());
      tc->staging = test_staging.get();
    }
    tc->elem = elem;
    tc->request_id = h.request_id;
    tc->opcode = h.opcode;
    {
      std::lock_guard lock(tc->mu);
      tc->ready = tc->panels_ready();
      if (!ctx_.options.panel_timeline.empty()) {
        tc->timeline = true;
        tc->t_begin = t_request;
        for (auto* v : {&tc->t_ready, &tc->t_done, &tc->t_sent})
          v->assign(std::size_t(plan.panels), Clock::time_point{});
        for (std::int64_t p = 0; p < tc->ready; ++p) tc->t_ready[std::size_t(p)] = t_request;
      }
      tc->wire_in = kHeaderSize + h.payload_length;
      tc->stopping = &ctx_.stopping;
      if (ctx_.options.io_timeout_ms > 0) tc->stall_ms = ctx_.options.io_timeout_ms;
      tc->last_progress = Clock::now();
      tc->started = true;
      tc->cv.notify_all();
    }

    // The worker computes panel j once every stripe has delivered its inputs; the stripes' sender
    // threads return the results. This thread receives stripe 0.
    std::uint64_t compute_ns = 0;
    std::thread worker([&] { compute_panels(*tc, *call, be, std::int64_t(out.cols), compute_ns); });

    std::exception_ptr error;
    try {
      run_stripe(*tc, conn_, 0);
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::unique_lock lock(tc->mu);
      ++tc->finished;
      auto attached = [&] { return int(std::count(tc->attached.begin(), tc->attached.end(), true)); };
      // Every stripe attaches and finishes, unless the call failed; a stripe that never attaches
      // within the I/O time-out fails the call.
      const auto limit =
          std::chrono::milliseconds(ctx_.options.io_timeout_ms > 0 ? ctx_.options.io_timeout_ms : 600000);
      if (!tc->cv.wait_for(lock, limit,
                           [&] { return tc->finished == int(stripes) || (tc->abort && tc->finished == attached()); }))
        tc->fail_all(&conn_);
    }
    if (stripes > 1) ctx_.calls.retire(treq.token);  // no stripe attaches from now on
    {
      std::unique_lock lock(tc->mu);
      tc->cv.wait(lock,
                  [&] { return tc->finished == int(std::count(tc->attached.begin(), tc->attached.end(), true)); });
      if (!error && tc->abort) error = std::make_exception_ptr(CloseSession{});
      if (error) tc->fail_all(&conn_);  // wakes the worker
      tc->conns[0] = nullptr;
    }
    worker.join();
    call.reset();
    if (error) std::rethrow_exception(error);
    if (!tc->failure.empty()) {
      ctx_.counters.add_error(h.opcode);
      send_error(conn_, h.request_id, h.opcode, ErrorCode::backend_failed, tc->failure, false);
      if (tc->timeline) append_panel_timeline(ctx_.options.panel_timeline, *tc, args, be.name(), false);
      return;
    }
    Response resp;
    resp.compute_ns = compute_ns;
    resp.output = out;
    // From the last input byte to the end of the results: with pipelining most of the work is done
    // before the last input arrives, so this is the tail a pipelined call adds.
    resp.server_ns = ns_since(tc->last_input);
    resp.backend = be.name();
    // Counted before the RESPONSE goes out: once the client has it, the call is over for everyone.
    ctx_.counters.add_call(h.opcode, tc->wire_in, tc->wire_out + kHeaderSize + encode(resp).size(), compute_ns);
    send_message(conn_, Kind::response, h.request_id, h.opcode, resp);
    if (tc->timeline) append_panel_timeline(ctx_.options.panel_timeline, *tc, args, be.name(), true);
  }

  Connection& conn_;
  SessionContext& ctx_;
  BufferCache cache_;
  FftSessionState fft_;  // FFT plans of this session (freed with it)
  std::vector<std::uint8_t> scratch_;
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
