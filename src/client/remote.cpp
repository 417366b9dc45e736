// The remote path of a Level-3 call (see remote.h for the contract). What makes it safe to fall
// back to the local library after any failure:
//   - the application's arrays are only read while sending;
//   - results for an inout C, a triangle, or a C with ldc > rows land in a staging buffer and are
//     copied into the application's C only once every byte has arrived. Only a C with role `out`
//     (beta == 0: its old contents are never read), contiguous and without a triangle, is received
//     in place; if that breaks midway the local rerun overwrites all of it anyway.
// Nothing here throws across the API: every failure becomes a RemoteStatus and a short cause.
#include "client/remote.h"

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <random>
#include <system_error>
#include <thread>
#include <vector>

#include "client/remote_pool.h"
#include "protocol/level3_request.h"
#include "protocol/tiling.h"
#include "protocol/wire.h"
#include "rcpu_opcodes.h"
#include "transport/emulated_link.h"

namespace rcpu::client {
namespace {

using namespace rcpu::protocol;
using Clock = std::chrono::steady_clock;

// Copies the packed result into the application's C (leading dimension ld); for a triangular
// output only the triangle `tri` of the square block, never a byte outside the rows x cols block.
void copy_columns(const std::uint8_t* packed, std::uint8_t* c, const OperandShape& s, std::size_t elem, std::int64_t j0,
                  std::int64_t j1) {
  const std::size_t col_bytes = std::size_t(s.rows) * elem;
  for (std::int64_t j = j0; j < j1; ++j) {
    const std::uint8_t* src = packed + std::size_t(j) * col_bytes;
    std::uint8_t* dst = c + std::size_t(j) * std::size_t(s.ld) * elem;
    std::int64_t first = 0, last = s.rows;  // rows [first, last) of this column
    if (s.tri == 'U') last = std::min<std::int64_t>(j + 1, s.rows);
    if (s.tri == 'L') first = std::min<std::int64_t>(j, s.rows);
    if (last > first) std::memcpy(dst + first * elem, src + first * elem, std::size_t(last - first) * elem);
  }
}

// A large result is copied by several threads (one memcpy stream moves ~3 GB/s, about what the
// link does, so a single-threaded copy of C would add a tail as long as C's transfer).
void copy_out(const std::uint8_t* packed, std::uint8_t* c, const OperandShape& s, std::size_t elem) {
  constexpr std::uint64_t kPerThread = 64ull << 20;
  const std::uint64_t bytes = std::uint64_t(s.rows) * std::uint64_t(s.cols) * elem;
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  const std::int64_t threads =
      std::min<std::int64_t>({std::int64_t(std::min(hw, 8u)), std::int64_t(bytes / kPerThread), s.cols});
  if (threads <= 1) return copy_columns(packed, c, s, elem, 0, s.cols);
  std::vector<std::thread> pool;
  const std::int64_t per = (s.cols + threads - 1) / threads;
  try {
    for (std::int64_t t = 1; t < threads; ++t) {
      const std::int64_t j0 = t * per, j1 = std::min(s.cols, j0 + per);
      if (j0 < j1) pool.emplace_back(copy_columns, packed, c, std::cref(s), elem, j0, j1);
    }
  } catch (const std::system_error&) {
    // No thread: this one copies what is left (below), the others still run.
    for (std::int64_t t = std::int64_t(pool.size()) + 1; t < threads; ++t)
      copy_columns(packed, c, s, elem, t * per, std::min(s.cols, t * per + per));
  }
  copy_columns(packed, c, s, elem, 0, std::min(s.cols, per));
  for (auto& t : pool) t.join();
}

// ---- tiled (pipelined) calls ----

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

int streams_wanted() { return streams_per_call(); }

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

// Runs a tiled call on `lease` (see protocol/tiling.h for the order). A helper thread sends the
// input tiles straight from the application's arrays while this thread receives result panels;
// results land in the application's C directly when C is not read (beta == 0: a broken call is
// rerun locally and overwrites all of C anyway), else in `staging` (packed), copied into C only
// once every panel has arrived, so a failure leaves C exactly as it was.
RemoteResult run_tiled(const Level3Args& args, const Level3Shapes& shapes, const Request& req, std::uint32_t opcode,
                       Lease& lease, const void* a, const void* b, void* c, std::int64_t panel_cols,
                       const TilePlan& plan, std::uint64_t tile) {
  const std::size_t elem = element_size(args.dtype);
  const OperandShape& cs = shapes.c;
  const OperandDesc& out = *output_operand(req.operands);
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
    if (!staging) {
      lease.pool->release(std::move(lease));
      return remote_failure(RemoteStatus::failed, "out of memory for the result staging buffer");
    }
  }
  void* dst = direct ? c : staging.get();
  const std::uint64_t dst_ld = direct ? std::uint64_t(cs.ld) : std::uint64_t(cs.rows);

