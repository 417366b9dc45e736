// Where to connect or listen, as the user writes it: "scheme://location", e.g.
// "tcp://127.0.0.1:7000" or "tcp://[::1]:7000". A bare location ("127.0.0.1:7000", every
// RCPU_SERVER and --listen value written before schemes existed) means the default transport, TCP.
// The location is the transport's to interpret (registry.h); nothing above the transport layer
// looks inside it.
#pragma once

#include <string>

namespace rcpu::transport {

struct Address {
  std::string scheme;    // a registered transport's scheme ("tcp")
  std::string location;  // what follows "scheme://", in the transport's canonical form
  // The address as text that parse_address reads back: bare for the default transport
  // ("127.0.0.1:7000", "[::1]:7000"), "scheme://location" for any other.
  std::string str() const;
};

// Parses "scheme://location" or a bare location; the scheme is case-insensitive. Throws
// TransportError(resolve) naming the bad text: a malformed scheme, an unknown one (with the known
// ones listed), or a location its transport rejects ("bad port in 'host:99999'").
Address parse_address(const std::string& text);

}  // namespace rcpu::transport
