#include "server/core/counters.h"

#include <cstdio>
#include <cstring>

#include "rcpu_opcodes.h"

namespace rcpu::server {
namespace {

// Opcodes outside the table share one entry (reported as "unknown"): a client must not grow the
// server's memory by sending a new made-up opcode with every request.
std::uint32_t counted_opcode(std::uint32_t opcode) {
  return std::strcmp(opcode_name(opcode), "unknown") == 0 ? Counters::kUnknownOpcode : opcode;
}

}  // namespace

const char* limit_reason_name(LimitReason r) {
  switch (r) {
    case LimitReason::memory:
      return "memory";
    case LimitReason::calls:
      return "calls";
    case LimitReason::share:
      return "share";
    case LimitReason::sessions:
      return "sessions";
    case LimitReason::none:
      break;
  }
  return "none";
}

void Counters::add_call(std::uint32_t opcode, std::uint64_t bytes_in, std::uint64_t bytes_out,
                        std::uint64_t compute_ns) {
  std::lock_guard lock(mu_);
  OpCounters& c = ops_[counted_opcode(opcode)];
  ++c.calls;
  c.bytes_in += bytes_in;
  c.bytes_out += bytes_out;
  c.compute_ns += compute_ns;
}

void Counters::add_bytes_out(std::uint32_t opcode, std::uint64_t bytes_out) {
  std::lock_guard lock(mu_);
  ops_[counted_opcode(opcode)].bytes_out += bytes_out;
}

void Counters::add_error(std::uint32_t opcode) {
  std::lock_guard lock(mu_);
  ++ops_[counted_opcode(opcode)].errors;
}

void Counters::add_session() {
  std::lock_guard lock(mu_);
  ++sessions_;
}

void Counters::add_rejected_session() {
  std::lock_guard lock(mu_);
  ++rejected_;
}

void Counters::add_limit_refusal(LimitReason why) {
  if (why == LimitReason::none) return;
  std::lock_guard lock(mu_);
  ++limit_refusals_[int(why)];
}

std::uint64_t Counters::limit_refusals(LimitReason why) const {
  if (why == LimitReason::none) return 0;
  std::lock_guard lock(mu_);
  return limit_refusals_[int(why)];
}

std::map<std::uint32_t, OpCounters> Counters::snapshot() const {
  std::lock_guard lock(mu_);
  return ops_;
}

void Counters::add_auth_failure() {
  std::lock_guard lock(mu_);
  ++auth_failures_;
}

std::uint64_t Counters::auth_failures() const {
  std::lock_guard lock(mu_);
  return auth_failures_;
}

std::uint64_t Counters::sessions() const {
  std::lock_guard lock(mu_);
  return sessions_;
}

std::string Counters::report() const {
  std::lock_guard lock(mu_);
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "sessions: %llu served, %llu rejected, %llu failed authentication",
                (unsigned long long)sessions_, (unsigned long long)rejected_, (unsigned long long)auth_failures_);
  out += line;
  std::snprintf(line, sizeof line,
                "\nclient limits: refused %llu over memory, %llu over calls in flight, %llu over device share, "
                "%llu sessions",
                (unsigned long long)limit_refusals_[int(LimitReason::memory)],
                (unsigned long long)limit_refusals_[int(LimitReason::calls)],
                (unsigned long long)limit_refusals_[int(LimitReason::share)],
                (unsigned long long)limit_refusals_[int(LimitReason::sessions)]);
  out += line;
  for (const auto& [op, c] : ops_) {
    std::snprintf(line, sizeof line, "\n%s: %llu calls, %llu errors, %llu bytes in, %llu bytes out, %.3f s compute",
                  opcode_name(op), (unsigned long long)c.calls, (unsigned long long)c.errors,
                  (unsigned long long)c.bytes_in, (unsigned long long)c.bytes_out, double(c.compute_ns) * 1e-9);
    out += line;
  }
  return out;
}

}  // namespace rcpu::server
