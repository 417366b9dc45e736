// Link emulation (RCPU_LINK_GBPS): a Connection wrapper that paces any transport's connection to
// a given link speed, to reproduce 1 GbE, 10 GbE, InfiniBand QDR/FDR/EDR... on loopback. Every
// result measured with it must say "emulated".
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "transport/transport.h"

namespace rcpu::transport {

// RCPU_LINK_GBPS (read once per process): when set (> 0), every connection this process opens with
// connect() (never an accepted one) paces its sends and its receives with one token bucket per
// direction at that many Gbit/s. Returns the rate, 0 when off.
double emulated_link_gbps();

// `conn` itself when RCPU_LINK_GBPS is off, else `conn` wrapped in an EmulatedLink drawing from the
// process's two token buckets.
std::unique_ptr<Connection> emulate_link(std::unique_ptr<Connection> conn);

// Pacing is done in chunks of at most this many bytes, each waiting for its time slot.
constexpr std::size_t kPaceChunk = 256 * 1024;

// A token bucket: "virtual time" next_free advances by bytes / rate, with up to 512 KiB of credit
// so a short idle spell does not lose the link's capacity but no long burst at memory speed can
// happen. Shared by every connection of one direction, as they would share one real link.
class Pacer {
 public:
  explicit Pacer(double bytes_per_s) : rate_(bytes_per_s) {}
  // Waits until `bytes` more fit the link's rate.
  void take(std::size_t bytes);
  std::uint64_t bytes_taken() const;  // every byte take() was asked for

 private:
  mutable std::mutex mu_;
  double rate_;
  std::chrono::steady_clock::time_point next_free_{};
  std::uint64_t taken_ = 0;
};

// Sends and receives of `inner` in chunks of at most kPaceChunk bytes, each drawn from its
// direction's pacer first (sends) or right after it arrived (receives). Pacing the receives of one
// end is enough to throttle the peer's sends too (the transport's flow control), so setting it on
// the client alone caps both directions. Everything else goes straight to `inner`.
class EmulatedLink final : public Connection {
 public:
  EmulatedLink(std::unique_ptr<Connection> inner, Pacer& send, Pacer& recv)
      : inner_(std::move(inner)), send_(send), recv_(recv) {}

  void send_all(const void* data, std::size_t size) override;
  void send_vec(const iovec* iov, std::size_t count) override;
  void recv_exact(void* data, std::size_t size) override;
  void set_timeouts(int read_ms, int write_ms) override { inner_->set_timeouts(read_ms, write_ms); }
  void set_read_deadline(int ms) override { inner_->set_read_deadline(ms); }
  bool readable_or_closed() override { return inner_->readable_or_closed(); }
  void shutdown() override { inner_->shutdown(); }
  void hang_up(int drain_ms) override { inner_->hang_up(drain_ms); }
  void end_sending() override { inner_->end_sending(); }
  void abandon() override { inner_->abandon(); }
  std::string peer() const override { return inner_->peer(); }
  std::string verified_peer() const override { return inner_->verified_peer(); }

 private:
  std::unique_ptr<Connection> inner_;
  Pacer& send_;
  Pacer& recv_;
};

}  // namespace rcpu::transport
