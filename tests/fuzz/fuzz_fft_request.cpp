// FFT REQUESTs as the server receives them (server/fftw/fftw_kind.cpp, fft_request.cpp,
// fft_stripes.cpp): input = u32 opcode + u8 flags (bit 0: kFlagStriped) + u64 the server's
// --max-request-bytes + the body (FftRequest, or StripedFftRequest when striped). A descriptor that
// passes check_fft_request must be packed, its strides must stay inside the bytes its operands
// carry, and the stripes of a striped call must cut both sides into ranges that cover them.
#include <cmath>

#include "common/fft.h"
#include "fuzz_common.h"
#include "protocol/fft_request.h"

using namespace rcpu;
using namespace rcpu::protocol;

namespace {

// The furthest element (plus one) a layout reaches: every loop's (n - 1) * stride added up. On the
// half-spectrum side of a real transform the last dimension holds n / 2 + 1 elements.
unsigned __int128 extent(const FftDescriptor& d, bool input) {
  const bool half = input ? d.kind == FftKind::c2r : d.kind == FftKind::r2c;
  unsigned __int128 last = 0;
  for (const std::vector<FftDim>* loops : {&d.dims, &d.howmany})
    for (std::size_t i = 0; i < loops->size(); ++i) {
      const FftDim& x = (*loops)[i];
      const std::int64_t n = half && loops == &d.dims && i + 1 == loops->size() ? x.n / 2 + 1 : x.n;
      const std::int64_t stride = input ? x.is : x.os;
      RCPU_FUZZ_CHECK(n >= 1 && stride >= 0);
      last += (unsigned __int128)(n - 1) * (unsigned __int128)stride;
    }
  return last + 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 13) return -1;
  const std::uint8_t* p = data;
  std::size_t left = size;
  const auto opcode = std::uint32_t(fuzz::take_le(p, left, 4));
  const bool striped = (fuzz::take_le(p, left, 1) & 1) != 0;
  const std::uint64_t max_bytes = fuzz::take_le(p, left, 8);
  StripedFftRequest sreq;
  try {
    if (striped)
      sreq = decode<StripedFftRequest>(p, left);
    else
      sreq.fft = decode<FftRequest>(p, left);
  } catch (const DecodeError&) {
    return 0;
  }
  if (striped && (sreq.stripes < 2 || sreq.stripes > kMaxStripes)) return 0;
  const FftRequest& req = sreq.fft;
  if (check_fft_request(opcode, req, max_bytes)) return 0;

  const FftDescriptor& d = req.desc;
  RCPU_FUZZ_CHECK(is_fft_opcode(opcode));
  const std::uint64_t in = fft_in_bytes(d), out = fft_out_bytes(d);
  RCPU_FUZZ_CHECK(in > 0 && out > 0 && in <= max_bytes && out <= max_bytes - in);
  const OperandDesc oin = fft_input_operand(d), oout = fft_output_operand(d);
  RCPU_FUZZ_CHECK(oin.bytes() == in && oout.bytes() == out);
  RCPU_FUZZ_CHECK(oin.rows * oin.elem_size == in && oout.rows * oout.elem_size == out);
  // Packed means: the strides reach exactly the elements the operands carry, no further.
  RCPU_FUZZ_CHECK(fft_packed(d) == d);
  RCPU_FUZZ_CHECK(extent(d, true) == oin.rows);
  RCPU_FUZZ_CHECK(extent(d, false) == oout.rows);
  const double flops = fft_flops(d);
  RCPU_FUZZ_CHECK(std::isfinite(flops) && flops >= 0);

  if (striped) {
    for (const std::uint64_t len : {in, out}) {
      std::uint64_t at = 0;
      for (std::uint64_t s = 0; s < sreq.stripes; ++s) {
        const auto [first, second] = fft_stripe_range(len, s, sreq.stripes);
        RCPU_FUZZ_CHECK(first == at && second >= first && second <= len);
        at = second;
      }
      RCPU_FUZZ_CHECK(at == len);
    }
  }

  const std::vector<std::uint8_t> again = striped ? encode(sreq) : encode(sreq.fft);
  RCPU_FUZZ_CHECK(again.size() == left && std::memcmp(again.data(), p, left) == 0);
  return 0;
}
