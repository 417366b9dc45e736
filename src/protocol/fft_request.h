// FFT requests (docs/protocol.md, "FFT requests"): a REQUEST frame whose opcode is one of
// spec/offload/fftw.txt's and whose body is an FftRequest; then the packed input as DATA frames of
// operand 0; the server answers RESPONSE (output = operand 1, packed) and the output's DATA frames,
// or ERROR. The descriptor on the wire is always the packed one (common/fft.h, fft_packed): the
// client gathers the application's strided arrays, the server never sees their layout.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "common/fft.h"
#include "protocol/archive.h"
#include "protocol/messages.h"

namespace rcpu {
template <class Ar>
void codec(Ar& ar, FftDim& d) {
  ar(d.n, d.is, d.os);
}
template <class Ar>
void codec(Ar& ar, FftDescriptor& d) {
  std::int32_t sign = d.sign;
  ar(d.kind, d.precision, sign);
  d.sign = sign;
  ar(protocol::bounded(d.dims, std::size_t(kFftMaxRank)),
     protocol::bounded(d.howmany, std::size_t(kFftMaxHowmanyRank)));
}
}  // namespace rcpu

namespace rcpu::protocol {

struct FftRequest {
  FftDescriptor desc;               // packed (fft_packed of the client's descriptor)
  std::uint32_t planner_flags = 0;  // the application's FFTW planner flags (the server uses the rigor bits)
};
template <class Ar>
void codec(Ar& ar, FftRequest& m) {
  ar(m.desc, m.planner_flags);
}

// REQUEST with kFlagStriped: one transform whose packed input and output are cut into `stripes`
// contiguous byte ranges, stripe s carrying bytes [s*len/stripes, (s+1)*len/stripes) of each side
// (fft_stripe_range). Stripe 0 is this connection; stripes 1.. are other connections of the client
// that send JOIN(token, s) with kFlagStriped, then their input range as DATA frames of operand 0,
// and receive their output range as DATA frames of operand 1. Why: one TCP stream is far slower
// than several (docs/protocol.md), and a single large transform cannot be cut into requests.
struct StripedFftRequest {
  FftRequest fft;
  std::uint32_t stripes = 2;  // 2 .. kMaxStripes
  CallToken token;
};
template <class Ar>
void codec(Ar& ar, StripedFftRequest& m) {
  ar(m.fft, m.stripes, m.token);
}

// Bytes [first, second) of a side of `len` bytes that stripe s of k carries.
inline std::pair<std::uint64_t, std::uint64_t> fft_stripe_range(std::uint64_t len, std::uint64_t s, std::uint64_t k) {
  // floor(len * s / k), written so that len * s cannot overflow.
  auto at = [&](std::uint64_t i) { return (len / k) * i + (len % k) * i / k; };
  return {at(s), at(s + 1)};
}

// The opcode of a transform kind and precision, and back.
std::uint32_t fft_opcode(FftKind kind, FftPrecision precision);
bool is_fft_opcode(std::uint32_t opcode);

// The operands as they travel: input = index 0 (role in), output = index 1 (role out), each one
// column of bytes/elem elements.
OperandDesc fft_input_operand(const FftDescriptor& d);
OperandDesc fft_output_operand(const FftDescriptor& d);

// Checks a decoded request before anything is allocated: the opcode matches the descriptor's kind
// and precision, fft_validate passes within `max_bytes`, and the descriptor is packed.
std::optional<std::string> check_fft_request(std::uint32_t opcode, const FftRequest& req, std::uint64_t max_bytes);

}  // namespace rcpu::protocol
