#include "transport/tcp_socket.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

namespace rcpu::transport::tcp {
namespace {

using Kind = TransportError::Kind;

long read_proc_long(const char* path) {
  std::ifstream in(path);
  long v = 0;
  if (in >> v) return v;
  return 0;
}

// Large socket buffers help bulk transfers, but on Linux setting SO_RCVBUF/SO_SNDBUF switches off
// the kernel's autotuning and is silently clamped to net.core.[rw]mem_max (often only 208 KiB), which
// would be worse than autotuning. So the size (RCPU_SOCKET_BUFFER_BYTES, default 8 MiB) is only set
// where the kernel allows all of it.
void tune_buffers(int fd) {
  static const long wanted = [] {
    const char* env = std::getenv("RCPU_SOCKET_BUFFER_BYTES");
    long v = env ? std::atol(env) : 8L << 20;
    return v > 0 ? std::min<long>(v, INT_MAX / 2) : 0L;
  }();
  static const long rmem_max = read_proc_long("/proc/sys/net/core/rmem_max");
  static const long wmem_max = read_proc_long("/proc/sys/net/core/wmem_max");
  if (wanted <= 0) return;
  int size = int(wanted);
  if (rmem_max >= wanted) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (wmem_max >= wanted) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
}

timeval to_timeval(int ms) {
  timeval tv{};
  if (ms > 0) {
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
  }
  return tv;
}

class TcpConnection final : public Connection {
 public:
  TcpConnection(int fd, std::string peer) : fd_(fd), peer_(std::move(peer)) {}
  ~TcpConnection() override {
    if (fd_ >= 0) ::close(fd_);
  }

  void send_all(const void* data, std::size_t size) override {
    iovec iov{const_cast<void*>(data), size};
    send_vec(&iov, 1);
  }

  void send_vec(const iovec* iov_in, std::size_t count) override {
    // sendmsg rather than writev: only send/sendmsg take MSG_NOSIGNAL, and a dead peer must never
    // raise SIGPIPE in the application.
    std::vector<iovec> iov(iov_in, iov_in + count);
    std::size_t first = 0;
    while (first < iov.size()) {
      if (iov[first].iov_len == 0) {
        ++first;
        continue;
      }
      msghdr msg{};
      msg.msg_iov = &iov[first];
      msg.msg_iovlen = std::min<std::size_t>(iov.size() - first, IOV_MAX);
      const ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        fail(kind_of(err), "send to " + peer_, err);
      }
      std::size_t left = std::size_t(n);
      while (left > 0 && first < iov.size()) {
        const std::size_t take = std::min(left, iov[first].iov_len);
        iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + take;
        iov[first].iov_len -= take;
        left -= take;
        if (iov[first].iov_len == 0) ++first;
      }
    }
  }

  void recv_exact(void* data, std::size_t size) override {
    char* p = static_cast<char*>(data);
    while (size > 0) {
      if (has_deadline_) wait_readable_before_deadline();
      const ssize_t n = ::recv(fd_, p, size, 0);
      if (n == 0) throw TransportError(Kind::closed, "connection to " + peer_ + " closed by peer");
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        if (err == EAGAIN || err == EWOULDBLOCK)
          throw TransportError(Kind::timeout, "receive from " + peer_ + ": timed out");
        fail(kind_of(err), "receive from " + peer_, err);
      }
      p += n;
      size -= std::size_t(n);
    }
  }

