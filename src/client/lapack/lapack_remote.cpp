// The remote path of a LAPACK call (see lapack_remote.h). Results are received into staging
// buffers and copied into the application's arrays only once the whole answer has arrived and its
// info is known, so a failure, or an info that asks for a local run, leaves everything untouched.
#include "client/lapack/lapack_remote.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "client/core/packed_copy.h"
#include "client/core/remote_pool.h"
#include "client/core/stop_and_wait.h"
#include "protocol/lapack_request.h"
#include "protocol/level3_request.h"
#include "protocol/wire.h"

namespace rcpu::client {
namespace {

using namespace rcpu::protocol;

// The application's leading dimension of operand j (vectors: their length).
std::uint64_t app_ld(const LapackSite& x, const LapackOperand& o, int j) {
  return x.has_ld[j] ? std::uint64_t(x.ld[j]) : std::uint64_t(std::max<std::int64_t>(1, o.rows));
}

bool is_read(const OperandDesc& d) { return (d.role == Role::in || d.role == Role::inout) && d.bytes() != 0; }
bool is_written(const OperandDesc& d) { return (d.role == Role::out || d.role == Role::inout) && d.bytes() != 0; }

// What no LAPACK could have answered for these arguments, or nothing: a reply that says it is
// treated as a failed call (run locally), never written into the application. The server is not
// trusted with the application's memory: a pivot out of range would send its later dgetrs
// reading and writing outside the matrix.
std::optional<std::string> implausible(const LapackRoutine& rt, const LapackSite& x, const LapackOperand* ops,
                                       const std::vector<std::unique_ptr<std::uint8_t[]>>& staging, std::int64_t info) {
  std::int64_t largest = 1;
  for (int i = 0; i < rt.ndims; ++i) largest = std::max(largest, x.args.dims[i]);
  // LAPACK's positive INFO names a row, column or eigenvalue; the largest encoding (?syevd's
  // i*(N+1)+j) stays below (N+1)^2.
  if (info > (largest + 1) * (largest + 1) || info > std::numeric_limits<abi::blas_int>::max())
    return "server reported an impossible info " + std::to_string(info);
  for (int j = 0; j < rt.nops; ++j) {
    const LapackOperand& o = ops[j];
    if (!o.writes() || o.kind != ElemKind::I || !staging[std::size_t(j)]) continue;
    // The integer outputs of the spec are pivot vectors: 1-based row numbers of operand 0.
    const std::int64_t rows = ops[0].rows;
    for (std::int64_t i = 0; i < o.rows * o.cols; ++i) {
      std::int64_t v = 0;
      if (o.elem == 4) {
        std::int32_t v32;
        std::memcpy(&v32, staging[std::size_t(j)].get() + i * 4, 4);
        v = v32;
      } else {
        std::memcpy(&v, staging[std::size_t(j)].get() + i * 8, 8);
      }
      if (v < 1 || v > rows)
        return "server reported pivot " + std::to_string(v) + " for a matrix of " + std::to_string(rows) + " rows";
    }
  }
  return std::nullopt;
}

RemoteResult run(const LapackRoutine& rt, const LapackSite& x, const LapackOperand* ops) {
  const LapackRequest req = make_lapack_request(rt, x.args);

  std::string cause;
  std::optional<Lease> lease = pool().acquire(cause);
  if (!lease) return remote_failure(RemoteStatus::unavailable, cause);
  const RemoteServerInfo& server = lease->conn->info();
  if (!(server.capabilities & kCapLapack)) return give_up(std::move(*lease), "the server does not run LAPACK calls");
  if (total_bytes(req.operands) > server.max_request_bytes)
    return give_up(std::move(*lease), "request over the server's size limit");
  // Staging for every written operand, allocated before anything is sent.
  std::vector<std::unique_ptr<std::uint8_t[]>> staging(std::size_t(rt.nops));
  for (const OperandDesc& d : req.operands) {
    if (!is_written(d)) continue;
    staging[d.index].reset(new (std::nothrow) std::uint8_t[d.bytes()]);
    if (!staging[d.index]) return give_up(std::move(*lease), "out of memory for the result staging buffer");
  }

  StopAndWaitCall call;
  call.opcode = rt.opcode;
  call.request = encode(req);
  for (const OperandDesc& d : req.operands) {
    if (is_read(d))
      call.sends.push_back({d.index, x.ptr[d.index], d.rows, d.cols, app_ld(x, ops[d.index], d.index), d.elem_size});
    if (is_written(d)) call.receives.push_back({d.index, staging[d.index].get(), d.bytes()});
  }
  std::int64_t info = 0;
  call.read_response = [&](Connection& conn, const FrameHeader& h) {
    const LapackResponse resp = recv_body<LapackResponse>(conn, h);
    info = resp.info;
    return ServerReport{resp.server_ns, resp.backend};
  };
  RemoteResult r = run_stop_and_wait(std::move(*lease), call);
  if (r.status != RemoteStatus::ok) return r;
  if (info < 0) return remote_failure(RemoteStatus::failed, "server reported an argument error");
  if (const std::optional<std::string> bad = implausible(rt, x, ops, staging, info))
    return remote_failure(RemoteStatus::failed, *bad);
  if (info > 0 && rt.local_if_info) return remote_failure(RemoteStatus::rerun_local, "info > 0");
  for (const OperandDesc& d : req.operands) {
    if (!is_written(d)) continue;
    const LapackOperand& o = ops[d.index];
    const PackedOutput shape{o.rows, o.cols, std::int64_t(app_ld(x, o, d.index)), o.elem, o.tri};
    copy_packed_columns(staging[d.index].get(), static_cast<std::uint8_t*>(x.ptr[d.index]), shape, 0, o.cols);
  }
  *x.info = abi::blas_int(info);
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
