// Testing only: a TileStaging over the server's own host buffers, with slots in ordinary memory.
// RCPUD_TEST_STAGING_BYTES=N (core/testing.h; installed by blas/test_hooks.h) makes rcpud move every
// tiled call whose backend offers no staging (the CPU backend) through slots of N bytes of this
// kind, so the CPU suites run the server's slot path (pieces of tiles, output fetched ahead of the
// send, the torn-tile hook) that the CUDA backend takes on a GPU machine. It checks the contract
// of backend::TileStaging as it goes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "backends/backend.h"

namespace rcpu::server::blas {

class HostStaging final : public backend::TileStaging {
 public:
  // `buf` are the call's packed host operands (A, B, output), as TiledCall::buf.
  HostStaging(std::uint8_t* const buf[3], int stripes, std::size_t slot_bytes);

  std::size_t slot_bytes() const override { return slot_bytes_; }
  void* input_slot(int stripe) override;
  void input_filled(int stripe, int operand, std::uint64_t offset, std::uint64_t bytes) noexcept override;
  void fetch_output(int stripe, std::uint64_t offset, std::uint64_t bytes) override;
  const void* take_output(int stripe) override;

 private:
  struct Stripe {
    std::vector<std::uint8_t> in;
    std::vector<std::uint8_t> out[2];
    std::deque<int> fetched;  // output slots fetched, not taken, oldest first
    int next_out = 0;
  };
  std::uint8_t* buf_[3];
  std::size_t slot_bytes_;
  std::vector<Stripe> stripes_;
};

}  // namespace rcpu::server::blas
