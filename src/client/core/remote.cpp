// The kind-independent parts of the remote path (see remote.h).
#include "client/core/remote.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>

#include "client/core/remote_pool.h"
#include "transport/emulated_link.h"

namespace rcpu::client {

// A random 64-bit token naming a striped call to the server (the other connections JOIN it).
// The process id and the clock are mixed in at every call: a child after fork() starts with a copy
// of its parent's generator and would otherwise repeat its parent's tokens.
std::uint64_t call_token() {
  static std::atomic<std::uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::uint64_t now = std::uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
  return rng() ^ (std::uint64_t(::getpid()) * 0xff51afd7ed558ccdull) ^ (now * 0xc4ceb9fe1a85ec53ull) ^
         (counter.fetch_add(1) * 0x9e3779b97f4a7c15ull);
}

void describe_remote(const RemoteTiming& t, CallRecord& r) {
  r.remote = true;
  r.bytes_to_server = t.bytes_sent;
  r.bytes_from_server = t.bytes_received;
  r.t_to_server_s = t.to_server_s;
  r.t_on_server_s = t.on_server_s;
  r.t_from_server_s = t.from_server_s;
  r.backend = t.backend;
  r.streams = t.streams;
  r.emulated_link_gbps = transport::emulated_link_gbps();
}

bool remote_configured() {
  const char* env = std::getenv("RCPU_SERVER");
  return env && *env;
}

RemoteResult remote_probe(RemoteServerInfo* info) {
  try {
    std::string cause;
    std::optional<Lease> lease = pool().acquire(cause);
    if (!lease) return remote_failure(RemoteStatus::unavailable, cause);
    if (info) *info = lease->conn->info();
    lease->pool->release(std::move(*lease));
    return remote_failure(RemoteStatus::ok, "");
  } catch (const std::exception& e) {
    return remote_failure(RemoteStatus::failed, e.what());
  } catch (...) {
    return remote_failure(RemoteStatus::failed, "unknown error");
  }
}

void remote_reset() {
  try {
    reset_pool();
  } catch (...) {
  }
}

}  // namespace rcpu::client