  // Stripes: this connection plus up to RCPU_STREAMS - 1 more, taken from the pool only if free
  // right now (never waiting: threads that each hold one and wait for more could deadlock).
  std::vector<Lease> leases;
  leases.push_back(std::move(lease));
  const std::size_t want = std::min<std::size_t>({std::size_t(streams_wanted()), plan.inputs.size(), kMaxStripes});
  while (leases.size() < want) {
    std::string ignored;
    std::optional<Lease> extra = leases[0].pool->acquire(ignored, /*wait=*/false);
    if (!extra) break;
    leases.push_back(std::move(*extra));
  }
  const std::size_t k = leases.size();
  std::vector<Connection*> conns;
  for (Lease& l : leases) conns.push_back(&l.conn->conn());

  RemoteResult r;
  r.timing.tiled = true;
  r.timing.panel_cols = panel_cols;
  r.timing.streams = int(k);
  const std::uint64_t id = leases[0].conn->next_request_id();
  TiledRequest treq{req, std::uint64_t(panel_cols), tile, std::uint32_t(k), k > 1 ? call_token() : 0};

  // Shared by the threads of the call. The first failure wins; it shuts every connection down,
  // which wakes every other thread. A server ERROR on a single connection is not a failure of
  // the connection: the server drained our tiles, so that connection stays usable.
  std::mutex mu;
  std::string cause;
  std::atomic<bool> broken{false};
  auto fail = [&](const std::string& why) {
    std::lock_guard lock(mu);
    if (cause.empty()) cause = why;
    broken = true;
    for (Connection* x : conns) x->shutdown();
  };

  const auto t0 = Clock::now();
  std::vector<Clock::time_point> t_sent(k);
  std::vector<std::uint64_t> sent(k, 0), received(k, 0);
  std::vector<std::thread> threads;
  auto sender = [&](std::size_t s) {
    std::vector<std::uint8_t> scratch;
    const void* bases[3] = {a, b, c};
    const std::uint64_t lds[3] = {std::uint64_t(shapes.a.ld), std::uint64_t(shapes.b.ld), std::uint64_t(shapes.c.ld)};
    try {
      if (s > 0) sent[s] += send_message(*conns[s], Kind::join, id, opcode, Join{treq.token, std::uint32_t(s)});
      for (std::size_t i = s; i < plan.inputs.size(); i += k)
        sent[s] += send_tile(*conns[s], id, opcode, plan.inputs[i], bases[plan.inputs[i].operand],
                             lds[plan.inputs[i].operand], elem, scratch);
    } catch (const std::exception& e) {
      fail(std::string("connection lost: ") + e.what());
    }
    t_sent[s] = Clock::now();
  };
  // Result tiles of stripe s; returns false when an ERROR frame came instead (its text in `err`).
  auto receive = [&](std::size_t s, std::vector<std::uint8_t>& scratch, std::string& err, bool& closing) {
    std::vector<std::uint8_t> bounce;
    for (std::size_t i = s; i < plan.outputs.size(); i += k) {
      const FrameHeader h = recv_header(*conns[s]);
      received[s] += kHeaderSize + h.payload_length;
      if (h.kind == Kind::error) {
        const ErrorReply e = recv_body<ErrorReply>(*conns[s], h);
        err = std::string("server error: ") + error_code_text(e.code);
        closing = (h.flags & kFlagClosing) != 0;
        return false;
      }
      const TileDesc& t = plan.outputs[i];
      expect_tile(*conns[s], h, id, t, elem);
      if (!commit) {
        recv_tile_data(*conns[s], t, dst, dst_ld, elem, scratch);
        continue;
      }
      receive_committed(*conns[s], t, static_cast<std::uint8_t*>(c) + std::size_t(t.col0) * std::size_t(cs.ld) * elem,
                        std::size_t(cs.ld) * elem, elem, bounce, committed[i]);
    }
    return true;
  };
  auto secondary_receiver = [&](std::size_t s) {
    std::vector<std::uint8_t> scratch;
    std::string err;
    bool closing = false;
    try {
      if (!receive(s, scratch, err, closing)) fail(err);
    } catch (const std::exception& e) {
      fail(std::string("connection lost: ") + e.what());
    }
  };

