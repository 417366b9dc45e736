#include "transport/emulated_link.h"

#include <algorithm>
#include <cstdlib>
#include <thread>
#include <vector>

namespace rcpu::transport {
namespace {

constexpr double kPaceBurst = 512.0 * 1024;

struct LinkEmulation {
  double gbps = 0;
  std::unique_ptr<Pacer> send, recv;
};

// One token bucket per direction for the whole process: every connection's sends draw from the
// send bucket, every receive from the receive bucket, as they would share one real link.
LinkEmulation& link_emulation() {
  static LinkEmulation* e = [] {
    auto* le = new LinkEmulation;  // never freed: used until the last connection closes, at exit too
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

}  // namespace

double emulated_link_gbps() { return link_emulation().gbps; }

std::unique_ptr<Connection> emulate_link(std::unique_ptr<Connection> conn) {
  LinkEmulation& le = link_emulation();
  if (le.gbps <= 0) return conn;
  return std::make_unique<EmulatedLink>(std::move(conn), *le.send, *le.recv);
}

void Pacer::take(std::size_t bytes) {
  using namespace std::chrono;
  steady_clock::time_point wake;
  {
    std::lock_guard lock(mu_);
    taken_ += bytes;
    const auto now = steady_clock::now();
    const auto burst = duration_cast<steady_clock::duration>(duration<double>(kPaceBurst / rate_));
    if (next_free_ < now - burst) next_free_ = now - burst;
    next_free_ += duration_cast<steady_clock::duration>(duration<double>(double(bytes) / rate_));
    wake = next_free_ - burst;
  }
  std::this_thread::sleep_until(wake);
}

std::uint64_t Pacer::bytes_taken() const {
  std::lock_guard lock(mu_);
  return taken_;
}

void EmulatedLink::send_all(const void* data, std::size_t size) {
  iovec iov{const_cast<void*>(data), size};
  send_vec(&iov, 1);
}

void EmulatedLink::send_vec(const iovec* iov, std::size_t count) {
  // Cut the buffer list into pieces of at most kPaceChunk bytes (a buffer may be split across
  // pieces); each piece waits for its slot, then goes to the inner connection as one write.
  std::vector<iovec> piece;
  std::size_t piece_bytes = 0;
  auto flush = [&] {
    if (piece_bytes == 0) return;
    send_.take(piece_bytes);
    inner_->send_vec(piece.data(), piece.size());
    piece.clear();
    piece_bytes = 0;
  };
  for (std::size_t i = 0; i < count; ++i) {
    char* base = static_cast<char*>(iov[i].iov_base);
    std::size_t left = iov[i].iov_len;
    while (left > 0) {
      const std::size_t n = std::min(left, kPaceChunk - piece_bytes);
      piece.push_back({base, n});
      piece_bytes += n;
      base += n;
      left -= n;
      if (piece_bytes == kPaceChunk) flush();
    }
  }
  flush();
}

void EmulatedLink::recv_exact(void* data, std::size_t size) {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    const std::size_t n = std::min(size, kPaceChunk);
    inner_->recv_exact(p, n);
    recv_.take(n);
    p += n;
    size -= n;
  }
}

}  // namespace rcpu::transport
