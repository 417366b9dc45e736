// The tiled path of a Level-3 call (see level3_tiled.h). What makes it safe to fall back to the
// local library after any failure:
//   - the application's arrays are only read while sending;
//   - results land in the application's C directly only when C is not read (beta == 0: a broken
//     call is rerun locally and overwrites all of C anyway), or column by column, each column kept
//     until it is whole (an inout C whose result tiles are whole columns: only the columns that had
//     not arrived are computed locally after a failure); otherwise in a staging buffer, copied into
//     C only once every panel has arrived.
#include "client/blas/level3_tiled.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "client/core/reply.h"
#include "client/core/striped_call.h"
#include "protocol/level3_request.h"
#include "protocol/tiling.h"
#include "protocol/wire.h"
#include "transport/emulated_link.h"

namespace rcpu::client {
namespace {

using namespace rcpu::protocol;
using Clock = std::chrono::steady_clock;

// RCPU_PIPELINE=0 keeps every call stop-and-wait (for comparison); RCPU_TILE=N forces panels of N
// output columns (tests use tiny ones so tiling really happens); RCPU_TILE_BYTES caps one tile.
long env_long(const char* name, long fallback, long lo, long hi) {
  if (const char* env = std::getenv(name)) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end != env && *end == 0 && v >= lo && v <= hi) return v;
  }
  return fallback;
}
bool pipeline_enabled() {
  static const bool on = env_long("RCPU_PIPELINE", 1, 0, 1) != 0;
  return on;
}
std::int64_t forced_panel_cols() {
  static const std::int64_t v = env_long("RCPU_TILE", 0, 1, 1L << 31);
  return v;
}
std::uint64_t tile_bytes() {
  static const std::uint64_t v =
      std::uint64_t(env_long("RCPU_TILE_BYTES", 4L << 20, long(kMinTileBytes), long(kMaxDataFrame)));
  return v;
}

// What the client has measured so far (process-wide, updated after every tiled call): the rate at
// which the link took its inputs, and the server's compute rate. Start values: the emulated rate
// when RCPU_LINK_GBPS is set, else 3 GB/s (one loopback TCP stream); 1 TFLOP/s.
std::atomic<double> g_link_bytes_per_s{0};
std::atomic<double> g_server_flops_per_s{1e12};

double link_estimate() {
  const double v = g_link_bytes_per_s.load(std::memory_order_relaxed);
  if (v > 0) return v;
  const double emulated = transport::emulated_link_gbps();
  return emulated > 0 ? emulated * 1e9 / 8 : 3e9;
}
void learn(std::atomic<double>& slot, double sample) {
  if (!(sample > 0) || !std::isfinite(sample)) return;
  const double old = slot.load(std::memory_order_relaxed);
  slot.store(old > 0 ? 0.5 * old + 0.5 * sample : sample, std::memory_order_relaxed);
}

// Panel width. A call of T bytes over a link of bandwidth W with F flops on a server of rate R,
// cut into P panels, takes about T/W + P*t0 + (T/W + F/R)/P: the transfer itself, a fixed cost
// t0 per panel (a kernel launch, a few frames, a synchronisation: ~200 us), and the tail (the
// last panel's compute and return, which nothing overlaps). The best P is sqrt((T/W + F/R)/t0).
// Widths are multiples of 64 and at least 128 columns (GPU GEMMs narrower than that run slowly).
std::int64_t choose_panel_cols(const Level3Args& args, std::uint64_t bytes) {
  const std::int64_t n = args.n;
  if (const std::int64_t forced = forced_panel_cols()) {
    const std::int64_t min_cols = (n + std::int64_t(kMaxPanels) - 1) / std::int64_t(kMaxPanels);
    return std::min(n, std::max(forced, min_cols));
  }
  constexpr double kPanelCost = 200e-6;
  const double t_link = double(bytes) / link_estimate();
  const double t_compute = level3_flops(args) / g_server_flops_per_s.load(std::memory_order_relaxed);
  const double panels = std::clamp(std::sqrt((t_link + t_compute) / kPanelCost), 1.0, 256.0);
  std::int64_t cols = std::int64_t(std::ceil(double(n) / panels));
  cols = std::max<std::int64_t>(128, (cols + 63) / 64 * 64);
  return std::min(n, cols);
}

// The plan of a tiled call, with tiles of RCPU_TILE_BYTES or, where that would make more tiles than
// a server accepts (huge operands cut small), larger ones. Returns the tile size, 0 if no plan fits.
std::uint64_t tiled_plan(const Level3Args& packed, std::int64_t panel_cols, TilePlan& plan) {
  for (std::uint64_t tile = tile_bytes(); tile <= kMaxDataFrame; tile *= 2)
    if (!make_tile_plan(packed, std::uint64_t(panel_cols), tile, plan)) return tile;
  return 0;
}

