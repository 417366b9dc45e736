// Per-client limits of rcpud (docs/security.md, "Per-client limits"). A client is the principal the
// handshake authenticated: a shared key's id, a MUNGE uid, or the peer's host for an --insecure
// client without a key. Everything a client holds is counted across all of its sessions: the
// sessions themselves, its calls in flight (a request from its decoding to its last reply byte;
// a striped call counts once) and their operand bytes. A call or session over a limit is refused
// (the client then runs the call locally), never queued, so nothing waits on another client.
//
//   memory      operand bytes of the client's calls in flight <= max_memory
//   calls       the client's calls in flight <= max_calls
//   share       while another client has a call in flight, the client may hold at most
//               max(1, floor(device_share * max_calls)) calls: max_calls is the server's execution
//               slots, which a client alone may fill, and which competing clients share
//   sessions    the client's sessions <= max_sessions
//
// Thread-safe. Tickets give back what they hold when they are destroyed.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "server/core/counters.h"

namespace rcpu::server {

struct ClientLimitSettings {
  std::uint64_t max_memory = UINT64_MAX;
  int max_calls = 1 << 30;
  double device_share = 1.0;
  int max_sessions = 1 << 30;
};

class ClientLimits;

// What one call or one session holds of its client's allowance; empty when refused (or moved from).
class ClientTicket {
 public:
  ClientTicket() = default;
  ~ClientTicket() { release(); }
  ClientTicket(ClientTicket&& o) noexcept { *this = std::move(o); }
  ClientTicket& operator=(ClientTicket&& o) noexcept;
  ClientTicket(const ClientTicket&) = delete;
  ClientTicket& operator=(const ClientTicket&) = delete;
  explicit operator bool() const { return limits_ != nullptr; }
  void release();

 private:
  friend class ClientLimits;
  ClientLimits* limits_ = nullptr;
  std::string client_;
  std::uint64_t bytes_ = 0;
  bool session_ = false;
};

// The answer to a request for a call or a session: a ticket, or why not (said to the client).
struct Admission {
  ClientTicket ticket;
  LimitReason refused = LimitReason::none;
  std::string why;
};

class ClientLimits {
 public:
  struct Usage {
    std::uint64_t memory = 0;
    int calls = 0, sessions = 0;
    std::uint64_t admitted = 0;                 // calls admitted so far
    std::uint64_t refused[kLimitReasons] = {};  // by LimitReason
  };

  explicit ClientLimits(ClientLimitSettings settings) : s_(settings) {}
  ClientLimits(const ClientLimits&) = delete;
  ClientLimits& operator=(const ClientLimits&) = delete;

  // A call of `bytes` operand bytes for `client`.
  Admission admit_call(const std::string& client, std::uint64_t bytes);
  // A session for `client` (after its handshake).
  Admission open_session(const std::string& client);

  const ClientLimitSettings& settings() const { return s_; }
  // The calls a client may hold while another client has one in flight.
  int share_cap() const;
  // What `client` holds now and how often it was refused; zeros for a client never seen.
  Usage usage(const std::string& client) const;
  // One line per client known (what it was admitted and refused), for rcpud's shutdown log.
  std::string report() const;

 private:
  friend class ClientTicket;
  void give_back(const std::string& client, std::uint64_t bytes, bool session);
  Usage& account(const std::string& client);  // mu_ held
  void forget_idle();                         // mu_ held

  const ClientLimitSettings s_;
  mutable std::mutex mu_;
  std::map<std::string, Usage> clients_;
  int calls_in_flight_ = 0;  // of every client
};

}  // namespace rcpu::server
