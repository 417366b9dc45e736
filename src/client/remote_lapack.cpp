// The remote path of a LAPACK call (see remote_lapack.h). Results are received into staging
// buffers and copied into the application's arrays only once the whole answer has arrived and its
// info is known, so a failure, or an info that asks for a local run, leaves everything untouched.
#include "client/remote_lapack.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "client/remote_pool.h"
#include "protocol/lapack_request.h"
#include "protocol/level3_request.h"
#include "protocol/wire.h"

namespace rcpu::client {
namespace {

using namespace rcpu::protocol;
using Clock = std::chrono::steady_clock;

// The application's leading dimension of operand j (vectors: their length).
std::uint64_t app_ld(const LapackSite& x, const LapackOperand& o, int j) {
  return x.has_ld[j] ? std::uint64_t(x.ld[j]) : std::uint64_t(std::max<std::int64_t>(1, o.rows));
}

// Packed result -> the application's array, only the triangle `tri` where the spec gives one.
void write_back(const std::uint8_t* packed, std::uint8_t* dst, const LapackOperand& o, std::uint64_t ld) {
  const std::size_t elem = o.elem, col = std::size_t(o.rows) * elem;
  for (std::int64_t j = 0; j < o.cols; ++j) {
    std::int64_t first = 0, last = o.rows;
    if (o.tri == 'U') last = std::min<std::int64_t>(j + 1, o.rows);
    if (o.tri == 'L') first = std::min<std::int64_t>(j, o.rows);
    if (last > first)
      std::memcpy(dst + (std::size_t(j) * ld + std::size_t(first)) * elem,
                  packed + std::size_t(j) * col + std::size_t(first) * elem, std::size_t(last - first) * elem);
  }
}

RemoteResult run(const LapackRoutine& rt, const LapackSite& x, const LapackOperand* ops) {
  const LapackRequest req = make_lapack_request(rt, x.args);
  const std::uint32_t opcode = rt.opcode;

  std::string cause;
  std::optional<Lease> lease = pool().acquire(cause);
  if (!lease) return remote_failure(RemoteStatus::unavailable, cause);
  RemoteConnection& rc = *lease->conn;
  if (!(rc.info().capabilities & kCapLapack)) {
    lease->pool->release(std::move(*lease));
    return remote_failure(RemoteStatus::failed, "the server does not run LAPACK calls");
  }
  if (total_bytes(req.operands) > rc.info().max_request_bytes) {
    lease->pool->release(std::move(*lease));
    return remote_failure(RemoteStatus::failed, "request over the server's size limit");
  }
  // Staging for every written operand, allocated before anything is sent.
  std::vector<std::unique_ptr<std::uint8_t[]>> staging(std::size_t(rt.nops));
  for (const OperandDesc& d : req.operands) {
    if (!(d.role == Role::out || d.role == Role::inout) || d.bytes() == 0) continue;
    staging[d.index].reset(new (std::nothrow) std::uint8_t[d.bytes()]);
    if (!staging[d.index]) {
      lease->pool->release(std::move(*lease));
      return remote_failure(RemoteStatus::failed, "out of memory for the result staging buffer");
    }
  }

  RemoteResult r;
  Connection& conn = rc.conn();
  const std::uint64_t id = rc.next_request_id();
  LapackResponse resp;
  try {
    const auto t0 = Clock::now();
    r.timing.bytes_sent += send_message(conn, Kind::request, id, opcode, req);
    for (const OperandDesc& d : req.operands) {
      if (!(d.role == Role::in || d.role == Role::inout) || d.bytes() == 0) continue;
      r.timing.bytes_sent += send_matrix(conn, id, opcode, d.index, x.ptr[d.index], d.rows, d.cols,
                                         app_ld(x, ops[d.index], d.index), d.elem_size);
    }
    const auto t1 = Clock::now();
    r.timing.to_server_s = seconds(t1 - t0);

    FrameHeader h;
    if (auto refused = read_reply_header(*lease, id, h, r.timing.bytes_received))
      return remote_failure(RemoteStatus::failed, *refused);
    resp = recv_body<LapackResponse>(conn, h);
    for (const OperandDesc& d : req.operands) {
      if (!(d.role == Role::out || d.role == Role::inout) || d.bytes() == 0) continue;
      r.timing.bytes_received += recv_matrix(conn, id, d.index, staging[d.index].get(), d.bytes());
    }
    r.timing.on_server_s = double(resp.server_ns) * 1e-9;
    r.timing.from_server_s = std::max(0.0, seconds(Clock::now() - t1) - r.timing.on_server_s);
    r.timing.backend = resp.backend;
  } catch (const std::exception& e) {
    lease->pool->discard(std::move(*lease));
    return remote_failure(RemoteStatus::failed, std::string("connection lost: ") + e.what());
  }
  lease->pool->release(std::move(*lease));
  if (resp.info < 0) return remote_failure(RemoteStatus::failed, "server reported an argument error");
  if (resp.info > 0 && rt.local_if_info) return remote_failure(RemoteStatus::rerun_local, "info > 0");
  for (const OperandDesc& d : req.operands) {
    if (!(d.role == Role::out || d.role == Role::inout) || d.bytes() == 0) continue;
    write_back(staging[d.index].get(), static_cast<std::uint8_t*>(x.ptr[d.index]), ops[d.index],
               app_ld(x, ops[d.index], d.index));
  }
  *x.info = abi::blas_int(resp.info);
  r.status = RemoteStatus::ok;
  return r;
}

}  // namespace

RemoteResult run_lapack_remote(const LapackRoutine& r, const LapackSite& x, const LapackOperand* ops) {
  try {
    return run(r, x, ops);
  } catch (const std::bad_alloc&) {
    return remote_failure(RemoteStatus::failed, "out of memory");
  } catch (const std::exception& e) {
    return remote_failure(RemoteStatus::failed, e.what());
  } catch (...) {
    return remote_failure(RemoteStatus::failed, "unknown error");
  }
}

}  // namespace rcpu::client
