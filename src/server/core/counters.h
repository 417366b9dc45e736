// Per-operation counters of rcpud (calls, errors, bytes each way, compute time), logged at
// shutdown. Thread-safe; sessions add to them after each request.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace rcpu::server {

// Why a client's call or session was refused by its per-client limits (core/client_limits.h).
enum class LimitReason { memory, calls, share, sessions, none };
constexpr int kLimitReasons = 4;               // the reasons before `none`
const char* limit_reason_name(LimitReason r);  // "memory", "calls", "share", "sessions"

struct OpCounters {
  std::uint64_t calls = 0, errors = 0, bytes_in = 0, bytes_out = 0, compute_ns = 0;
};

class Counters {
 public:
  // Where every opcode outside the generated table is counted (opcode_name says "unknown").
  static constexpr std::uint32_t kUnknownOpcode = 0;
  void add_call(std::uint32_t opcode, std::uint64_t bytes_in, std::uint64_t bytes_out, std::uint64_t compute_ns);
  // Bytes of a call's results, added after they were sent (the call itself is counted before its
  // answer leaves, so a client that has its answer always sees the call counted).
  void add_bytes_out(std::uint32_t opcode, std::uint64_t bytes_out);
  void add_error(std::uint32_t opcode);
  void add_session();
  void add_rejected_session();
  // A peer whose handshake failed authentication (no key, wrong key, replayed or cut short).
  void add_auth_failure();
  // A call or session refused by a per-client limit.
  void add_limit_refusal(LimitReason why);
  std::uint64_t limit_refusals(LimitReason why) const;
  std::map<std::uint32_t, OpCounters> snapshot() const;
  std::uint64_t sessions() const;
  std::uint64_t auth_failures() const;
  // One line per operation that was called, plus a session summary.
  std::string report() const;

 private:
  mutable std::mutex mu_;
  std::map<std::uint32_t, OpCounters> ops_;
  std::uint64_t sessions_ = 0, rejected_ = 0, auth_failures_ = 0;
  std::uint64_t limit_refusals_[kLimitReasons] = {};
};

}  // namespace rcpu::server
