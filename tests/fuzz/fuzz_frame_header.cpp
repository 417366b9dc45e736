// The 32-byte frame header (protocol/frame.h): decode_header on any bytes either throws
// ProtocolError or returns a header within its kind's limit that encodes back to the same bytes.
#include "fuzz_common.h"
#include "protocol/frame.h"
#include "protocol/status.h"

using namespace rcpu::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < kHeaderSize) return -1;  // recv_header always reads all 32 bytes first
  FrameHeader h;
  try {
    h = decode_header(data);
  } catch (const ProtocolError& e) {
    RCPU_FUZZ_CHECK(e.code == ErrorCode::bad_frame || e.code == ErrorCode::version_mismatch);
    return 0;
  }
  RCPU_FUZZ_CHECK(h.version == kVersion);
  RCPU_FUZZ_CHECK(std::string(kind_name(h.kind)) != "UNKNOWN");
  const std::uint64_t limit = h.kind == Kind::data   ? kMaxDataFrame
                              : h.kind == Kind::tile ? kMaxDataFrame + kTileHeaderSize
                                                     : kMaxControlPayload;
  RCPU_FUZZ_CHECK(h.payload_length <= limit);
  const HeaderBytes again = encode_header(h);
  RCPU_FUZZ_CHECK(std::memcmp(again.data(), data, kHeaderSize) == 0);
  return 0;
}
