// Every control message codec (protocol/messages.h, archive.h, fft_request.h), chosen by the first
// byte of the input: decoding any bytes either throws DecodeError or gives a message that encodes
// back to exactly the bytes it came from (one codec for both directions, so the archives agree).
#include "fuzz_common.h"
#include "protocol/fft_request.h"
#include "protocol/messages.h"

using namespace rcpu::protocol;

namespace {

template <class Msg>
void round_trip(const std::uint8_t* data, std::size_t size) {
  Msg m;
  try {
    m = decode<Msg>(data, size);
  } catch (const DecodeError&) {
    return;
  }
  const std::vector<std::uint8_t> again = encode(m);
  RCPU_FUZZ_CHECK(again.size() == size);
  RCPU_FUZZ_CHECK(size == 0 || std::memcmp(again.data(), data, size) == 0);
}

using Decoder = void (*)(const std::uint8_t*, std::size_t);
// The order is the seed writer's too (write_seeds.cpp): append, never reorder.
constexpr Decoder kDecoders[] = {
    round_trip<Hello>,      round_trip<SharedKeyHello>,    round_trip<AuthChallenge>, round_trip<AuthProof>,
    round_trip<HelloOk>,    round_trip<ErrorReply>,        round_trip<Request>,       round_trip<TiledRequest>,
    round_trip<Join>,       round_trip<Response>,          round_trip<LapackRequest>, round_trip<LapackResponse>,
    round_trip<FftRequest>, round_trip<StripedFftRequest>, round_trip<OperandDesc>,   round_trip<CallToken>,
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return -1;
  constexpr std::size_t n = sizeof kDecoders / sizeof kDecoders[0];
  if (data[0] >= n) return -1;
  kDecoders[data[0]](data + 1, size - 1);
  return 0;
}
