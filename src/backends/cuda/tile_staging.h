// The CUDA backend's backend::TileStaging: a streamed call's tiles go from the socket into a few
// small page-locked slots per connection and from there by DMA straight into the call's device
// operands; results come back the same way, slot by slot, while earlier slots are being sent.
// Why (docs/gpu.md): loopback copies and the GPU's DMA compete for DRAM. Through
// whole-operand host buffers every byte is written to DRAM by the receive, read back by the DMA
// (and the results written by the DMA, read back by the send); a ring of a few MiB per
// connection stays in the last-level cache, so those round trips never reach DRAM.
#pragma once

#include <cuda_runtime.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "backends/backend.h"

namespace rcpu::backend::cuda {

// The page-locked slots, per stripe and direction, kept by a backend across calls (one call
// uses them at a time: the backend's mutex). Each slot's event marks the end of the last DMA that
// reads or writes it.
class SlotRings {
 public:
  struct Slot {
    std::uint8_t* host = nullptr;
    cudaEvent_t copied = nullptr;
    bool queued = false;  // a DMA on the slot was queued since the last wait
  };
  struct Ring {
    std::vector<Slot> slots;
    std::size_t next = 0;
    std::deque<std::size_t> fetched;  // output: slots fetched and not taken, oldest first
  };
  struct Stripe {
    Ring in, out;
    std::uint8_t* memory = nullptr;  // one page-locked block for all of the stripe's slots
    Stripe() = default;
    Stripe(const Stripe&) = delete;
    Stripe& operator=(const Stripe&) = delete;
    ~Stripe();  // waits for the slots' last copies, then frees them
  };

  SlotRings(std::size_t slot_bytes, int slots_per_ring) : slot_bytes_(slot_bytes), slots_(slots_per_ring) {}
  SlotRings(const SlotRings&) = delete;
  SlotRings& operator=(const SlotRings&) = delete;

  std::size_t slot_bytes() const { return slot_bytes_; }
  // Gives stripes [0, stripes) their slots, on this thread's current device, and resets every
  // ring's position. False (why set) when page-locked memory or events cannot be had; the slots
  // already made stay for the next call.
  bool ensure(int stripes, std::string* why);
  Stripe& stripe(int s) { return *stripes_.at(std::size_t(s)); }

 private:
  std::size_t slot_bytes_;
  int slots_;
  std::vector<std::unique_ptr<Stripe>> stripes_;
};

// One streamed call's staging: copies between the slots and the call's device operands (`dev`,
// packed as on the host) on the backend's copy streams h2d and d2h. Input copies are queued on h2d
// before the server counts their tile, so an event the call records on h2d afterwards (a panel's
// inputs) follows them.
class DeviceTileStaging final : public TileStaging {
 public:
  DeviceTileStaging(SlotRings& rings, int device, cudaStream_t h2d, cudaStream_t d2h, char* const dev[3])
      : rings_(rings), device_(device), h2d_(h2d), d2h_(d2h), dev_{dev[0], dev[1], dev[2]} {}

  std::size_t slot_bytes() const override { return rings_.slot_bytes(); }
  void* input_slot(int stripe) override;
  void input_filled(int stripe, int operand, std::uint64_t offset, std::uint64_t bytes) noexcept override;
  void fetch_output(int stripe, std::uint64_t offset, std::uint64_t bytes) override;
  const void* take_output(int stripe) override;

  // The first failure of an input copy, if any: the call throws it from its next start_panel.
  std::optional<std::string> input_failure();
  // From now on arriving input is dropped (the call failed; the server drains the rest).
  void stop_input() { stopped_.store(true); }

 private:
  void fail_input(const std::string& what, cudaError_t e) noexcept;

  SlotRings& rings_;
  const int device_;
  cudaStream_t h2d_, d2h_;
  char* dev_[3];
  std::atomic<bool> stopped_{false};
  std::mutex failure_mu_;
  std::string failure_;
};

}  // namespace rcpu::backend::cuda
