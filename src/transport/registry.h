// The registry of transports, by scheme. A transport is one file under src/transport/ that
// defines `const Transport& NAME_transport()` (tcp.cpp is the model), plus its one line in
// registry.cpp. Code above the transport layer never sees this: it connects and listens by
// address (connect.h).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "transport/transport.h"

namespace rcpu::transport {

struct Transport {
  const char* scheme;  // "tcp": the addresses "tcp://..."
  // The location (what follows "scheme://") in its canonical form, or TransportError(resolve)
  // naming what is wrong with it. Called when an address is parsed, so a bad RCPU_SERVER or
  // --listen is reported before anything connects.
  std::string (*normalize)(const std::string& location);
  // The connection itself, without link emulation (connect.cpp adds it). Throws TransportError.
  std::unique_ptr<Connection> (*connect)(const std::string& location, int timeout_ms);
  std::unique_ptr<Listener> (*listen)(const std::string& location);
};

// Every transport, in registration order. The first is the default: the one a bare address
// ("host:port", no "scheme://") means.
std::span<const Transport* const> transports();
const Transport& default_transport();
// The transport of `scheme`, or null.
const Transport* find_transport(std::string_view scheme);
// The transport of `scheme`, or TransportError(resolve) naming it and the known schemes.
const Transport& transport_for(std::string_view scheme);
// "tcp" or "tcp, shm": the registered schemes, for error messages.
std::string known_schemes();

}  // namespace rcpu::transport
