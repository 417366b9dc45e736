#include "server/blas/tiled_call.h"

#include <sys/uio.h>

#include <algorithm>
#include <stdexcept>
#include <thread>
#include <vector>

#include "protocol/wire.h"

namespace rcpu::server::blas {

using namespace rcpu::protocol;

TiledCall::TiledCall(int stripes_, transport::Connection& primary)
    : StripedCall(stripes_, primary),
      got(std::size_t(stripes_), 0),
      sending(std::size_t(stripes_), false),
      sent(std::size_t(stripes_), 0) {}

void TiledCall::serve_stripe(transport::Connection& conn, int s) { run_stripe(*this, conn, s); }

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

namespace {

// Where tile `t` lies in its packed operand: one contiguous byte range, since a tile is whole
// columns or a piece of one column (protocol/tiling.h) and the server's operands are packed.
struct ByteSpan {
  std::uint64_t offset = 0, bytes = 0;
};
ByteSpan packed_span(const TiledCall& call, const TileDesc& t) {
  return {(t.col0 * call.ld[t.operand] + t.row0) * call.elem, t.rows * t.cols * call.elem};
}

// Receives the data of input tile `t` (its headers are read) into the host buffer, or piece by
// piece through stripe s's staging slots.
void recv_tile(transport::Connection& conn, const TiledCall& call, int s, const TileDesc& t,
               std::vector<std::uint8_t>& scratch) {
  if (!call.staging) return recv_tile_data(conn, t, call.buf[t.operand], call.ld[t.operand], call.elem, scratch);
  const ByteSpan span = packed_span(call, t);
  const std::uint64_t slot = call.staging->slot_bytes();
  for (std::uint64_t done = 0; done < span.bytes;) {
    const std::uint64_t n = std::min(slot, span.bytes - done);
    conn.recv_exact(call.staging->input_slot(s), n);
    call.staging->input_filled(s, t.operand, span.offset + done, n);
    done += n;
  }
}

}  // namespace

std::uint64_t send_result_tiles(transport::Connection& conn, const TiledCall& call, int s,
                                const std::vector<TileDesc>& tiles, std::uint64_t torn_bytes) {
  struct Piece {
    std::size_t tile;
    std::uint64_t offset, bytes;
    bool first;  // the tile's frame headers go before it
  };
  std::vector<Piece> pieces;
  std::uint64_t wire = 0;
  const std::uint64_t slot = call.staging ? call.staging->slot_bytes() : ~std::uint64_t(0);
  for (std::size_t i = 0; i < tiles.size(); ++i) {
    const ByteSpan span = packed_span(call, tiles[i]);
    const std::uint64_t send = torn_bytes ? std::min(torn_bytes, span.bytes) : span.bytes;
    std::uint64_t done = 0;
    do {
      const std::uint64_t n = std::min(slot, send - done);
      pieces.push_back({i, span.offset + done, n, done == 0});
      done += n;
    } while (done < send);
    wire += kHeaderSize + kTileHeaderSize + span.bytes;
  }
  if (call.staging && !pieces.empty()) call.staging->fetch_output(s, pieces[0].offset, pieces[0].bytes);
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const Piece& p = pieces[i];
    const void* data = nullptr;
    if (call.staging) {
      if (i + 1 < pieces.size()) call.staging->fetch_output(s, pieces[i + 1].offset, pieces[i + 1].bytes);
      data = call.staging->take_output(s);
    } else {
      data = call.buf[2] + p.offset;
    }
    iovec iov[3];
    std::size_t count = 0;
    TileFrameHeaders hd;
    if (p.first) {
      hd = tile_frame_headers(call.request_id, call.opcode, tiles[p.tile], packed_span(call, tiles[p.tile]).bytes);
      iov[count++] = {hd.frame.data(), hd.frame.size()};
      iov[count++] = {hd.tile, kTileHeaderSize};
    }
    if (p.bytes > 0) iov[count++] = {const_cast<void*>(data), p.bytes};
    conn.send_vec(iov, count);
  }
  return wire;
}

std::uint64_t send_panel_results(transport::Connection& conn, const TiledCall& call, int s, std::int64_t /*panel*/,
                                 const std::vector<TileDesc>& tiles) {
  return send_result_tiles(conn, call, s, tiles);
}

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
    std::vector<TileDesc> tiles;
    std::size_t idx = stripe;
    for (std::int64_t j = 0; j < call.plan.panels; ++j) {
      {
        std::unique_lock lock(call.mu);
        call.cv.wait(lock, [&] { return call.done > j || call.abort || !call.failure.empty(); });
        if (call.abort || !call.failure.empty()) return;
        call.sending[stripe] = true;
      }
      try {
        tiles.clear();
        for (; idx < call.plan.outputs_end[std::size_t(j)]; idx += k) tiles.push_back(call.plan.outputs[idx]);
        const std::uint64_t bytes = call.send_panel(conn, call, s, j, tiles);
        std::lock_guard lock(call.mu);
        call.wire_out += bytes;
        call.sending[stripe] = false;
        call.sent[stripe] = j + 1;
        if (call.timeline) call.t_sent[std::size_t(j)] = std::chrono::steady_clock::now();
        call.cv.notify_all();
        call.last_progress = std::chrono::steady_clock::now();
      } catch (const std::exception&) {
        // The other stripes stop at once. This one only half-closes: the client may still be
        // sending inputs, and a full shutdown would have the kernel answer them with a reset that
        // discards the part of this panel still queued for the client, whose whole columns it
        // keeps. The receiver below ends when the client, seeing the end, closes too.
        std::lock_guard lock(call.mu);
        call.fail_all(&conn);
        conn.end_sending();
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
      recv_tile(conn, call, s, t, scratch);
      std::lock_guard lock(call.mu);
      ++call.got[stripe];
      call.wire_in += kHeaderSize + h.payload_length;
      call.last_input = call.last_progress = std::chrono::steady_clock::now();
      const std::int64_t r = call.panels_ready();
      if (r != call.ready) {
        if (call.timeline)
          for (std::int64_t p = call.ready; p < r; ++p) call.t_ready[std::size_t(p)] = call.last_input;
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
      const bool stalled =
          std::chrono::steady_clock::now() - call.last_progress > std::chrono::milliseconds(call.stall_ms);
      if (!call.abort && (stalled || (call.stopping && call.stopping->load()))) call.fail_all();
    }
  }
  sender.join();
  std::lock_guard lock(call.mu);
  if (call.abort) throw transport::TransportError(transport::TransportError::Kind::closed, "tiled call aborted");
}

}  // namespace rcpu::server::blas
