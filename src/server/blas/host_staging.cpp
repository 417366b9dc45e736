#include "server/blas/host_staging.h"

#include <cstdlib>
#include <cstring>

#include "common/log.h"

namespace rcpu::server::blas {

HostStaging::HostStaging(std::uint8_t* const buf[3], int stripes, std::size_t slot_bytes)
    : buf_{buf[0], buf[1], buf[2]}, slot_bytes_(slot_bytes), stripes_(std::size_t(stripes)) {
  for (Stripe& s : stripes_) {
    s.in.resize(slot_bytes);
    for (auto& o : s.out) o.resize(slot_bytes);
  }
}

void* HostStaging::input_slot(int stripe) { return stripes_.at(std::size_t(stripe)).in.data(); }

void HostStaging::input_filled(int stripe, int operand, std::uint64_t offset, std::uint64_t bytes) noexcept {
  // A server breaking the contract is a bug the suites must see, not a wrong result.
  if (operand < 0 || operand > 2 || bytes > slot_bytes_ || !buf_[operand]) {
    log::error("HostStaging: input piece outside the contract");
    std::abort();
  }
  std::memcpy(buf_[operand] + offset, stripes_[std::size_t(stripe)].in.data(), bytes);
}

void HostStaging::fetch_output(int stripe, std::uint64_t offset, std::uint64_t bytes) {
  Stripe& s = stripes_.at(std::size_t(stripe));
  if (bytes > slot_bytes_ || s.fetched.size() >= 2)
    throw backend::BackendError("HostStaging: output fetch outside the contract");
  const int slot = s.next_out;
  s.next_out ^= 1;
  std::memcpy(s.out[slot].data(), buf_[2] + offset, bytes);
  s.fetched.push_back(slot);
}

const void* HostStaging::take_output(int stripe) {
  Stripe& s = stripes_.at(std::size_t(stripe));
  if (s.fetched.empty()) throw backend::BackendError("HostStaging: take_output with nothing fetched");
  const int slot = s.fetched.front();
  s.fetched.pop_front();
  return s.out[slot].data();
}

}  // namespace rcpu::server::blas
