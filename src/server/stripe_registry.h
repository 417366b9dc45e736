// Calls striped over several connections of one client, by token: the primary connection's
// session registers its call, the other connections' JOINs attach to it. One template serves the
// tiled Level-3 calls (TiledCall) and the striped FFTs (FftStripedCall), which share only this
// handshake: a call type needs `mu`, `stripes`, `attached`, `conns` and `abort`.
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

#include "transport/transport.h"

namespace rcpu::server {

template <class Call>
class StripeRegistry {
 public:
  // The primary connection's session registers its call before anything else can fail.
  bool add(std::uint64_t token, std::shared_ptr<Call> call) {
    std::lock_guard lock(mu_);
    if (live_.count(token) || retired_.count(token)) return false;
    live_[token] = call;
    cv_.notify_all();
    return true;
  }

  // No more stripes may attach (the call ended, or was rejected).
  void retire(std::uint64_t token) {
    std::lock_guard lock(mu_);
    live_.erase(token);
    if (retired_.insert(token).second) {
      retired_order_.push_back(token);
      if (retired_order_.size() > 4096) {
        retired_.erase(retired_order_.front());
        retired_order_.pop_front();
      }
    }
    cv_.notify_all();
  }

  // A JOIN: waits up to timeout_ms for the call to be registered; attaches `conn` as stripe `s`.
  // Returns null with `why` set when the token is unknown, retired, the stripe is invalid or taken.
  std::shared_ptr<Call> attach(std::uint64_t token, int s, transport::Connection* conn, int timeout_ms,
                               const std::atomic<bool>& stopping, std::string& why) {
    std::unique_lock lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      if (retired_.count(token)) {
        why = "the call of this JOIN has ended";
        return nullptr;
      }
      auto it = live_.find(token);
      if (it != live_.end()) {
        std::shared_ptr<Call> call = it->second.lock();
        if (!call) {
          why = "the call of this JOIN has ended";
          return nullptr;
        }
        std::lock_guard call_lock(call->mu);
        if (s < 1 || s >= call->stripes || call->attached[std::size_t(s)]) {
          why = "bad or repeated stripe " + std::to_string(s);
          return nullptr;
        }
        if (call->abort) {
          why = "the call of this JOIN has failed";
          return nullptr;
        }
        call->attached[std::size_t(s)] = true;
        call->conns[std::size_t(s)] = conn;
        return call;
      }
      if (std::chrono::steady_clock::now() >= deadline || stopping.load()) {
        why = "no call with this token";
        return nullptr;
      }
      cv_.wait_for(lock, std::chrono::milliseconds(100));
    }
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::uint64_t, std::weak_ptr<Call>> live_;
  std::set<std::uint64_t> retired_;
  std::deque<std::uint64_t> retired_order_;  // bounded: the oldest are forgotten
};

}  // namespace rcpu::server