  try {
    r.timing.bytes_sent += send_message(*conns[0], Kind::request, id, opcode, treq, kFlagTiled);
    for (std::size_t s = 0; s < k; ++s) threads.emplace_back(sender, s);
    for (std::size_t s = 1; s < k; ++s) threads.emplace_back(secondary_receiver, s);
  } catch (const std::exception& e) {
    fail(std::string("cannot start the call: ") + e.what());
  }

  Response resp;
  bool server_error = false, closing = false;
  std::string server_cause;
  if (!broken) {
    try {
      std::vector<std::uint8_t> scratch;
      if (receive(0, scratch, server_cause, closing)) {
        const FrameHeader h = recv_header(*conns[0]);
        received[0] += kHeaderSize + h.payload_length;
        if (h.kind == Kind::error) {
          const ErrorReply e = recv_body<ErrorReply>(*conns[0], h);
          server_cause = std::string("server error: ") + error_code_text(e.code);
          closing = (h.flags & kFlagClosing) != 0;
          server_error = true;
        } else {
          if (h.kind != Kind::response || h.request_id != id)
            throw ProtocolError(ErrorCode::bad_frame, std::string("expected RESPONSE, got ") + kind_name(h.kind));
          resp = recv_body<Response>(*conns[0], h);
          if (!(resp.output == out)) throw ProtocolError(ErrorCode::bad_frame, "response describes another operand");
        }
      } else {
        server_error = true;
      }
    } catch (const std::exception& e) {
      fail(std::string("connection lost: ") + e.what());
    }
  }
  // With one connection, a non-closing ERROR leaves it usable once our sender is done (the server
  // drains every tile first). With several, the other stripes' state is unknown: all are closed.
  if (server_error && (k > 1 || closing)) fail(server_cause);
  for (std::thread& t : threads) t.join();
  if (server_error && cause.empty()) cause = server_cause;
  // The primary goes back last, so the next call (the pool hands out the most recent first) runs
  // on the same connection again.
  for (std::size_t s = leases.size(); s-- > 0;) {
    if (broken)
      leases[s].pool->discard(std::move(leases[s]));
    else
      leases[s].pool->release(std::move(leases[s]));
  }
  if (!cause.empty()) {
    RemoteResult failed = remote_failure(RemoteStatus::failed, cause);
    if (commit && std::any_of(committed.begin(), committed.end(), [](std::uint64_t n) { return n > 0; })) {
      failed.partial = true;
      // Output tiles cover the columns in order; merge the uncommitted ones into ranges.
      for (std::size_t i = 0; i < plan.outputs.size(); ++i) {
        if (committed[i] == plan.outputs[i].cols) continue;
        const std::int64_t c0 = std::int64_t(plan.outputs[i].col0 + committed[i]),
                           n = std::int64_t(plan.outputs[i].cols - committed[i]);
        auto& left = failed.columns_left;
        if (!left.empty() && left.back().first + left.back().second == c0)
          left.back().second += n;
        else
          left.emplace_back(c0, n);
      }
    }
    return failed;
  }

