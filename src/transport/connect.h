// Connecting and listening by address (address.h), whatever the transport: what the client, the
// server and the tools above the transport layer use.
#pragma once

#include <memory>
#include <string>

#include "transport/address.h"
#include "transport/transport.h"

namespace rcpu::transport {

// Opens a connection to `where` through its transport, under link emulation when RCPU_LINK_GBPS
// is set (emulated_link.h). Throws TransportError naming the peer and the cause.
std::unique_ptr<Connection> connect(const Address& where, int timeout_ms);
std::unique_ptr<Connection> connect(const std::string& address, int timeout_ms);  // parse_address first

// Listens at `where`; the listener's address() is the bound one (the real port when 0 was asked
// for). Accepted connections are never under link emulation: a server, or the server half of
// rcpu-netbench, does not pace the same bytes again. Throws TransportError.
std::unique_ptr<Listener> listen(const Address& where);
std::unique_ptr<Listener> listen(const std::string& address);  // parse_address first

// Connect time-out in milliseconds: RCPU_CONNECT_TIMEOUT_MS if set and valid, else 3000.
int default_connect_timeout_ms();

}  // namespace rcpu::transport
