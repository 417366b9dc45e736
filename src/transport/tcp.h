// TCP implementation of the transport: IPv4/IPv6 via getaddrinfo, TCP_NODELAY, large socket
// buffers, MSG_NOSIGNAL on every write, time-outs through poll/SO_RCVTIMEO.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "transport/transport.h"

namespace rcpu::transport {

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  std::string str() const;  // "host:port" ("[::1]:7000" for IPv6 literals)
};

// Parses "host:port", "[v6addr]:port". Port 0 is allowed (listen on any free port).
// Throws TransportError(resolve) with a message naming the bad text.
Endpoint parse_endpoint(const std::string& text);

// RCPU_LINK_GBPS (read once per process): when set (> 0), every TCP connection this process opens
// with tcp_connect (never an accepted one) paces its sends and its receives with one token bucket per direction at that
// many Gbit/s, to reproduce 1 GbE, 10 GbE, InfiniBand QDR/FDR/EDR... on loopback. Returns the rate, 0 when off. Every
// result measured with it must say "emulated".
double emulated_link_gbps();

// Connect time-out in milliseconds: RCPU_CONNECT_TIMEOUT_MS if set and valid, else 3000.
int default_connect_timeout_ms();

std::unique_ptr<Connection> tcp_connect(const Endpoint& where, int timeout_ms);
std::unique_ptr<Listener> tcp_listen(const Endpoint& where, int backlog = 128);

}  // namespace rcpu::transport
