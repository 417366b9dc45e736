// The client's TLS (docs/security.md "Deploying with TLS"), read once per process: RCPU_TLS_CA
// turns it on (the authority the server's certificate must chain to); RCPU_TLS_CERT and
// RCPU_TLS_KEY add a client certificate for mutual TLS; RCPU_TLS_SERVER_NAME is the name the
// server's certificate must carry when it is not the host of RCPU_SERVER.
#pragma once

#include <memory>
#include <string>

#include "transport/tls.h"

namespace rcpu::client {

struct ClientTls {
  std::shared_ptr<const transport::TlsContext> context;  // null: connections in the clear
  bool client_certificate = false;                       // RCPU_TLS_CERT given
  std::string server_name;                               // RCPU_TLS_SERVER_NAME; empty: the address's host
  std::string error;                                     // a setting or file that is wrong: no connection is tried
};

// Read on first use and kept for the life of the process.
const ClientTls& client_tls();

// Reads the settings now.
ClientTls read_client_tls();

}  // namespace rcpu::client
