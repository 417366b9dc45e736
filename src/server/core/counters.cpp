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
  for (const auto& [op, c] : ops_) {
    std::snprintf(line, sizeof line, "\n%s: %llu calls, %llu errors, %llu bytes in, %llu bytes out, %.3f s compute",
                  opcode_name(op), (unsigned long long)c.calls, (unsigned long long)c.errors,
                  (unsigned long long)c.bytes_in, (unsigned long long)c.bytes_out, double(c.compute_ns) * 1e-9);
    out += line;
  }
  return out;
}

}  // namespace rcpu::server
