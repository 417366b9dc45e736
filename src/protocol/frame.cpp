#include "protocol/frame.h"

#include <cstring>
#include <string>

#include "protocol/status.h"

namespace rcpu::protocol {
namespace {

template <class T>
void put_le(std::uint8_t* p, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) p[i] = std::uint8_t(std::uint64_t(v) >> (8 * i));
}
template <class T>
T get_le(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v |= std::uint64_t(p[i]) << (8 * i);
  return T(v);
}

}  // namespace

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::hello:
      return "HELLO";
    case Kind::hello_ok:
      return "HELLO_OK";
    case Kind::request:
      return "REQUEST";
    case Kind::response:
      return "RESPONSE";
    case Kind::data:
      return "DATA";
    case Kind::error:
      return "ERROR";
    case Kind::bye:
      return "BYE";
    case Kind::tile:
      return "TILE";
    case Kind::join:
      return "JOIN";
    case Kind::auth_challenge:
      return "AUTH_CHALLENGE";
    case Kind::auth_proof:
      return "AUTH_PROOF";
  }
  return "UNKNOWN";
}

HeaderBytes encode_header(const FrameHeader& h) {
  HeaderBytes b{};
  std::memcpy(b.data(), kMagicBytes, 4);
  put_le<std::uint16_t>(b.data() + 4, h.version);
  put_le<std::uint16_t>(b.data() + 6, std::uint16_t(h.kind));
  put_le<std::uint64_t>(b.data() + 8, h.request_id);
  put_le<std::uint32_t>(b.data() + 16, h.opcode);
  put_le<std::uint32_t>(b.data() + 20, h.flags);
  put_le<std::uint64_t>(b.data() + 24, h.payload_length);
  return b;
}

FrameHeader decode_header(const std::uint8_t* b) {
  if (std::memcmp(b, kMagicBytes, 4) != 0) throw ProtocolError(ErrorCode::bad_frame, "bad magic (not an rcpu peer)");
  FrameHeader h;
  h.version = get_le<std::uint16_t>(b + 4);
  const auto kind = get_le<std::uint16_t>(b + 6);
  h.request_id = get_le<std::uint64_t>(b + 8);
  h.opcode = get_le<std::uint32_t>(b + 16);
  h.flags = get_le<std::uint32_t>(b + 20);
  h.payload_length = get_le<std::uint64_t>(b + 24);
  if (h.version != kVersion)
    throw ProtocolError(ErrorCode::version_mismatch, "protocol version " + std::to_string(h.version) +
                                                         " not supported (this side speaks " +
                                                         std::to_string(kVersion) + ")");
  if (kind < std::uint16_t(Kind::hello) || kind > std::uint16_t(Kind::auth_proof))
    throw ProtocolError(ErrorCode::bad_frame, "unknown frame kind " + std::to_string(kind));
  h.kind = Kind(kind);
  const std::uint64_t limit = h.kind == Kind::data   ? kMaxDataFrame
                              : h.kind == Kind::tile ? kMaxDataFrame + kTileHeaderSize
                                                     : kMaxControlPayload;
  if (h.payload_length > limit)
    throw ProtocolError(ErrorCode::bad_frame, std::string(kind_name(h.kind)) + " frame of " +
                                                  std::to_string(h.payload_length) + " bytes exceeds the limit of " +
                                                  std::to_string(limit));
  return h;
}

}  // namespace rcpu::protocol
