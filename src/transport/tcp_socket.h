// TCP's connection and listener over a socket descriptor, and the socket options every TCP stream
// of rcpu gets. Only the TCP transport's files use this.
#pragma once

#include <memory>
#include <string>

#include "transport/tcp_host_port.h"
#include "transport/transport.h"

namespace rcpu::transport::tcp {

// Throws TransportError(kind, "what: strerror(err)").
[[noreturn]] void fail(TransportError::Kind kind, const std::string& what, int err);
// The kind of failure an errno stands for.
TransportError::Kind kind_of(int err);

// TCP_NODELAY, keep-alive and (where the kernel allows) large buffers, on every stream.
void tune_stream(int fd);
void set_nonblocking(int fd, bool on);

// Take ownership of a connected / listening socket.
std::unique_ptr<Connection> make_connection(int fd, std::string peer);
// `bound`: the asked host with the port actually bound (what address() reports).
std::unique_ptr<Listener> make_listener(int fd, HostPort bound);

}  // namespace rcpu::transport::tcp
