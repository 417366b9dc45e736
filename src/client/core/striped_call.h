// The client's one striping path: a call whose bytes travel over several pooled connections at
// once, its "stripes". One loopback TCP stream carries ~3.6 GB/s where eight carry 19-27 GB/s, so
// a large call would otherwise be bound by one. Stripe 0 is the
// connection the call began on; the others are connections of the same pool that are free right
// now, never waited for (threads that each hold one and wait for more could deadlock). The server
// learns of the others by the JOIN each sends with token().
//
// Tiled Level-3 calls (tile i on stripe i mod k) and striped FFTs (stripe s carries the s-th
// share of each side's bytes) run on it: the kind says what each stripe sends and receives, this
// holds the connections, the threads, the first failure, and the timing every stripe adds to.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/core/remote.h"
#include "client/core/remote_pool.h"
#include "client/core/reply.h"
#include "transport/transport.h"

namespace rcpu::client {

class StripedCall {
 public:
  using Clock = std::chrono::steady_clock;

  // `primary` plus up to `want` - 1 more connections of its pool, if free right now.
  StripedCall(Lease primary, std::size_t want);
  // Joins the threads still running and gives back connections not given back yet.
  ~StripedCall();
  StripedCall(const StripedCall&) = delete;
  StripedCall& operator=(const StripedCall&) = delete;

  std::size_t stripes() const { return conns_.size(); }
  transport::Connection& conn(std::size_t s) { return *conns_[s]; }
  std::uint64_t request_id() const { return id_; }
  // The token the other stripes' JOINs name the call by; empty with one stripe (nothing joins).
  protocol::CallToken token() const { return token_; }

  // Per stripe: bytes sent and received (frame headers included), and when its last input byte
  // was out. Each is written by the one thread that works on that stripe.
  std::vector<std::uint64_t> sent, received;
  std::vector<Clock::time_point> t_sent;

  // The first failure wins: records its cause and shuts every connection of the call down, which
  // wakes every thread blocked on one of them. Thread-safe.
  void fail(const std::string& why);
  bool broken() const { return broken_; }
  // The server refused the call (an ERROR frame). With one connection the server keeps open, that
  // connection stays usable (the server drains the call's input first); with several, the other
  // stripes' state is unknown and the call fails: all of them are closed.
  void refused(const ServerRefusal& refusal);
  // Why the call did not complete: the first failure, else the server's refusal; empty if it did.
  std::string cause() const;

  // Runs `body` on a thread of its own; an exception from it fails the call ("connection lost:
  // ..."). Throws std::system_error when no thread can be started.
  void start(std::function<void()> body);
  // Waits for every thread started.
  void join();
  // Every connection back to its pool, after join(): discarded when the call broke, else released
  // with the primary last, so that the next call (the pool hands out the most recent first) runs
  // on the same connection again.
  void give_back();

  // The timing of a completed call that began at `t0` and ended at `end`: the bytes of every
  // stripe; to the server until the last stripe's input was out (the server starts once all of it
  // is in); on the server as it reported; from the server the rest. Also the number of streams.
  void fill_timing(RemoteTiming& t, Clock::time_point t0, Clock::time_point end, std::uint64_t server_ns) const;

 private:
  std::vector<Lease> leases_;
  std::vector<transport::Connection*> conns_;
  std::uint64_t id_ = 0;
  protocol::CallToken token_;
  mutable std::mutex mu_;
  std::string failure_, refusal_;
  std::atomic<bool> broken_{false};
  std::vector<std::thread> threads_;
  bool given_back_ = false;
};

}  // namespace rcpu::client
