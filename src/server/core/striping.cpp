#include "server/core/striping.h"

namespace rcpu::server {

StripedCall::StripedCall(int stripes_, transport::Connection& primary)
    : stripes(stripes_), conns(std::size_t(stripes_), nullptr), attached(std::size_t(stripes_), false) {
  conns[0] = &primary;
  attached[0] = true;
}

void StripedCall::fail_all(transport::Connection* keep) {
  abort = true;
  for (transport::Connection* c : conns)
    if (c && c != keep) c->shutdown();
  cv.notify_all();
}

int StripedCall::joined() const {
  return int(std::count(attached.begin(), attached.end(), true)) - (attached.empty() ? 0 : int(attached[0]));
}

bool StripeRegistry::add(const std::string& kind, const StripeKey& key, std::shared_ptr<StripedCall> call) {
  std::lock_guard lock(mu_);
  Tokens& t = kinds_[kind];
  if (t.live.count(key) || t.retired.count(key)) return false;
  t.live[key] = call;
  cv_.notify_all();
  return true;
}

void StripeRegistry::retire(const std::string& kind, const StripeKey& key) {
  std::lock_guard lock(mu_);
  Tokens& t = kinds_[kind];
  t.live.erase(key);
  if (t.retired.insert(key).second) {
    t.retired_order.push_back(key);
    if (t.retired_order.size() > 4096) {
      t.retired.erase(t.retired_order.front());
      t.retired_order.pop_front();
    }
  }
  cv_.notify_all();
}

std::shared_ptr<StripedCall> StripeRegistry::attach(const std::string& kind, const StripeKey& key, int s,
                                                    transport::Connection* conn, int timeout_ms,
                                                    const std::atomic<bool>& stopping, std::string& why) {
  std::unique_lock lock(mu_);
  Tokens& t = kinds_[kind];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (t.retired.count(key)) {
      why = "the call of this JOIN has ended";
      return nullptr;
    }
    auto it = t.live.find(key);
    if (it != t.live.end()) {
      std::shared_ptr<StripedCall> call = it->second.lock();
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

StripedCallOwner::StripedCallOwner(StripeRegistry& registry, std::string kind, StripeKey key,
                                   std::shared_ptr<StripedCall> call, transport::Connection& primary)
    : registry_(registry), kind_(std::move(kind)), key_(std::move(key)), call_(std::move(call)), primary_(primary) {
  registered_ = registry_.add(kind_, key_, call_);
}

StripedCallOwner::~StripedCallOwner() {
  if (!registered_) return;
  registry_.retire(kind_, key_);
  std::unique_lock lock(call_->mu);
  if (!ended_) call_->fail_all(&primary_);
  call_->cv.wait(lock, [&] { return call_->finished == call_->joined(); });
}

void StripedCallOwner::retire() {
  if (registered_) registry_.retire(kind_, key_);
}

bool serve_joined_stripe(const std::shared_ptr<StripedCall>& call, int s, transport::Connection& conn) {
  struct Detach {
    StripedCall& call;
    int stripe;
    ~Detach() {
      std::lock_guard lock(call.mu);
      call.conns[std::size_t(stripe)] = nullptr;
      ++call.finished;
      call.cv.notify_all();
    }
  } detach{*call, s};
  {
    std::unique_lock lock(call->mu);
    call->cv.wait(lock, [&] { return call->started || call->abort; });
    if (call->abort) return false;
  }
  call->serve_stripe(conn, s);
  return true;
}

}  // namespace rcpu::server
