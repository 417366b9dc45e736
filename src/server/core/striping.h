// Calls striped over several connections of one client: tiled Level-3 calls with stripes and
// striped FFTs (docs/protocol.md). The primary connection's session, the one the REQUEST came on,
// registers its call under the client's token, sets it up and runs it; each other connection of
// the call sends JOIN(token, stripe), and its session serves that stripe until the stripe is over
// (serve_joined_stripe), then goes back to serving requests. What a kind's call moves on its
// stripes is its own (StripedCall::serve_stripe); the call's shared state and its failure, the
// registry, the primary's hold on its call and the joined stripe's are this file's.
#pragma once

#include <algorithm>
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

#include "protocol/messages.h"
#include "transport/transport.h"

namespace rcpu::server {

// What every striped call has; a kind's call type adds its own. Shared by the threads of every
// stripe: everything below `mu` is guarded by it.
struct StripedCall {
  // Stripe 0 is the primary's connection, attached from the start.
  StripedCall(int stripes, transport::Connection& primary);
  virtual ~StripedCall() = default;
  StripedCall(const StripedCall&) = delete;
  StripedCall& operator=(const StripedCall&) = delete;

  const int stripes;

  std::mutex mu;
  std::condition_variable cv;
  std::vector<transport::Connection*> conns;  // null: stripe not attached (or finished)
  std::vector<bool> attached;
  bool started = false;  // set up by the primary: the joined stripes may run
  bool abort = false;    // the call failed: every thread of it stops
  int finished = 0;      // joined stripes that are over, either way

  // Stops every thread of the call: shuts down every attached connection but `keep` (mu held), so
  // the one that must still answer with an ERROR can.
  void fail_all(transport::Connection* keep = nullptr);
  // Attached stripes other than the primary's (mu held).
  int joined() const;
  // The primary's wait for its stripes (lock holds mu): until done(), or until the I/O time-out
  // `timeout_ms` (0: ten minutes) passes or `stopping` (may be null) is set. Returns done().
  template <class Done>
  bool wait_for_stripes(std::unique_lock<std::mutex>& lock, int timeout_ms, const std::atomic<bool>* stopping,
                        Done done);

  // Serves joined stripe `s` (1 .. stripes-1) on `conn` once the call has started. Returns when
  // the stripe is over and the connection may serve requests again; throws to end the session
  // (the call failed, or the connection or its framing did).
  virtual void serve_stripe(transport::Connection& conn, int s) = 0;
};

template <class Done>
bool StripedCall::wait_for_stripes(std::unique_lock<std::mutex>& lock, int timeout_ms,
                                   const std::atomic<bool>* stopping, Done done) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms > 0 ? timeout_ms : 600000);
  while (!done()) {
    const auto now = Clock::now();
    if (now >= deadline || (stopping && stopping->load())) return false;
    // cv waits do not notice a server that is stopping: look every 200 ms.
    cv.wait_for(lock, std::min<Clock::duration>(deadline - now, std::chrono::milliseconds(200)));
  }
  return true;
}

// A striped call's name in the registry: the client that registered it (Session::client_identity:
// who authenticated, and which process) and its token. A JOIN finds a call only under its own
// client's identity, so a connection of anyone else that learned the token finds nothing.
struct StripeKey {
  std::string client;
  protocol::CallToken token;
  auto operator<=>(const StripeKey&) const = default;
};

// Striped calls waiting for, or running with, their other connections, by kind (CallKind::name)
// and key: each kind's tokens are its own.
class StripeRegistry {
 public:
  // The primary registers its call before anything else can fail. False: the token is in use (or
  // was, recently).
  bool add(const std::string& kind, const StripeKey& key, std::shared_ptr<StripedCall> call);
  // No more stripes may attach (the call ended, or was refused).
  void retire(const std::string& kind, const StripeKey& key);
  // A JOIN: waits up to timeout_ms for the call to be registered; attaches `conn` as stripe `s`.
  // Returns null with `why` set when the token is unknown, retired, the stripe is invalid or taken.
  std::shared_ptr<StripedCall> attach(const std::string& kind, const StripeKey& key, int s, transport::Connection* conn,
                                      int timeout_ms, const std::atomic<bool>& stopping, std::string& why);

 private:
  struct Tokens {
    std::map<StripeKey, std::weak_ptr<StripedCall>> live;
    std::set<StripeKey> retired;
    std::deque<StripeKey> retired_order;  // bounded: the oldest are forgotten
  };
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Tokens> kinds_;
};

// The primary's hold on its striped call. Registers it, so a JOIN never waits for a call that will
// not come; on every way out retires the token (no more JOINs), fails the call unless it ran to its
// end, and waits until every joined stripe is over: they use the primary's buffers.
class StripedCallOwner {
 public:
  StripedCallOwner(StripeRegistry& registry, std::string kind, StripeKey key, std::shared_ptr<StripedCall> call,
                   transport::Connection& primary);
  ~StripedCallOwner();
  StripedCallOwner(const StripedCallOwner&) = delete;
  StripedCallOwner& operator=(const StripedCallOwner&) = delete;

  // False: the token was in use; nothing was registered, and nothing is done on the way out.
  bool registered() const { return registered_; }
  // No stripe may attach from now on (the call is refused, or every stripe has come).
  void retire();
  // The call ran to its end and its stripes with it: nothing is left to fail.
  void ran_to_end() { ended_ = true; }

 private:
  StripeRegistry& registry_;
  const std::string kind_;
  const StripeKey key_;
  std::shared_ptr<StripedCall> call_;
  transport::Connection& primary_;
  bool registered_ = false;
  bool ended_ = false;
};

// Serves stripe `s` of `call` (attached by the registry) on `conn`: waits for the primary to start
// the call, runs the stripe, and detaches it however it ends. False when the call failed before it
// started (the session then ends); exceptions of serve_stripe pass through.
bool serve_joined_stripe(const std::shared_ptr<StripedCall>& call, int s, transport::Connection& conn);

}  // namespace rcpu::server
