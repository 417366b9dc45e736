// TCP's part of an address: "host:port" or "[v6addr]:port", and the name resolution behind it.
// Only the TCP transport's files use this; everything above the transport layer sees an address
// (address.h).
#pragma once

#include <netdb.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace rcpu::transport::tcp {

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
  std::string str() const;  // "host:port" ("[::1]:7000" for IPv6 literals)
};

// Parses "host:port", "[v6addr]:port". Port 0 is allowed (listen on any free port).
// Throws TransportError(resolve) with a message naming the bad text.
HostPort parse_host_port(const std::string& text);

// getaddrinfo's answer, freed with it.
struct AddrInfo {
  addrinfo* list = nullptr;
  AddrInfo() = default;
  AddrInfo(const AddrInfo&) = delete;
  AddrInfo& operator=(const AddrInfo&) = delete;
  ~AddrInfo() {
    if (list) freeaddrinfo(list);
  }
};

// Resolves for a stream socket; `passive` for a listener. Throws TransportError(resolve).
void resolve(const HostPort& where, bool passive, AddrInfo& out);

// "127.0.0.1:7000" or "[::1]:7000" for an IPv4/IPv6 socket address, "?" for any other.
std::string format_sockaddr(const sockaddr* sa);
// The port of an IPv4/IPv6 socket address, else `fallback`.
std::uint16_t sockaddr_port(const sockaddr_storage& sa, std::uint16_t fallback);

}  // namespace rcpu::transport::tcp