  const auto t_end = Clock::now();
  const Clock::time_point last_sent = *std::max_element(t_sent.begin(), t_sent.end());
  for (std::size_t s = 0; s < k; ++s) {
    r.timing.bytes_sent += sent[s];
    r.timing.bytes_received += received[s];
  }
  r.timing.to_server_s = seconds(last_sent - t0);
  r.timing.on_server_s = double(resp.server_ns) * 1e-9;
  r.timing.from_server_s = std::max(0.0, seconds(t_end - last_sent) - r.timing.on_server_s);
  r.timing.backend = resp.backend;
  if (!direct && !commit) copy_out(staging.get(), static_cast<std::uint8_t*>(c), cs, elem);
  learn(g_link_bytes_per_s, double(r.timing.bytes_sent) / std::max(1e-9, r.timing.to_server_s));
  if (resp.compute_ns > 0) learn(g_server_flops_per_s, level3_flops(args) / (double(resp.compute_ns) * 1e-9));
  r.status = RemoteStatus::ok;
  return r;
}

RemoteResult run(const Level3Args& args, const void* a, const void* b, void* c) {
  const auto opcode = level3_opcode(args.family, args.dtype);
  if (!opcode)
    return remote_failure(RemoteStatus::failed, routine_name(args.family, args.dtype) + " cannot run remotely");
  const Level3Shapes shapes = level3_shapes(args);
  const std::size_t elem = element_size(args.dtype);

  // On the wire every operand is packed: its leading dimension is its row count.
  Request req;
  req.args = args;
  req.args.lda = std::max<std::int64_t>(1, shapes.a.rows);
  req.args.ldb = std::max<std::int64_t>(1, shapes.b.rows);
  req.args.ldc = std::max<std::int64_t>(1, shapes.c.rows);
  if (args.family == L3Family::trmm || args.family == L3Family::trsm) req.args.ldb = req.args.ldc;
  req.operands = level3_operands(args);
  const OperandDesc* out = output_operand(req.operands);
  if (!out) return remote_failure(RemoteStatus::failed, "call has no output");

  std::string cause;
  std::optional<Lease> lease = pool().acquire(cause);
  if (!lease) return remote_failure(RemoteStatus::unavailable, cause);
  RemoteConnection& rc = *lease->conn;

  const std::uint64_t total = total_bytes(req.operands);
  if (total > rc.info().max_request_bytes) {
    lease->pool->release(std::move(*lease));
    return remote_failure(RemoteStatus::failed, "request over the server's size limit");
  }

  if (pipeline_enabled() && (rc.info().capabilities & kCapTiles) && tiling_supported(args)) {
    const std::uint64_t bytes = input_bytes(req.operands) + out->bytes();
    const std::int64_t panel_cols = choose_panel_cols(args, bytes);
    // One panel gains nothing over stop-and-wait unless a tile size was forced.
    TilePlan plan;
    if (panel_cols < args.n || forced_panel_cols() > 0)
      if (const std::uint64_t tile = tiled_plan(req.args, panel_cols, plan))
        return run_tiled(args, shapes, req, *opcode, *lease, a, b, c, panel_cols, plan, tile);
  }

  const OperandShape& cs = shapes.c;
  const bool in_place = cs.role == Role::out && cs.tri == 0 && cs.ld == cs.rows;
  std::unique_ptr<std::uint8_t[]> staging;
  if (!in_place) {
    staging.reset(new (std::nothrow) std::uint8_t[std::max<std::uint64_t>(out->bytes(), 1)]);
    if (!staging) {
      lease->pool->release(std::move(*lease));
      return remote_failure(RemoteStatus::failed, "out of memory for the result staging buffer");
    }
  }

  RemoteResult r;
  Connection& conn = rc.conn();
  const std::uint64_t id = rc.next_request_id();
  try {
    const auto t0 = Clock::now();
    r.timing.bytes_sent += send_message(conn, Kind::request, id, *opcode, req);
    const void* bases[3] = {a, b, c};
    const OperandShape* ops[3] = {&shapes.a, &shapes.b, &shapes.c};
    for (const OperandDesc& d : req.operands) {
      if (d.role != Role::in && d.role != Role::inout) continue;
      const OperandShape& s = *ops[d.index];
      r.timing.bytes_sent +=
          send_matrix(conn, id, *opcode, d.index, bases[d.index], d.rows, d.cols, std::uint64_t(s.ld), elem);
    }
    const auto t1 = Clock::now();
    r.timing.to_server_s = seconds(t1 - t0);

    FrameHeader h;
    if (auto refused = read_reply_header(*lease, id, h, r.timing.bytes_received)) {
      r.status = RemoteStatus::failed;
      r.cause = *refused;
      return r;
    }
    const Response resp = recv_body<Response>(conn, h);
    if (!(resp.output == *out)) throw ProtocolError(ErrorCode::bad_frame, "response describes another operand");
    r.timing.bytes_received += recv_matrix(conn, id, out->index, in_place ? c : staging.get(), out->bytes());
    // The wait after sending is the server's work plus the results' trip back: report them apart.
    r.timing.on_server_s = double(resp.server_ns) * 1e-9;
    r.timing.from_server_s = std::max(0.0, seconds(Clock::now() - t1) - r.timing.on_server_s);
    r.timing.backend = resp.backend;
  } catch (const std::exception& e) {
    // Transport or framing failure: this connection is finished, the application's arrays are not
    // touched (see the top of this file), and the caller runs the call locally.
    lease->pool->discard(std::move(*lease));
    r.status = RemoteStatus::failed;
    r.cause = std::string("connection lost: ") + e.what();
    return r;
  }
  lease->pool->release(std::move(*lease));
  if (!in_place) copy_out(staging.get(), static_cast<std::uint8_t*>(c), cs, elem);
  r.status = RemoteStatus::ok;
  return r;
}

}  // namespace