// Receives the payload of result tile `t` (whole columns of an inout C, the first at `col`,
// `stride` bytes apart) into C, counting in `committed` the columns that are final. A column is
// received straight into C, its old values kept in `backup` until it is whole and put back if
// the connection breaks midway: after a failure C holds final columns and untouched ones, never a
// torn one, and no copy of the result is made. Short columns (under 4 KiB) would cost a system
// call each, so such a tile arrives whole in `backup` and is copied in.
void receive_committed(Connection& conn, const TileDesc& t, std::uint8_t* col, std::size_t stride, std::size_t elem,
                       std::vector<std::uint8_t>& backup, std::uint64_t& committed) {
  constexpr std::size_t kMinDirectColumn = 4096;
  const std::size_t col_bytes = std::size_t(t.rows) * elem;
  if (col_bytes < kMinDirectColumn) {
    backup.resize(col_bytes * std::size_t(t.cols));
    conn.recv_exact(backup.data(), backup.size());
    for (std::uint64_t j = 0; j < t.cols; ++j) std::memcpy(col + j * stride, backup.data() + j * col_bytes, col_bytes);
    committed = t.cols;
    return;
  }
  backup.resize(col_bytes);
  for (std::uint64_t j = 0; j < t.cols; ++j, col += stride) {
    std::memcpy(backup.data(), col, col_bytes);
    try {
      conn.recv_exact(col, col_bytes);
    } catch (...) {
      std::memcpy(col, backup.data(), col_bytes);
      throw;
    }
    committed = j + 1;
  }
}

// The output column ranges [first, first + count) of a failed call whose committed columns are
// final in C: output tiles cover the columns in order; the uncommitted ones merge into ranges.
std::vector<std::pair<std::int64_t, std::int64_t>> columns_left(const TilePlan& plan,
                                                                const std::vector<std::uint64_t>& committed) {
  std::vector<std::pair<std::int64_t, std::int64_t>> left;
  for (std::size_t i = 0; i < plan.outputs.size(); ++i) {
    if (committed[i] == plan.outputs[i].cols) continue;
    const std::int64_t c0 = std::int64_t(plan.outputs[i].col0 + committed[i]),
                       n = std::int64_t(plan.outputs[i].cols - committed[i]);
    if (!left.empty() && left.back().first + left.back().second == c0)
      left.back().second += n;
    else
      left.emplace_back(c0, n);
  }
  return left;
}

