// The kind-independent parts of the remote path (see remote.h).
#include "client/core/remote.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include "client/core/remote_pool.h"
#include "security/random.h"
#include "transport/emulated_link.h"

namespace rcpu::client {

protocol::CallToken call_token() {
  protocol::CallToken t;
  do {
    security::random_bytes(&t, sizeof t);
  } while (t.empty());  // empty means "no stripes"
  return t;
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
