#include "server/blas/tiled_request.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <thread>

#include "common/level3.h"
#include "protocol/level3_request.h"
#include "protocol/tiling.h"
#include "protocol/wire.h"
#include "server/blas/blas_kind.h"
#include "server/blas/panel_timeline.h"
#include "server/blas/panel_worker.h"
#include "server/blas/test_hooks.h"
#include "server/blas/tiled_call.h"
#include "server/core/striping.h"
#include "server/core/testing.h"

namespace rcpu::server::blas {
namespace {

using namespace rcpu::protocol;
using transport::Connection;
using Clock = std::chrono::steady_clock;

std::uint64_t ns_since(Clock::time_point t0) {
  return std::uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
}

// Reads (and drops) every input tile of stripe 0 of `plan`, checking each against it. Called for a
// rejected request whose inputs are within the request limit.
void drain_tiles(Session& session, const FrameHeader& h, const TilePlan& plan, std::size_t elem, std::size_t stripes) {
  for (std::size_t i = 0; i < plan.inputs.size(); i += stripes) {
    const TileDesc& t = plan.inputs[i];
    const FrameHeader th = recv_header(session.conn());
    expect_tile(session.conn(), th, h.request_id, t, elem);
    recv_tile_data(session.conn(), t, nullptr, 0, elem, session.scratch());
  }
}

// Only stripe 0 (this connection) is drained; the other stripes' JOINs find the call retired
// and are closed, and the client discards those connections.
void reject_tiled(Session& session, const FrameHeader& h, const Request& req, const TilePlan& plan, ErrorCode code,
                  const std::string& message, std::size_t stripes) {
  session.reject(h, req.operands, code, message, " (tiled)",
                 [&] { drain_tiles(session, h, plan, element_size(req.args.dtype), stripes); });
}

}  // namespace

void serve_tiled_request(Session& session, const FrameHeader& h) {
  const auto t_request = Clock::now();
  Connection& conn = session.conn();
  SessionContext& ctx = session.ctx();
  const TiledRequest treq = session.decode_or_close<TiledRequest>(h, ErrorCode::bad_request, "bad tiled REQUEST: ");
  const Request& req = treq.request;
  if (treq.stripes < 1 || treq.stripes > kMaxStripes)
    session.fail_and_close(h, ErrorCode::bad_request, "tiled request: stripe count out of range");
  const std::size_t stripes = treq.stripes;
  auto tc = std::make_shared<TiledCall>(int(stripes), conn);
  // A striped call is registered first and retired on every way out, so another stripe's JOIN
  // never waits in vain; stripes that attached to a call that never started are released.
  std::optional<StripedCallOwner> owner;
  if (stripes > 1) {
    owner.emplace(ctx.stripes, kName, StripeKey{session.client_identity(), treq.token}, tc, conn);
    if (!owner->registered())
      session.fail_and_close(h, ErrorCode::bad_request, "tiled request: call token already in use");
  }
  const auto retire = [&] {
    if (owner) owner->retire();
  };

  // Without a valid call and plan nobody knows which tiles follow: close rather than guess.
  if (auto err = check_level3_request(h.opcode, req)) session.fail_and_close(h, ErrorCode::bad_request, *err);
  TilePlan& plan = tc->plan;
  if (auto err = make_tile_plan(req.args, treq.panel_cols, treq.tile_bytes, plan))
    session.fail_and_close(h, ErrorCode::bad_request, "tiled request: " + *err);
  // Every input tile this connection carries (all of them, at most), plus 64 bytes of headers each.
  session.expect_request_bytes(h.payload_length + input_bytes(req.operands) + 64 * plan.inputs.size());
  const std::uint64_t total = total_bytes(req.operands);
  if (total > ctx.options.max_request_bytes) {
    retire();
    return session.refuse_over_request_limit(h, req.operands,
                                             "request of " + std::to_string(total) +
                                                 " operand bytes exceeds --max-request-bytes " +
                                                 std::to_string(ctx.options.max_request_bytes),
                                             " (tiled)");
  }
  // Held until the call is over, however it ends (core/client_limits.h).
  const Admission admitted = session.admit_call(h, total);
  if (!admitted.ticket) {
    retire();
    return reject_tiled(session, h, req, plan, limit_error_code(admitted.refused), admitted.why, stripes);
  }
  for (const OperandDesc& d : req.operands) tc->ld[d.index] = d.rows;

  const Level3Args args = level3_packed(req.args);
  backend::Backend& be = ctx.primary.supports(args) ? ctx.primary : ctx.cpu;
  const std::size_t elem = element_size(args.dtype);
  const OperandDesc& out = *output_operand(req.operands);

  // Tiles through the backend's slots when it has them (the CUDA backend: straight between the
  // sockets and the GPU; the call is then begun without host buffers), else through host buffers.
  std::unique_ptr<backend::StreamedCall> call;
  const auto begin = [&](bool with_buffers) -> bool {
    call.reset();
    if (with_buffers) {
      std::uint64_t need[3] = {0, 0, 0};
      for (const OperandDesc& d : req.operands) need[d.index] = std::max<std::uint64_t>(d.bytes(), d.elem_size);
      if (!session.buffers().prepare(need)) {
        retire();
        reject_tiled(session, h, req, plan, ErrorCode::out_of_memory,
                     "server memory budget exhausted (" + std::to_string(ctx.memory.limit()) + " bytes)", stripes);
        return false;
      }
      for (int i = 0; i < 3; ++i) tc->buf[i] = session.buffers().get(std::size_t(i));
    }
    try {
      call = be.begin_streamed(args, tc->buf[0], tc->buf[1], tc->buf[2]);
    } catch (const std::exception& e) {
      retire();
      reject_tiled(session, h, req, plan, ErrorCode::backend_failed, be.name() + ": " + e.what(), stripes);
      return false;
    }
    tc->staging = call->tile_staging(int(stripes));
    return true;
  };
  const bool staged_first = be.offers_tile_staging(args);
  if (!begin(/*with_buffers=*/!staged_first)) return;
  if (staged_first && !tc->staging && !begin(/*with_buffers=*/true)) return;  // no slots after all
  TiledCallTestHooks test_hooks;                                              // off in production (core/testing.h)
  if (testing::hooks().tiled_calls()) install_test_hooks(*tc, call, test_hooks);
  tc->elem = elem;
  tc->request_id = h.request_id;
  tc->opcode = h.opcode;
  {
    std::lock_guard lock(tc->mu);
    tc->ready = tc->panels_ready();
    if (!ctx.options.panel_timeline.empty()) {
      tc->timeline = true;
      tc->t_begin = t_request;
      for (auto* v : {&tc->t_ready, &tc->t_done, &tc->t_sent}) v->assign(std::size_t(plan.panels), Clock::time_point{});
      for (std::int64_t p = 0; p < tc->ready; ++p) tc->t_ready[std::size_t(p)] = t_request;
    }
    tc->wire_in = kHeaderSize + h.payload_length;
    tc->stopping = &ctx.stopping;
    if (ctx.options.io_timeout_ms > 0) tc->stall_ms = ctx.options.io_timeout_ms;
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
    run_stripe(*tc, conn, 0);
  } catch (...) {
    error = std::current_exception();
  }
  {
    std::unique_lock lock(tc->mu);
    // Every stripe attaches and finishes, unless the call failed; a stripe that never attaches
    // within the I/O time-out fails the call.
    if (!tc->wait_for_stripes(lock, ctx.options.io_timeout_ms, nullptr, [&] {
          return tc->finished == int(stripes) - 1 || (tc->abort && tc->finished == tc->joined());
        }))
      tc->fail_all(&conn);
  }
  retire();  // no stripe attaches from now on
  {
    std::unique_lock lock(tc->mu);
    tc->cv.wait(lock, [&] { return tc->finished == tc->joined(); });
    if (!error && tc->abort) error = std::make_exception_ptr(CloseSession{});
    if (error) tc->fail_all(&conn);  // wakes the worker
    tc->conns[0] = nullptr;
  }
  if (owner) owner->ran_to_end();
  worker.join();
  call.reset();
  if (error) std::rethrow_exception(error);
  if (!tc->failure.empty()) {
    ctx.counters.add_error(h.opcode);
    send_error(conn, h.request_id, h.opcode, ErrorCode::backend_failed, tc->failure, false);
    if (tc->timeline) append_panel_timeline(ctx.options.panel_timeline, *tc, args, be.name(), false);
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
  ctx.counters.add_call(h.opcode, tc->wire_in, tc->wire_out + kHeaderSize + encode(resp).size(), compute_ns);
  send_message(conn, Kind::response, h.request_id, h.opcode, resp);
  if (tc->timeline) append_panel_timeline(ctx.options.panel_timeline, *tc, args, be.name(), true);
}

}  // namespace rcpu::server::blas
