#include "transport/tcp.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
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
#include <mutex>
#include <thread>
#include <vector>

namespace rcpu::transport {
namespace {

using Kind = TransportError::Kind;

std::string errno_text(int err) { return std::strerror(err); }

[[noreturn]] void fail(Kind kind, const std::string& what, int err) {
  throw TransportError(kind, what + ": " + errno_text(err));
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

std::string format_addr(const sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = "?";
  std::uint16_t port = 0;
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  if (sa->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
    return "[" + std::string(host) + "]:" + std::to_string(port);
  }
  return "?";
}

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

timeval to_timeval(int ms) {
  timeval tv{};
  if (ms > 0) {
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
  }
  return tv;
}

// ---- link emulation (RCPU_LINK_GBPS) ----
// One token bucket per direction for the whole process: every connection's sends draw from the
// send bucket, every receive from the receive bucket, as they would share one real link. Pacing is
// done in chunks of at most kPaceChunk bytes, each waiting for its time slot ("virtual time":
// next_free advances by bytes / rate), with up to kPaceBurst bytes of credit so a short idle spell
// does not lose the link's capacity but no long burst at memory speed can happen. Pacing the
// receives of one end is enough to throttle the peer's sends too (TCP flow control), so setting it
// on the client alone caps both directions.
constexpr std::size_t kPaceChunk = 256 * 1024;
constexpr double kPaceBurst = 512.0 * 1024;

class Pacer {
 public:
  explicit Pacer(double bytes_per_s) : rate_(bytes_per_s) {}
  void take(std::size_t bytes) {
    using namespace std::chrono;
    steady_clock::time_point wake;
    {
      std::lock_guard lock(mu_);
      const auto now = steady_clock::now();
      const auto burst = duration_cast<steady_clock::duration>(duration<double>(kPaceBurst / rate_));
      if (next_free_ < now - burst) next_free_ = now - burst;
      next_free_ += duration_cast<steady_clock::duration>(duration<double>(double(bytes) / rate_));
      wake = next_free_ - burst;
    }
    std::this_thread::sleep_until(wake);
  }

 private:
  std::mutex mu_;
  double rate_;
  std::chrono::steady_clock::time_point next_free_{};
};

struct LinkEmulation {
  double gbps = 0;
  std::unique_ptr<Pacer> send, recv;
};

LinkEmulation& link_emulation() {
  static LinkEmulation* e = [] {
    auto* le = new LinkEmulation;  // never freed: used until the last socket closes, at exit too
    if (const char* env = std::getenv("RCPU_LINK_GBPS")) {
      char* end = nullptr;
      const double v = std::strtod(env, &end);
      if (end != env && *end == 0 && v > 0 && v < 1e5) {
        le->gbps = v;
        le->send = std::make_unique<Pacer>(v * 1e9 / 8);
        le->recv = std::make_unique<Pacer>(v * 1e9 / 8);
      }
    }
    return le;
  }();
  return *e;
}

class TcpConnection final : public Connection {
 public:
  // `paced`: connections this process opened (tcp_connect) obey RCPU_LINK_GBPS; accepted ones
  // never do, so a server, or the server half of rcpu-netbench, does not pace the same bytes again.
  TcpConnection(int fd, std::string peer, bool paced = false) : fd_(fd), peer_(std::move(peer)) {
    if (!paced) return;
    LinkEmulation& le = link_emulation();
    pacer_send_ = le.send.get();
    pacer_recv_ = le.recv.get();
  }
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
      // Under link emulation, at most one pacing chunk per sendmsg: trim the iovec list to it.
      iovec saved{};
      std::size_t trimmed = SIZE_MAX;
      if (pacer_send_) {
        std::size_t budget = kPaceChunk, i = 0;
        for (; i < msg.msg_iovlen; ++i) {
          if (msg.msg_iov[i].iov_len >= budget) break;
          budget -= msg.msg_iov[i].iov_len;
        }
        if (i < msg.msg_iovlen) {
          trimmed = first + i;
          saved = iov[trimmed];
          iov[trimmed].iov_len = budget;
          msg.msg_iovlen = i + 1;
        }
        std::size_t want = 0;
        for (std::size_t j = 0; j < msg.msg_iovlen; ++j) want += msg.msg_iov[j].iov_len;
        pacer_send_->take(want);
      }
      const ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
      if (trimmed != SIZE_MAX) {
        iov[trimmed].iov_len = saved.iov_len;
      }
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
      const ssize_t n = ::recv(fd_, p, pacer_recv_ ? std::min(size, kPaceChunk) : size, 0);
      if (n == 0) throw TransportError(Kind::closed, "connection to " + peer_ + " closed by peer");
      if (n > 0 && pacer_recv_) pacer_recv_->take(std::size_t(n));
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

  bool readable_or_closed() override {
    if (fd_ < 0) return true;
    pollfd p{fd_.load(), POLLIN | POLLRDHUP, 0};
    const int r = ::poll(&p, 1, 0);
    return r != 0;  // data, hang-up, error, or poll itself failing: none of these is a clean idle
  }

  void shutdown() override {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
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
  std::atomic<int> fd_;  // atomic: the server's stop() may shut it down from another thread
  std::string peer_;
  Pacer* pacer_send_ = nullptr;  // non-null under RCPU_LINK_GBPS
  Pacer* pacer_recv_ = nullptr;
};

class TcpListener final : public Listener {
 public:
  TcpListener(int fd, std::string host, std::uint16_t port) : fd_(fd), host_(std::move(host)), port_(port) {
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
      return std::make_unique<TcpConnection>(cfd, format_addr(reinterpret_cast<sockaddr*>(&addr)));
    }
  }

  std::string host() const override { return host_; }
  std::uint16_t port() const override { return port_; }

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
  std::string host_;
  std::uint16_t port_;
  std::atomic<bool> stopped_{false};
};

struct AddrInfo {
  addrinfo* list = nullptr;
  ~AddrInfo() {
    if (list) freeaddrinfo(list);
  }
};

void resolve(const Endpoint& where, bool passive, AddrInfo& out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  const std::string port = std::to_string(where.port);
  const int rc = getaddrinfo(where.host.empty() ? nullptr : where.host.c_str(), port.c_str(), &hints, &out.list);
  if (rc != 0) throw TransportError(Kind::resolve, "resolve " + where.str() + ": " + gai_strerror(rc));
}

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

}  // namespace

std::string Endpoint::str() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Endpoint parse_endpoint(const std::string& text) {
  Endpoint e;
  std::string port_text;
  if (!text.empty() && text[0] == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      throw TransportError(Kind::resolve, "bad address '" + text + "' (want [v6addr]:port)");
    e.host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0)
      throw TransportError(Kind::resolve, "bad address '" + text + "' (want host:port)");
    e.host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  if (port_text.empty() || port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos ||
      std::stol(port_text) > 65535)
    throw TransportError(Kind::resolve, "bad port in '" + text + "'");
  e.port = std::uint16_t(std::stol(port_text));
  return e;
}

double emulated_link_gbps() { return link_emulation().gbps; }

int default_connect_timeout_ms() {
  if (const char* env = std::getenv("RCPU_CONNECT_TIMEOUT_MS")) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end != env && *end == 0 && v > 0 && v <= 600000) return int(v);
  }
  return 3000;
}

std::unique_ptr<Connection> tcp_connect(const Endpoint& where, int timeout_ms) {
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
    return std::make_unique<TcpConnection>(fd, where.str(), true);
  }
  if (last_err == ETIMEDOUT)
    throw TransportError(Kind::timeout,
                         "connect " + where.str() + ": timed out after " + std::to_string(timeout_ms) + " ms");
  fail(kind_of(last_err) == Kind::refused ? Kind::refused : Kind::io, "connect " + where.str(), last_err);
}

std::unique_ptr<Listener> tcp_listen(const Endpoint& where, int backlog) {
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
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, backlog) != 0) {
      last_err = errno;
      ::close(fd);
      continue;
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
    std::uint16_t port = where.port;
    if (bound.ss_family == AF_INET) port = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    if (bound.ss_family == AF_INET6) port = ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
    return std::make_unique<TcpListener>(fd, where.host, port);
  }
  fail(Kind::io, "listen on " + where.str(), last_err);
}

}  // namespace rcpu::transport