// Runs a tiled call on `lease` and as many more connections as RCPU_STREAMS asks for and are free:
// tile i on stripe i mod k. On every stripe a thread sends its input tiles straight from the
// application's arrays; stripe 0's results are received by this thread, the others' by one
// thread each.
RemoteResult run_tiled(const Level3Call& call, Lease lease, std::int64_t panel_cols, const TilePlan& plan,
                       std::uint64_t tile) {
  const Level3Args& args = call.args;
  const Level3Shapes& shapes = call.shapes;
  const std::uint32_t opcode = call.opcode;
  void* c = call.c;
  const std::size_t elem = element_size(args.dtype);
  const OperandShape& cs = shapes.c;
  const OperandDesc& out = *output_operand(call.request.operands);
  const bool direct = cs.role == Role::out && cs.tri == 0;
  // An inout C whose result tiles are whole columns: each result column lands straight in C
  // ("committed" once whole); after a failure the committed columns are final and only the others
  // are computed locally. No C-sized staging buffer, no copy at the end.
  const bool commit = !direct && cs.tri == 0 &&
                      std::all_of(plan.outputs.begin(), plan.outputs.end(),
                                  [&](const TileDesc& t) { return t.row0 == 0 && t.rows == std::uint64_t(cs.rows); });
  // Per output tile, how many of its leading columns are final in C.
  std::vector<std::uint64_t> committed(commit ? plan.outputs.size() : 0, 0);
  std::unique_ptr<std::uint8_t[]> staging;
  if (!direct && !commit) {
    staging.reset(new (std::nothrow) std::uint8_t[std::max<std::uint64_t>(out.bytes(), 1)]);
    if (!staging) return give_up(std::move(lease), "out of memory for the result staging buffer");
  }
  void* dst = direct ? c : staging.get();
  const std::uint64_t dst_ld = direct ? std::uint64_t(cs.ld) : std::uint64_t(cs.rows);

  StripedCall striped(std::move(lease),
                      std::min<std::size_t>({std::size_t(streams_per_call()), plan.inputs.size(), kMaxStripes}));
  const std::size_t k = striped.stripes();
  const std::uint64_t id = striped.request_id();
  const TiledRequest treq{call.request, std::uint64_t(panel_cols), tile, std::uint32_t(k), striped.token()};

  const auto t0 = Clock::now();
  auto sender = [&](std::size_t s) {
    std::vector<std::uint8_t> scratch;
    const void* bases[3] = {call.a, call.b, c};
    const std::uint64_t lds[3] = {std::uint64_t(shapes.a.ld), std::uint64_t(shapes.b.ld), std::uint64_t(shapes.c.ld)};
    Connection& conn = striped.conn(s);
    if (s > 0) striped.sent[s] += send_message(conn, Kind::join, id, opcode, Join{treq.token, std::uint32_t(s)});
    for (std::size_t i = s; i < plan.inputs.size(); i += k)
      striped.sent[s] += send_tile(conn, id, opcode, plan.inputs[i], bases[plan.inputs[i].operand],
                                   lds[plan.inputs[i].operand], elem, scratch);
    striped.t_sent[s] = Clock::now();
  };
  // Result tiles of stripe s; returns false when an ERROR frame came instead (`refusal`).
  auto receive = [&](std::size_t s, std::vector<std::uint8_t>& scratch, ServerRefusal& refusal) {
    std::vector<std::uint8_t> bounce;
    Connection& conn = striped.conn(s);
    for (std::size_t i = s; i < plan.outputs.size(); i += k) {
      const FrameHeader h = recv_header(conn);
      striped.received[s] += kHeaderSize + h.payload_length;
      if (h.kind == Kind::error) {
        refusal = read_refusal(conn, h);
        return false;
      }
      const TileDesc& t = plan.outputs[i];
      expect_tile(conn, h, id, t, elem);
      // The wait for a tile is the computation's; once its header is in, its bytes must follow
      // within a deadline, however a server trickles them (reply.h).
      conn.set_read_deadline(reply_deadline_ms(h.payload_length));
      if (!commit) {
        recv_tile_data(conn, t, dst, dst_ld, elem, scratch);
      } else {
        receive_committed(conn, t, static_cast<std::uint8_t*>(c) + std::size_t(t.col0) * std::size_t(cs.ld) * elem,
                          std::size_t(cs.ld) * elem, elem, bounce, committed[i]);
      }
      conn.set_read_deadline(0);
    }
    return true;
  };
  auto secondary_receiver = [&](std::size_t s) {
    std::vector<std::uint8_t> scratch;
    ServerRefusal refusal;
    if (!receive(s, scratch, refusal)) striped.fail(refusal.cause);
  };

  try {
    striped.sent[0] += send_message(striped.conn(0), Kind::request, id, opcode, treq, kFlagTiled);
    for (std::size_t s = 0; s < k; ++s) striped.start([&, s] { sender(s); });
    for (std::size_t s = 1; s < k; ++s) striped.start([&, s] { secondary_receiver(s); });
  } catch (const std::exception& e) {
    striped.fail(std::string("cannot start the call: ") + e.what());
  }

  Response resp;
  if (!striped.broken()) {
    try {
      std::vector<std::uint8_t> scratch;
      ServerRefusal refusal;
      FrameHeader h;
      if (!receive(0, scratch, refusal))
        striped.refused(refusal);
      else if (auto refused = read_reply_header(striped.conn(0), id, h, striped.received[0]))
        striped.refused(*refused);
      else
        resp = read_response(striped.conn(0), h, out);
    } catch (const std::exception& e) {
      striped.fail(std::string("connection lost: ") + e.what());
    }
  }
  striped.join();
  striped.give_back();
  if (const std::string cause = striped.cause(); !cause.empty()) {
    RemoteResult failed = remote_failure(RemoteStatus::failed, cause);
    if (commit && std::any_of(committed.begin(), committed.end(), [](std::uint64_t n) { return n > 0; })) {
      failed.partial = true;
      failed.columns_left = columns_left(plan, committed);
    }
    return failed;
  }

  RemoteResult r;
  r.timing.tiled = true;
  r.timing.panel_cols = panel_cols;
  striped.fill_timing(r.timing, t0, Clock::now(), resp.server_ns);
  r.timing.backend = resp.backend;
  if (!direct && !commit) copy_packed(staging.get(), static_cast<std::uint8_t*>(c), packed_output(cs, elem));
  learn(g_link_bytes_per_s, double(r.timing.bytes_sent) / std::max(1e-9, r.timing.to_server_s));
  if (resp.compute_ns > 0) learn(g_server_flops_per_s, level3_flops(args) / (double(resp.compute_ns) * 1e-9));
  r.status = RemoteStatus::ok;
  return r;
}

}  // namespace

std::optional<RemoteResult> run_tiled_if_worth_it(const Level3Call& call, Lease& lease) {
  const OperandDesc* out = output_operand(call.request.operands);
  if (!pipeline_enabled() || !(lease.conn->info().capabilities & kCapTiles) || !tiling_supported(call.args))
    return std::nullopt;
  const std::uint64_t bytes = input_bytes(call.request.operands) + out->bytes();
  const std::int64_t panel_cols = choose_panel_cols(call.args, bytes);
  // One panel gains nothing over stop-and-wait unless a tile size was forced.
  TilePlan plan;
  if (panel_cols < call.args.n || forced_panel_cols() > 0)
    if (const std::uint64_t tile = tiled_plan(call.request.args, panel_cols, plan))
      return run_tiled(call, std::move(lease), panel_cols, plan, tile);
  return std::nullopt;
}

}  // namespace rcpu::client
