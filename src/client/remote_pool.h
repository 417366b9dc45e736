// The client's pool of connections to the server named by RCPU_SERVER.
//  - Lazy: nothing is read or opened before the first call that needs the server.
//  - Several application threads may call at once: each call takes an idle connection or opens a
//    new one, up to RCPU_MAX_CONNECTIONS (default: 8, or twice RCPU_STREAMS if that is more), and
//    waits beyond that.
//  - A failed connect sets a back-off (2 s, doubling to 30 s) during which calls get
//    "unavailable" at once with the remembered cause: a dead server costs nothing per call.
//  - Fork-safe: in a child, every connection of the parent is closed without a byte sent (the
//    parent's sessions stay intact) and the pool starts afresh on demand.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "client/remote_connection.h"
#include "protocol/frame.h"

namespace rcpu::client {

class Pool;

// A connection taken from the pool; give it back with Pool::release or Pool::discard.
struct Lease {
  std::unique_ptr<RemoteConnection> conn;
  Pool* pool = nullptr;
};

class Pool {
 public:
  Pool();
  // A connection, or nothing with `cause` saying why (no server configured, connect failed, back-off).
  // With wait = false (extra stripes of a tiled call): returns nothing at once instead of waiting
  // when RCPU_MAX_CONNECTIONS are all in use, and a failed connect sets no back-off.
  std::optional<Lease> acquire(std::string& cause, bool wait = true);
  // Back to the idle list: the connection is in a clean state between calls.
  void release(Lease lease);
  // Closed: the connection broke, or its framing can no longer be trusted.
  void discard(Lease lease);

  // remote_reset(): closes idle connections; those in use close when returned.
  void retire();
  // After fork(), in the child: close every connection's descriptor without sending anything.
  // Called with mu_ held by the fork-preparing thread (see remote_pool.cpp).
  void abandon_all_in_child();
  std::mutex& mutex() { return mu_; }

 private:
  using Clock = std::chrono::steady_clock;
  void forget(RemoteConnection* c);  // mu_ held

  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<transport::Address> endpoint_;
  std::string config_error_;  // RCPU_SERVER unset or unparsable: every call gets this
  int connect_timeout_ms_ = 3000;
  int io_timeout_ms_ = 0;
  int max_connections_ = 8;
  int open_ = 0;  // idle + in use + being opened
  bool retired_ = false;
  std::vector<std::unique_ptr<RemoteConnection>> idle_;
  std::set<RemoteConnection*> all_;  // every open connection, for the child after fork
  Clock::time_point retry_at_{};
  std::chrono::milliseconds backoff_{0};
  std::string last_cause_;
};

// RCPU_STREAMS: connections one tiled call is striped over (tile i on connection i mod N), each
// with a sending and a receiving thread at both ends. Default: half the client's cores, at most 8.
// Measured on the H100 machine over loopback (docs/benchmarks.md): one TCP stream carries about
// 3.7 GB/s and 8 about 21-27 GB/s, and DGEMM n = 16000 ran 3.4 s on 1 stream against 0.49 s on 8;
// on a 2-core client the extra threads would only compete with the application, so 1.
int streams_per_call();

// Reads the header of the reply to request `id` on a leased connection, adding its size to
// `bytes_received`. An ERROR ends the call: it is read whole, the lease goes back to its pool
// (discarded when the server says it closes the connection) and the cause is returned ("server
// error: ..."). Any frame but this request's RESPONSE throws ProtocolError. Otherwise returns
// nothing, and `h` is the RESPONSE header with its body still to read.
std::optional<std::string> read_reply_header(Lease& lease, std::uint64_t id, protocol::FrameHeader& h,
                                             std::uint64_t& bytes_received);

// The process's pool, created at first use (which also registers the fork handlers).
Pool& pool();
// Replaces the pool with a fresh one (remote_reset).
void reset_pool();

}  // namespace rcpu::client
