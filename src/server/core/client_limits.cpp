#include "server/core/client_limits.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace rcpu::server {
namespace {

// Accounts kept for clients that hold nothing (their refusal counts, for the shutdown report)
// before such accounts are forgotten: principals are authenticated, so there are few, but an
// --insecure server counts each peer host as a client.
constexpr std::size_t kKeepIdleAccounts = 1024;

}  // namespace

ClientTicket& ClientTicket::operator=(ClientTicket&& o) noexcept {
  if (this != &o) {
    release();
    limits_ = o.limits_;
    client_ = std::move(o.client_);
    bytes_ = o.bytes_;
    session_ = o.session_;
    o.limits_ = nullptr;
  }
  return *this;
}

void ClientTicket::release() {
  if (!limits_) return;
  limits_->give_back(client_, bytes_, session_);
  limits_ = nullptr;
}

int ClientLimits::share_cap() const {
  const double cap = std::floor(s_.device_share * double(s_.max_calls));
  return std::max(1, int(std::min(cap, double(s_.max_calls))));
}

ClientLimits::Usage& ClientLimits::account(const std::string& client) {
  auto it = clients_.find(client);
  if (it != clients_.end()) return it->second;
  if (clients_.size() >= kKeepIdleAccounts) forget_idle();
  return clients_[client];
}

void ClientLimits::forget_idle() {
  for (auto it = clients_.begin(); it != clients_.end();) {
    const Usage& u = it->second;
    it = u.calls == 0 && u.sessions == 0 && u.memory == 0 ? clients_.erase(it) : std::next(it);
  }
}

Admission ClientLimits::admit_call(const std::string& client, std::uint64_t bytes) {
  Admission a;
  std::lock_guard lock(mu_);
  Usage& u = account(client);
  const int others = calls_in_flight_ - u.calls;
  if (bytes > s_.max_memory || u.memory > s_.max_memory - bytes) {
    a.refused = LimitReason::memory;
    a.why = "client memory limit: this call's " + std::to_string(bytes) + " operand bytes and the " +
            std::to_string(u.memory) + " the client's calls in flight hold exceed --client-max-memory " +
            std::to_string(s_.max_memory);
  } else if (u.calls >= s_.max_calls) {
    a.refused = LimitReason::calls;
    a.why = "client busy: " + std::to_string(u.calls) + " calls in flight already (--client-max-calls " +
            std::to_string(s_.max_calls) + ")";
  } else if (others > 0 && u.calls >= share_cap()) {
    a.refused = LimitReason::share;
    a.why = "client busy: while other clients have calls in flight, its share of the execution slots is " +
            std::to_string(share_cap()) + " (--client-device-share), and it holds " + std::to_string(u.calls);
  }
  if (a.refused != LimitReason::none) {
    ++u.refused[int(a.refused)];
    return a;
  }
  u.memory += bytes;
  ++u.calls;
  ++u.admitted;
  ++calls_in_flight_;
  a.ticket.limits_ = this;
  a.ticket.client_ = client;
  a.ticket.bytes_ = bytes;
  return a;
}

Admission ClientLimits::open_session(const std::string& client) {
  Admission a;
  std::lock_guard lock(mu_);
  Usage& u = account(client);
  if (u.sessions >= s_.max_sessions) {
    a.refused = LimitReason::sessions;
    a.why = "client busy: " + std::to_string(u.sessions) + " sessions already (--client-max-sessions " +
            std::to_string(s_.max_sessions) + ")";
    ++u.refused[int(a.refused)];
    return a;
  }
  ++u.sessions;
  a.ticket.limits_ = this;
  a.ticket.client_ = client;
  a.ticket.session_ = true;
  return a;
}

void ClientLimits::give_back(const std::string& client, std::uint64_t bytes, bool session) {
  std::lock_guard lock(mu_);
  auto it = clients_.find(client);
  if (it == clients_.end()) return;  // cannot happen: an account with a ticket out is never forgotten
  Usage& u = it->second;
  if (session) {
    --u.sessions;
    return;
  }
  u.memory -= bytes;
  --u.calls;
  --calls_in_flight_;
}

ClientLimits::Usage ClientLimits::usage(const std::string& client) const {
  std::lock_guard lock(mu_);
  auto it = clients_.find(client);
  return it == clients_.end() ? Usage{} : it->second;
}

std::string ClientLimits::report() const {
  std::lock_guard lock(mu_);
  std::string out;
  char line[512];
  for (const auto& [client, u] : clients_) {
    std::snprintf(line, sizeof line,
                  "%sclient %s: %llu calls admitted; refused: %llu over memory, %llu over calls in flight, "
                  "%llu over device share, %llu sessions",
                  out.empty() ? "" : "\n", client.c_str(), (unsigned long long)u.admitted,
                  (unsigned long long)u.refused[int(LimitReason::memory)],
                  (unsigned long long)u.refused[int(LimitReason::calls)],
                  (unsigned long long)u.refused[int(LimitReason::share)],
                  (unsigned long long)u.refused[int(LimitReason::sessions)]);
    out += line;
  }
  return out;
}

}  // namespace rcpu::server
