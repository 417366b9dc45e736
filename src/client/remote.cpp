// The remote path of a Level-3 call (see remote.h for the contract). What makes it safe to fall
// back to the local library after any failure:
//   - the application's arrays are only read while sending;
//   - results for an inout C, a triangle, or a C with ldc > rows land in a staging buffer and are
//     copied into the application's C only once every byte has arrived. Only a C with role `out`
//     (beta == 0: its old contents are never read), contiguous and without a triangle, is received
//     in place; if that breaks midway the local rerun overwrites all of it anyway.
// Nothing here throws across the API: every failure becomes a RemoteStatus and a short cause.
#include "client/remote.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "client/remote_pool.h"
#include "protocol/level3_request.h"
#include "protocol/wire.h"
#include "rcpu_opcodes.h"

namespace rcpu::client {
namespace {

using namespace rcpu::protocol;
using Clock = std::chrono::steady_clock;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

RemoteResult make(RemoteStatus status, std::string cause) {
  RemoteResult r;
  r.status = status;
  r.cause = std::move(cause);
  return r;
}

// Copies the packed result into the application's C (leading dimension ld); for a triangular
// output only the triangle `tri` of the square block, never a byte outside the rows x cols block.
void copy_out(const std::uint8_t* packed, std::uint8_t* c, const OperandShape& s, std::size_t elem) {
  const std::size_t col_bytes = std::size_t(s.rows) * elem;
  for (std::int64_t j = 0; j < s.cols; ++j) {
    const std::uint8_t* src = packed + std::size_t(j) * col_bytes;
    std::uint8_t* dst = c + std::size_t(j) * std::size_t(s.ld) * elem;
    std::int64_t first = 0, last = s.rows;  // rows [first, last) of this column
    if (s.tri == 'U') last = std::min<std::int64_t>(j + 1, s.rows);
    if (s.tri == 'L') first = std::min<std::int64_t>(j, s.rows);
    if (last > first) std::memcpy(dst + first * elem, src + first * elem, std::size_t(last - first) * elem);
  }
}

RemoteResult run(const Level3Args& args, const void* a, const void* b, void* c) {
  const auto opcode = level3_opcode(args.family, args.dtype);
  if (!opcode) return make(RemoteStatus::failed, routine_name(args.family, args.dtype) + " cannot run remotely");
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
  if (!out) return make(RemoteStatus::failed, "call has no output");

  std::string cause;
  std::optional<Lease> lease = pool().acquire(cause);
  if (!lease) return make(RemoteStatus::unavailable, cause);
  RemoteConnection& rc = *lease->conn;

  const std::uint64_t total = total_bytes(req.operands);
  if (total > rc.info().max_request_bytes) {
    lease->pool->release(std::move(*lease));
    return make(RemoteStatus::failed, "request over the server's size limit");
  }

  const OperandShape& cs = shapes.c;
  const bool in_place = cs.role == Role::out && cs.tri == 0 && cs.ld == cs.rows;
  std::unique_ptr<std::uint8_t[]> staging;
  if (!in_place) {
    staging.reset(new (std::nothrow) std::uint8_t[std::max<std::uint64_t>(out->bytes(), 1)]);
    if (!staging) {
      lease->pool->release(std::move(*lease));
      return make(RemoteStatus::failed, "out of memory for the result staging buffer");
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
      r.timing.bytes_sent += send_matrix(conn, id, *opcode, d.index, bases[d.index], d.rows, d.cols,
                                         std::uint64_t(s.ld), elem);
    }
    const auto t1 = Clock::now();
    r.timing.to_server_s = seconds(t1 - t0);

    const FrameHeader h = recv_header(conn);
    r.timing.bytes_received += kHeaderSize + h.payload_length;
    if (h.kind == Kind::error) {
      const ErrorReply e = recv_body<ErrorReply>(conn, h);
      if (h.flags & kFlagClosing) lease->pool->discard(std::move(*lease));
      else lease->pool->release(std::move(*lease));
      r.status = RemoteStatus::failed;
      r.cause = std::string("server error: ") + error_code_text(e.code);
      return r;
    }
    if (h.kind != Kind::response || h.request_id != id)
      throw ProtocolError(ErrorCode::bad_frame, std::string("expected RESPONSE, got ") + kind_name(h.kind));
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

bool remote_configured() {
  const char* env = std::getenv("RCPU_SERVER");
  return env && *env;
}

RemoteResult run_level3_remote(const Level3Args& args, const void* a, const void* b, void* c) {
  try {
    return run(args, a, b, c);
  } catch (const std::bad_alloc&) {
    return make(RemoteStatus::failed, "out of memory");
  } catch (const std::exception& e) {
    return make(RemoteStatus::failed, e.what());
  } catch (...) {
    return make(RemoteStatus::failed, "unknown error");
  }
}

RemoteResult remote_probe(RemoteServerInfo* info) {
  try {
    std::string cause;
    std::optional<Lease> lease = pool().acquire(cause);
    if (!lease) return make(RemoteStatus::unavailable, cause);
    if (info) *info = lease->conn->info();
    lease->pool->release(std::move(*lease));
    return make(RemoteStatus::ok, "");
  } catch (const std::exception& e) {
    return make(RemoteStatus::failed, e.what());
  } catch (...) {
    return make(RemoteStatus::failed, "unknown error");
  }
}

void remote_reset() {
  try {
    reset_pool();
  } catch (...) {
  }
}

}  // namespace rcpu::client
