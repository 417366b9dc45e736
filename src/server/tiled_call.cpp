#include "server/tiled_call.h"

#include <sys/uio.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <thread>
#include <vector>

#include "protocol/wire.h"

namespace rcpu::server {

using namespace rcpu::protocol;

std::int64_t TiledCall::panels_ready() const {
  std::int64_t r = ready;
  const std::size_t k = std::size_t(stripes);
  while (r < plan.panels) {
    const std::size_t need_total = plan.ready_after[std::size_t(r)];
    for (std::size_t s = 0; s < k; ++s) {
      const std::size_t need = need_total > s ? (need_total - s + k - 1) / k : 0;
      if (got[s] < need) return r;
    }
    ++r;
  }
  return r;
}

std::size_t TiledCall::inputs_in_order() const {
  // Stripe s carries tiles s, s + k, s + 2k, ... in order, so its got[s] tiles are the first ones.
  const std::size_t k = std::size_t(stripes);
  std::size_t n = plan.inputs.size();
  for (std::size_t s = 0; s < k; ++s) n = std::min(n, got[s] * k + s);
  return n;
}

void TiledCall::fail_all(transport::Connection* keep) {
  abort = true;
  for (transport::Connection* c : conns)
    if (c && c != keep) c->shutdown();
  cv.notify_all();
}

namespace {

// Testing only (tests/integration scenario `partial`): RCPUD_TEST_TEAR_PANEL=N makes every stripe
// send its first result tile of panel N torn (the frame announces the whole tile, half of it
// follows) and then fails the call, as a server dying mid-tile would. -1 (unset): never.
std::int64_t injected_tear_panel() {
  static const std::int64_t panel = [] {
    const char* env = std::getenv("RCPUD_TEST_TEAR_PANEL");
    return env && *env ? std::int64_t(std::strtoll(env, nullptr, 10)) : std::int64_t(-1);
  }();
  return panel;
}

void send_torn_tile(transport::Connection& conn, const TiledCall& call, const TileDesc& t) {
  const std::uint64_t col_bytes = t.rows * call.elem;
  TileFrameHeaders hd = tile_frame_headers(call.request_id, call.opcode, t, col_bytes * t.cols);
  std::vector<iovec> iov = {{hd.frame.data(), hd.frame.size()}, {hd.tile, kTileHeaderSize}};
  const std::uint8_t* p = call.buf[2] + (t.col0 * call.ld[2] + t.row0) * call.elem;
  for (std::uint64_t j = 0; j < t.cols / 2; ++j)
    iov.push_back({const_cast<std::uint8_t*>(p + j * call.ld[2] * call.elem), col_bytes});
  iov.push_back({const_cast<std::uint8_t*>(p + (t.cols / 2) * call.ld[2] * call.elem), col_bytes / 2});
  conn.send_vec(iov.data(), iov.size());
}

}  // namespace

void run_stripe(TiledCall& call, transport::Connection& conn, int s) {
  const std::size_t k = std::size_t(call.stripes), stripe = std::size_t(s);
  bool sender_done = false;
  std::thread sender([&] {
    struct Done {
      TiledCall& c;
      bool& flag;
      ~Done() {
        std::lock_guard lock(c.mu);
        flag = true;
        c.cv.notify_all();
      }
    } done_guard{call, sender_done};
    std::vector<std::uint8_t> scratch;
    std::size_t idx = stripe;
    const int out = 2;
    for (std::int64_t j = 0; j < call.plan.panels; ++j) {
      {
        std::unique_lock lock(call.mu);
        call.cv.wait(lock, [&] { return call.done > j || call.abort || !call.failure.empty(); });
        if (call.abort || !call.failure.empty()) return;
        call.sending[stripe] = true;
      }
      try {
        if (j == injected_tear_panel() && idx < call.plan.outputs_end[std::size_t(j)]) {
          send_torn_tile(conn, call, call.plan.outputs[idx]);
          throw std::runtime_error("injected torn tile (RCPUD_TEST_TEAR_PANEL)");
        }
        std::uint64_t bytes = 0;
        for (; idx < call.plan.outputs_end[std::size_t(j)]; idx += k)
          bytes += send_tile(conn, call.request_id, call.opcode, call.plan.outputs[idx], call.buf[out], call.ld[out],
                             call.elem, scratch);
        std::lock_guard lock(call.mu);
        call.wire_out += bytes;
        call.sending[stripe] = false;
        call.sent[stripe] = j + 1;
        call.cv.notify_all();
        call.last_progress = std::chrono::steady_clock::now();
      } catch (const std::exception&) {
        std::lock_guard lock(call.mu);
        call.fail_all();
        return;
      }
    }
  });
  std::vector<std::uint8_t> scratch;
  try {
    for (std::size_t i = stripe; i < call.plan.inputs.size(); i += k) {
      const TileDesc& t = call.plan.inputs[i];
      const FrameHeader h = recv_header(conn);
      expect_tile(conn, h, call.request_id, t, call.elem);
      recv_tile_data(conn, t, call.buf[t.operand], call.ld[t.operand], call.elem, scratch);
      std::lock_guard lock(call.mu);
      ++call.got[stripe];
      call.wire_in += kHeaderSize + h.payload_length;
      call.last_input = call.last_progress = std::chrono::steady_clock::now();
      const std::int64_t r = call.panels_ready();
      if (r != call.ready) {
        call.ready = r;
        call.cv.notify_all();
      } else if (r == 0) {
        // Before the first panel can start, the worker hands the leading operand bytes that have
        // arrived to the backend (StreamedCall::inputs_arrived), so A's upload overlaps its receipt.
        call.arrived = call.inputs_in_order();
        call.cv.notify_all();
      }
    }
  } catch (...) {
    {
      // This connection stays up (for an ERROR reply) unless its sender is blocked writing.
      std::lock_guard lock(call.mu);
      call.fail_all(&conn);
      if (call.sending[stripe]) conn.shutdown();
    }
    sender.join();
    throw;
  }
  // Waits for this stripe's results to be sent. cv waits do not notice a vanished peer or a
  // server shutting down, so this thread watches: a stripe that never attaches, a client gone
  // silent, or rcpud stopping fails the call (which wakes every thread of it).
  {
    std::unique_lock lock(call.mu);
    while (!sender_done) {
      call.cv.wait_for(lock, std::chrono::milliseconds(200));
      if (sender_done) break;
      const bool stalled = std::chrono::steady_clock::now() - call.last_progress > std::chrono::milliseconds(call.stall_ms);
      if (!call.abort && (stalled || (call.stopping && call.stopping->load()))) call.fail_all();
    }
  }
  sender.join();
  std::lock_guard lock(call.mu);
  if (call.abort) throw transport::TransportError(transport::TransportError::Kind::closed, "tiled call aborted");
}

}  // namespace rcpu::server
