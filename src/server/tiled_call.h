// A tiled (pipelined) call as the server runs it, possibly striped over several connections of
// one client (protocol/tiling.h, docs/protocol.md): tile i of the plan, input or output, travels on
// stripe i mod stripes. Each stripe's connection is served by its own session thread, which
// receives that stripe's input tiles, plus one sender thread per stripe for its result tiles; one
// worker thread computes the panels. Everything they share lives here, under one mutex.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "protocol/tiling.h"
#include "server/stripe_registry.h"
#include "transport/transport.h"

namespace rcpu::server {

struct TiledCall {
  // Fixed before any stripe starts.
  protocol::TilePlan plan;
  std::uint8_t* buf[3] = {nullptr, nullptr, nullptr};
  std::uint64_t ld[3] = {0, 0, 0};
  std::size_t elem = 0;
  std::uint64_t request_id = 0;
  std::uint32_t opcode = 0;
  int stripes = 1;
  // Non-null: tiles travel through the backend's slots, not buf[] (backend::TileStaging).
  backend::TileStaging* staging = nullptr;

  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::size_t> got;               // input tiles received per stripe
  std::vector<transport::Connection*> conns;  // null: stripe not attached (or finished)
  std::vector<bool> attached;
  int finished = 0;                  // stripes whose receiving and sending are over
  std::int64_t ready = 0, done = 0;  // panels whose inputs are in / that are computed
  std::size_t arrived = 0;           // input tiles [0, arrived) are all in (while ready == 0)
  bool abort = false;                // a stripe's connection failed: everybody stops
  std::string failure;               // the backend failed: inputs are drained, then ERROR
  std::uint64_t wire_in = 0, wire_out = 0;
  std::vector<bool> sending;       // a stripe's sender is writing result tiles
  std::vector<std::int64_t> sent;  // per stripe: panels whose result tiles it has sent
  std::chrono::steady_clock::time_point last_input{};
  std::chrono::steady_clock::time_point last_progress = std::chrono::steady_clock::now();
  bool started = false;  // set up by the primary: the other stripes may run
  int sender_done_count = 0;
  const std::atomic<bool>* stopping = nullptr;  // the server is shutting down
  int stall_ms = 120000;                        // no tile and no panel for this long: the call fails
  // rcpud --panel-timeline (server/panel_timeline.h): per panel, when its inputs were all in, when
  // it was computed, when the last stripe had sent its results. Sized by the primary when on.
  bool timeline = false;
  std::chrono::steady_clock::time_point t_begin{};
  std::vector<std::chrono::steady_clock::time_point> t_ready, t_done, t_sent;

  // Panels whose every input tile has arrived, counting across stripes (mu held).
  std::int64_t panels_ready() const;
  // Input tiles [0, N) that have all arrived, for the largest such N (mu held).
  std::size_t inputs_in_order() const;
  // Stops every thread of the call: shuts down every attached connection but `keep` (mu held), so
  // the stripe that saw a protocol error can still answer with an ERROR.
  void fail_all(transport::Connection* keep = nullptr);
};

// Runs stripe `s` of `call` on `conn`: receives its input tiles (announcing panels as they become
// ready) while a helper thread sends its result tiles as panels are computed. Returns when both
// are over; throws (after stopping the call) when the connection or the framing fails.
void run_stripe(TiledCall& call, transport::Connection& conn, int s);

// Striped calls waiting for, or running with, their other connections.
using CallRegistry = StripeRegistry<TiledCall>;

}  // namespace rcpu::server
