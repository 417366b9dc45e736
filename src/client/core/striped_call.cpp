#include "client/core/striped_call.h"

#include <algorithm>

namespace rcpu::client {

StripedCall::StripedCall(Lease primary, std::size_t want) {
  leases_.push_back(std::move(primary));
  while (leases_.size() < want) {
    std::string ignored;
    std::optional<Lease> extra = leases_[0].pool->acquire(ignored, /*wait=*/false);
    if (!extra) break;
    leases_.push_back(std::move(*extra));
  }
  for (Lease& l : leases_) conns_.push_back(&l.conn->conn());
  id_ = leases_[0].conn->next_request_id();
  if (leases_.size() > 1) token_ = call_token();
  sent.assign(leases_.size(), 0);
  received.assign(leases_.size(), 0);
  t_sent.assign(leases_.size(), Clock::time_point{});
}

StripedCall::~StripedCall() {
  join();
  give_back();
}

void StripedCall::fail(const std::string& why) {
  std::lock_guard lock(mu_);
  if (failure_.empty()) failure_ = why;
  broken_ = true;
  for (transport::Connection* c : conns_) c->shutdown();
}

void StripedCall::refused(const ServerRefusal& refusal) {
  if (stripes() > 1 || refusal.closing) return fail(refusal.cause);
  std::lock_guard lock(mu_);
  refusal_ = refusal.cause;
}

std::string StripedCall::cause() const {
  std::lock_guard lock(mu_);
  return failure_.empty() ? refusal_ : failure_;
}

void StripedCall::start(std::function<void()> body) {
  threads_.emplace_back([this, body = std::move(body)] {
    try {
      body();
    } catch (const std::exception& e) {
      fail(std::string("connection lost: ") + e.what());
    }
  });
}

void StripedCall::join() {
  for (std::thread& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void StripedCall::give_back() {
  if (given_back_) return;
  given_back_ = true;
  for (std::size_t s = leases_.size(); s-- > 0;) {
    if (broken_)
      leases_[s].pool->discard(std::move(leases_[s]));
    else
      leases_[s].pool->release(std::move(leases_[s]));
  }
}

void StripedCall::fill_timing(RemoteTiming& t, Clock::time_point t0, Clock::time_point end,
                              std::uint64_t server_ns) const {
  for (std::size_t s = 0; s < stripes(); ++s) {
    t.bytes_sent += sent[s];
    t.bytes_received += received[s];
  }
  const Clock::time_point last_sent = *std::max_element(t_sent.begin(), t_sent.end());
  t.to_server_s = seconds(last_sent - t0);
  t.on_server_s = double(server_ns) * 1e-9;
  t.from_server_s = std::max(0.0, seconds(end - last_sent) - t.on_server_s);
  t.streams = int(stripes());
}

}  // namespace rcpu::client
