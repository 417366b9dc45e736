#include "client/core/credentials.h"

#include <unistd.h>

#include <cstdlib>
#include <mutex>

#include "security/handshake_proof.h"
#include "security/munge_credential.h"
#include "security/random.h"

namespace rcpu::client {

ClientCredentials read_client_credentials() {
  ClientCredentials c;
  const char* method = std::getenv("RCPU_AUTH");
  const std::string m = method ? method : "";
  if (m == "none") return c;
  if (m == "munge") {
    c.munge = true;
    if (const char* socket = std::getenv("RCPU_MUNGE_SOCKET")) c.munge_socket = socket;
    if (!security::munge_available())
      c.error = "RCPU_AUTH=munge: this rcpu was built without MUNGE (install libmunge-dev and rebuild)";
    return c;
  }
  if (m == "tls") {
    c.tls_certificate = true;
    if (std::getenv("RCPU_TLS_CERT") == nullptr)
      c.error = "RCPU_AUTH=tls: set RCPU_TLS_CERT and RCPU_TLS_KEY to this client's certificate and key";
    return c;
  }
  if (!m.empty() && m != "shared-key") {
    c.error = "RCPU_AUTH=" + m + ": not an authentication method (shared-key, the default, munge, tls or none)";
    return c;
  }
  const std::optional<std::string> path = security::find_default_key_file();
  if (!path && m.empty() && std::getenv("RCPU_TLS_CERT") != nullptr) {
    c.tls_certificate = true;  // no key, but a client certificate: mutual TLS is how we prove ourselves
    return c;
  }
  if (!path) {
    if (m == "shared-key") {
      std::string looked;
      for (const std::string& p : security::default_key_paths()) looked += (looked.empty() ? "" : ", ") + p;
      c.error = "RCPU_AUTH=shared-key but no key file (looked for " + looked +
                "): set RCPU_KEY_FILE to a copy of the server's key";
    }
    return c;  // no key anywhere: try without, which only an --insecure server accepts
  }
  try {
    c.key = security::load_key_file(*path).front();
  } catch (const security::KeyFileError& e) {
    c.error = e.what();
  }
  return c;
}

const ClientCredentials& client_credentials() {
  static const ClientCredentials credentials = read_client_credentials();
  return credentials;
}

std::string process_instance() {
  static std::mutex mu;
  static pid_t owner = 0;
  static std::string instance;
  std::lock_guard lock(mu);
  if (owner != ::getpid()) {
    instance = security::random_string(security::kInstanceBytes);
    owner = ::getpid();
  }
  return instance;
}

}  // namespace rcpu::client
