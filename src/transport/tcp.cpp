// The TCP transport: "tcp://host:port", "tcp://[v6addr]:port", or the same without "tcp://" (TCP
// is the default transport). IPv4/IPv6 via getaddrinfo, TCP_NODELAY, large socket buffers,
// MSG_NOSIGNAL on every write, time-outs through poll/SO_RCVTIMEO (tcp_socket.cpp).
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "transport/registry.h"
#include "transport/tcp_host_port.h"
#include "transport/tcp_socket.h"

namespace rcpu::transport {
namespace tcp {
namespace {

using Kind = TransportError::Kind;

// Waits for a non-blocking connect to finish; returns 0 or the errno it failed with.
int finish_connect(int fd, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return ETIMEDOUT;
    pollfd p{fd, POLLOUT, 0};
    const int r = ::poll(&p, 1, int(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno;
    if (r == 0) return ETIMEDOUT;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
    return err;
  }
}

std::string normalize(const std::string& location) { return parse_host_port(location).str(); }

std::unique_ptr<Connection> connect(const std::string& location, int timeout_ms) {
  const HostPort where = parse_host_port(location);
  AddrInfo ai;
  resolve(where, false, ai);
  int last_err = ECONNREFUSED;
  for (addrinfo* a = ai.list; a; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) {
      last_err = errno;
      continue;
    }
    int err = 0;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      err = errno == EINPROGRESS ? finish_connect(fd, timeout_ms) : errno;
    }
    if (err != 0) {
      ::close(fd);
      last_err = err;
      continue;
    }
    set_nonblocking(fd, false);
    tune_stream(fd);
    return make_connection(fd, where.str());
  }
  if (last_err == ETIMEDOUT)
    throw TransportError(Kind::timeout,
                         "connect " + where.str() + ": timed out after " + std::to_string(timeout_ms) + " ms");
  fail(kind_of(last_err) == Kind::refused ? Kind::refused : Kind::io, "connect " + where.str(), last_err);
}

std::unique_ptr<Listener> listen(const std::string& location) {
  constexpr int kBacklog = 128;
  const HostPort where = parse_host_port(location);
  AddrInfo ai;
  resolve(where, true, ai);
  int last_err = EADDRNOTAVAIL;
  for (addrinfo* a = ai.list; a; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last_err = errno;
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, kBacklog) != 0) {
      last_err = errno;
      ::close(fd);
      continue;
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
    return make_listener(fd, HostPort{where.host, sockaddr_port(bound, where.port)});
  }
  fail(Kind::io, "listen on " + where.str(), last_err);
}

}  // namespace
}  // namespace tcp

const Transport& tcp_transport() {
  static const Transport t{"tcp", tcp::normalize, tcp::connect, tcp::listen};
  return t;
}

}  // namespace rcpu::transport