// A random 64-bit token naming a striped call to the server (the other connections JOIN it).
// The process id and the clock are mixed in at every call: a child after fork() starts with a copy
// of its parent's generator and would otherwise repeat its parent's tokens.
std::uint64_t call_token() {
  static std::atomic<std::uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::uint64_t now = std::uint64_t(Clock::now().time_since_epoch().count());
  return rng() ^ (std::uint64_t(::getpid()) * 0xff51afd7ed558ccdull) ^ (now * 0xc4ceb9fe1a85ec53ull) ^
         (counter.fetch_add(1) * 0x9e3779b97f4a7c15ull);
}

void describe_remote(const RemoteTiming& t, CallRecord& r) {
  r.remote = true;
  r.bytes_to_server = t.bytes_sent;
  r.bytes_from_server = t.bytes_received;
  r.t_to_server_s = t.to_server_s;
  r.t_on_server_s = t.on_server_s;
  r.t_from_server_s = t.from_server_s;
  r.backend = t.backend;
  r.streams = t.streams;
  r.emulated_link_gbps = transport::emulated_link_gbps();
}

bool remote_configured() {
  const char* env = std::getenv("RCPU_SERVER");
  return env && *env;
}

RemoteResult run_level3_remote(const Level3Args& args, const void* a, const void* b, void* c) {
  try {
    return run(args, a, b, c);
  } catch (const std::bad_alloc&) {
    return remote_failure(RemoteStatus::failed, "out of memory");
  } catch (const std::exception& e) {
    return remote_failure(RemoteStatus::failed, e.what());
  } catch (...) {
    return remote_failure(RemoteStatus::failed, "unknown error");
  }
}

RemoteResult remote_probe(RemoteServerInfo* info) {
  try {
    std::string cause;
    std::optional<Lease> lease = pool().acquire(cause);
    if (!lease) return remote_failure(RemoteStatus::unavailable, cause);
    if (info) *info = lease->conn->info();
    lease->pool->release(std::move(*lease));
    return remote_failure(RemoteStatus::ok, "");
  } catch (const std::exception& e) {
    return remote_failure(RemoteStatus::failed, e.what());
  } catch (...) {
    return remote_failure(RemoteStatus::failed, "unknown error");
  }
}

void remote_reset() {
  try {
    reset_pool();
  } catch (...) {
  }
}

}  // namespace rcpu::client
