// The stop-and-wait exchange (see stop_and_wait.h). Nothing here throws: every failure becomes a
// RemoteStatus and a short cause.
#include "client/core/stop_and_wait.h"

#include <algorithm>
#include <chrono>

#include "client/core/reply.h"
#include "protocol/wire.h"

namespace rcpu::client {

using namespace rcpu::protocol;
using Clock = std::chrono::steady_clock;

RemoteResult run_stop_and_wait(Lease lease, const StopAndWaitCall& call) {
  RemoteResult r;
  Connection& conn = lease.conn->conn();
  const std::uint64_t id = lease.conn->next_request_id();
  try {
    const auto t0 = Clock::now();
    FrameHeader request;
    request.kind = Kind::request;
    request.request_id = id;
    request.opcode = call.opcode;
    r.timing.bytes_sent += send_frame(conn, request, call.request);
    for (const SentOperand& s : call.sends)
      r.timing.bytes_sent += send_matrix(conn, id, call.opcode, s.index, s.base, s.rows, s.cols, s.ld, s.elem);
    const auto t1 = Clock::now();
    r.timing.to_server_s = seconds(t1 - t0);

    FrameHeader h;
    std::uint64_t reply_bytes = 0;
    for (const ReceivedOperand& o : call.receives) reply_bytes += o.bytes;
    // Once the reply starts, all of it within a deadline (a server trickling bytes cannot hold the
    // call); the connection goes back to the pool without it.
    if (auto refused = read_reply_header(conn, id, h, r.timing.bytes_received, reply_bytes)) {
      conn.set_read_deadline(0);
      // The server read the whole request before refusing it: the connection is clean unless it
      // says it closes.
      if (refused->closing)
        lease.pool->discard(std::move(lease));
      else
        lease.pool->release(std::move(lease));
      return remote_failure(RemoteStatus::failed, refused->cause);
    }
    const ServerReport report = call.read_response(conn, h);
    for (const ReceivedOperand& o : call.receives)
      r.timing.bytes_received += recv_matrix(conn, id, o.index, o.dst, o.bytes);
    // The wait after sending is the server's work plus the results' trip back: report them apart.
    r.timing.on_server_s = double(report.server_ns) * 1e-9;
    r.timing.from_server_s = std::max(0.0, seconds(Clock::now() - t1) - r.timing.on_server_s);
    r.timing.backend = report.backend;
    conn.set_read_deadline(0);
  } catch (const std::exception& e) {
    // Transport or framing failure: this connection is finished, and the caller runs the call
    // locally.
    lease.pool->discard(std::move(lease));
    return remote_failure(RemoteStatus::failed, std::string("connection lost: ") + e.what());
  }
  lease.pool->release(std::move(lease));
  r.status = RemoteStatus::ok;
  return r;
}

}  // namespace rcpu::client
