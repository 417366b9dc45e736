// What the client proves to rcpud in the handshake, read once per process (docs/security.md):
// the first key of RCPU_KEY_FILE (default ~/.config/rcpu/key, then /etc/rcpu/key); a MUNGE
// credential with RCPU_AUTH=munge (munged's socket: RCPU_MUNGE_SOCKET, default libmunge's); the
// TLS client certificate (RCPU_TLS_CERT) with RCPU_AUTH=tls, or when no key file is found; or
// nothing with RCPU_AUTH=none. A client that holds a key also insists that the server proves it
// holds it.
#pragma once

#include <optional>
#include <string>

#include "security/key_file.h"

namespace rcpu::client {

struct ClientCredentials {
  std::optional<security::SharedKey> key;  // empty (and not munge): AuthMethod::none (only --insecure servers)
  bool munge = false;                      // RCPU_AUTH=munge
  bool tls_certificate = false;            // RCPU_AUTH=tls: the certificate of mutual TLS proves who we are
  std::string munge_socket;
  std::string error;  // a setting or key file that is wrong: no connection is tried
};

// Read on first use and kept for the life of the process.
const ClientCredentials& client_credentials();

// Reads the settings now (RCPU_AUTH, RCPU_KEY_FILE and the default key places).
ClientCredentials read_client_credentials();

// 16 random bytes naming this client process to the server, which binds the process's call tokens
// to it. A forked child gets its own (it cannot join its parent's calls).
std::string process_instance();

}  // namespace rcpu::client
