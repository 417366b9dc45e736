// A tiled (pipelined) call as the server runs it, possibly striped over several connections of
// one client (protocol/tiling.h, docs/protocol.md): tile i of the plan, input or output, travels on
// stripe i mod stripes. Each stripe's connection is served by its own session thread, which
// receives that stripe's input tiles, plus one sender thread per stripe for its result tiles; one
// worker thread computes the panels (blas/panel_worker.h). Everything they share lives here, under
// the call's one mutex; what every striped call shares (attaching, failing) is core/striping.h's.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "protocol/tiling.h"
#include "server/core/striping.h"
#include "transport/transport.h"

namespace rcpu::server::blas {

struct TiledCall;

// Sends stripe s's output tiles `tiles`, whose panels are finished. Each goes as one TILE frame
// announcing the whole tile; `torn_bytes` > 0 (a test hook, one tile) sends only that many bytes
// of its data. From the host buffer, or through the stripe's staging slots, the copy of the next
// piece out of the device overlapping the send of this one. Returns bytes written.
std::uint64_t send_result_tiles(transport::Connection& conn, const TiledCall& call, int s,
                                const std::vector<protocol::TileDesc>& tiles, std::uint64_t torn_bytes = 0);

// How a stripe's sender sends its result tiles of one panel: send_result_tiles, unless a test hook
// replaced it (blas/test_hooks.h). Returns bytes written.
using PanelSender = std::uint64_t (*)(transport::Connection& conn, const TiledCall& call, int s, std::int64_t panel,
                                      const std::vector<protocol::TileDesc>& tiles);
std::uint64_t send_panel_results(transport::Connection& conn, const TiledCall& call, int s, std::int64_t panel,
                                 const std::vector<protocol::TileDesc>& tiles);

struct TiledCall final : StripedCall {
  TiledCall(int stripes, transport::Connection& primary);

  // Fixed before any stripe starts.
  protocol::TilePlan plan;
  std::uint8_t* buf[3] = {nullptr, nullptr, nullptr};
  std::uint64_t ld[3] = {0, 0, 0};
  std::size_t elem = 0;
  std::uint64_t request_id = 0;
  std::uint32_t opcode = 0;
  // Non-null: tiles travel through the backend's slots, not buf[] (backend::TileStaging).
  backend::TileStaging* staging = nullptr;
  PanelSender send_panel = send_panel_results;

  // Under mu (StripedCall).
  std::vector<std::size_t> got;      // input tiles received per stripe
  std::int64_t ready = 0, done = 0;  // panels whose inputs are in / that are computed
  std::size_t arrived = 0;           // input tiles [0, arrived) are all in (while ready == 0)
  std::string failure;               // the backend failed: inputs are drained, then ERROR
  std::uint64_t wire_in = 0, wire_out = 0;
  std::vector<bool> sending;       // a stripe's sender is writing result tiles
  std::vector<std::int64_t> sent;  // per stripe: panels whose result tiles it has sent
  std::chrono::steady_clock::time_point last_input{};
  std::chrono::steady_clock::time_point last_progress = std::chrono::steady_clock::now();
  const std::atomic<bool>* stopping = nullptr;  // the server is shutting down
  int stall_ms = 120000;                        // no tile and no panel for this long: the call fails
  // rcpud --panel-timeline (blas/panel_timeline.h): per panel, when its inputs were all in, when
  // it was computed, when the last stripe had sent its results. Sized by the primary when on.
  bool timeline = false;
  std::chrono::steady_clock::time_point t_begin{};
  std::vector<std::chrono::steady_clock::time_point> t_ready, t_done, t_sent;

  // Panels whose every input tile has arrived, counting across stripes (mu held).
  std::int64_t panels_ready() const;
  // Input tiles [0, N) that have all arrived, for the largest such N (mu held).
  std::size_t inputs_in_order() const;

  // A joined stripe: run_stripe.
  void serve_stripe(transport::Connection& conn, int s) override;
};

// Runs stripe `s` of `call` on `conn`: receives its input tiles (announcing panels as they become
// ready) while a helper thread sends its result tiles as panels are computed. Returns when both
// are over; throws (after stopping the call) when the connection or the framing fails.
void run_stripe(TiledCall& call, transport::Connection& conn, int s);

}  // namespace rcpu::server::blas
