// One client connection to rcpud after a successful handshake, as the pool hands it out.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "client/core/remote.h"
#include "protocol/messages.h"
#include "transport/connect.h"

namespace rcpu::client {

class RemoteConnection {
 public:
  // Connects and performs the handshake. Throws transport::TransportError (cannot connect, peer
  // gone) or protocol::ProtocolError (the server rejected us or spoke nonsense).
  static std::unique_ptr<RemoteConnection> open(const transport::Address& where, int connect_timeout_ms,
                                                int io_timeout_ms);

  transport::Connection& conn() { return *conn_; }
  const RemoteServerInfo& info() const { return info_; }
  std::uint64_t next_request_id() { return ++last_request_id_; }

 private:
  std::unique_ptr<transport::Connection> conn_;
  RemoteServerInfo info_;
  std::uint64_t last_request_id_ = 0;
};

// The client's side of the handshake on a fresh connection to `where` (its name for messages):
// HELLO with this process's instance id and credentials (client/core/credentials.h), the
// shared-key exchange, HELLO_OK. Throws protocol::ProtocolError when the server refuses us or
// cannot prove our key, transport::TransportError when the connection fails.
protocol::HelloOk client_handshake(transport::Connection& conn, const std::string& where, std::uint64_t capabilities);

// Read/write time-out inside a call: RCPU_IO_TIMEOUT_MS, default 10 minutes (a big call on a slow
// backend can compute for minutes without a byte moving); 0 = none.
int io_timeout_ms();

}  // namespace rcpu::client