  void set_timeouts(int read_ms, int write_ms) override {
    const timeval r = to_timeval(read_ms), w = to_timeval(write_ms);
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &r, sizeof r);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &w, sizeof w);
  }

  void set_read_deadline(int ms) override {
    has_deadline_ = ms > 0;
    deadline_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  }

  bool readable_or_closed() override {
    if (fd_ < 0) return true;
    pollfd p{fd_.load(), POLLIN | POLLRDHUP, 0};
    const int r = ::poll(&p, 1, 0);
    return r != 0;  // data, hang-up, error, or poll itself failing: none of these is a clean idle
  }

  void shutdown() override {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
  }

  void end_sending() override {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
  }

  void hang_up(int drain_ms) override {
    if (fd_ < 0) return;
    ::shutdown(fd_, SHUT_WR);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(drain_ms);
    char buf[65536];
    std::size_t drained = 0;
    while (drained < (8u << 20)) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_.load(), POLLIN, 0};
      if (::poll(&p, 1, int(left.count())) <= 0) break;
      const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) break;
      drained += std::size_t(n);
    }
    ::close(fd_.exchange(-1));
  }

  void abandon() override {
    const int fd = fd_.exchange(-1);
    if (fd >= 0) ::close(fd);
  }

  std::string peer() const override { return peer_; }

 private:
  // Blocks until the socket is readable (or closed) or the read deadline passes (then throws).
  void wait_readable_before_deadline() {
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd pfd{fd_.load(), POLLIN | POLLRDHUP, 0};
      const int r = ::poll(&pfd, 1, int(std::min<std::int64_t>(left.count(), INT_MAX)));
      if (r > 0) return;
      if (r < 0 && errno != EINTR) {
        const int err = errno;
        fail(kind_of(err), "receive from " + peer_, err);
      }
    }
    throw TransportError(Kind::timeout, "receive from " + peer_ + ": no complete message within the time allowed");
  }
  bool has_deadline_ = false;
  std::chrono::steady_clock::time_point deadline_{};
  std::atomic<int> fd_;  // atomic: the server's stop() may shut it down from another thread
  std::string peer_;
};

class TcpListener final : public Listener {
 public:
  TcpListener(int fd, HostPort bound) : fd_(fd), bound_(std::move(bound)) {
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;
  }
  ~TcpListener() override {
    ::close(fd_);
    if (wake_[0] >= 0) ::close(wake_[0]);
    if (wake_[1] >= 0) ::close(wake_[1]);
  }

  std::unique_ptr<Connection> accept(int timeout_ms) override {
    for (;;) {
      if (stopped_.load()) return nullptr;
      pollfd p[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      const int r = ::poll(p, wake_[0] >= 0 ? 2 : 1, timeout_ms);
      if (r < 0) {
        if (errno == EINTR) continue;
        fail(Kind::io, "poll on listening socket", errno);
      }
      if (r == 0 || stopped_.load()) return nullptr;
      sockaddr_storage addr{};
      socklen_t len = sizeof addr;
      const int cfd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_CLOEXEC);
      if (cfd < 0) {
        // The connection may have gone between poll and accept, or we ran out of descriptors for a
        // moment: neither should end the server.
        if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED || errno == EPROTO || errno == EMFILE ||
            errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
          return nullptr;
        fail(Kind::io, "accept", errno);
      }
      tune_stream(cfd);
      return make_connection(cfd, format_sockaddr(reinterpret_cast<sockaddr*>(&addr)));
    }
  }

  // Bare "host:port": TCP is the default transport, and rcpud's first line shows this text.
  std::string address() const override { return bound_.str(); }

  void shutdown() override {
    stopped_.store(true);
    if (wake_[1] >= 0) {
      const char b = 1;
      [[maybe_unused]] ssize_t n = ::write(wake_[1], &b, 1);
    }
  }

 private:
  int fd_;
  int wake_[2] = {-1, -1};
  HostPort bound_;
  std::atomic<bool> stopped_{false};
};

}  // namespace

[[noreturn]] void fail(Kind kind, const std::string& what, int err) {
  throw TransportError(kind, what + ": " + std::strerror(err));
}

Kind kind_of(int err) {
  switch (err) {
    case ECONNREFUSED:
      return Kind::refused;
    case EAGAIN:
#if EAGAIN != EWOULDBLOCK
    case EWOULDBLOCK:
#endif
    case ETIMEDOUT:
      return Kind::timeout;
    case EPIPE:
    case ECONNRESET:
    case ENOTCONN:
    case ESHUTDOWN:
      return Kind::closed;
    default:
      return Kind::io;
  }
}

void tune_stream(int fd) {
  int one = 1;
  // Requests are small messages followed by bulk data: never let Nagle hold a header back.
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // Detects a peer host that vanished while a connection sits idle in the client's pool.
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  tune_buffers(fd);
}

void set_nonblocking(int fd, bool on) {
  int flags = fcntl(fd, F_GETFL, 0);
  if (flags < 0) return;
  fcntl(fd, F_SETFL, on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK));
}

std::unique_ptr<Connection> make_connection(int fd, std::string peer) {
  return std::make_unique<TcpConnection>(fd, std::move(peer));
}

std::unique_ptr<Listener> make_listener(int fd, HostPort bound) {
  return std::make_unique<TcpListener>(fd, std::move(bound));
}

}  // namespace rcpu::transport::tcp
