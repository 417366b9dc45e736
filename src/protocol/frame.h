// The frame header of protocol v2: 32 bytes, fixed width, little-endian, in this order:
//   u32 magic "RCPU" | u16 version | u16 kind | u64 request_id | u32 opcode | u32 flags |
//   u64 payload_length
// Control frames (everything but DATA) carry at most kMaxControlPayload bytes; DATA frames carry
// raw operand bytes, at most kMaxDataFrame each. decode_header() enforces both before anyone
// allocates a byte for the payload.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace rcpu::protocol {

inline constexpr std::uint8_t kMagicBytes[4] = {'R', 'C', 'P', 'U'};
inline constexpr std::uint16_t kVersion = 2;
inline constexpr std::size_t kHeaderSize = 32;
inline constexpr std::uint64_t kMaxControlPayload = 64 * 1024;
inline constexpr std::uint64_t kMaxDataFrame = 64ull << 20;

enum class Kind : std::uint16_t {
  hello = 1,            // client -> server, first frame: version, opcode table hash, capabilities, auth
  hello_ok = 2,         // server -> client: accepted
  request = 3,          // client -> server: one call, then its input operands as DATA frames
  response = 4,         // server -> client: status and timing, then the output operand as DATA frames
  data = 5,             // operand bytes; flags = operand index (0 = A, 1 = B, 2 = C)
  error = 6,            // either way: code + message; flags may carry kFlagClosing
  bye = 7,              // client -> server: the connection ends cleanly
  tile = 8,             // either way, tiled (pipelined) calls only: flags = operand index; payload =
                        // TileHeader (kTileHeaderSize bytes) + the tile's bytes, packed column-major
  join = 9,             // client -> server, on another connection of the same client: Join (this
                        // connection carries stripe `stripe` of the tiled call `token`)
  auth_challenge = 10,  // server -> client, shared-key handshake: AuthChallenge
  auth_proof = 11,      // client -> server, shared-key handshake: AuthProof
};
const char* kind_name(Kind kind);

// On an ERROR frame: the sender closes the connection right after it (the framing can no longer be
// trusted, or a limit forbids reading what follows). Without it the connection stays usable.
inline constexpr std::uint32_t kFlagClosing = 1u;
// On a REQUEST frame: the payload is a TiledRequest and the operands travel as TILE frames in the
// order of the call's TilePlan (protocol/tiling.h); results come back as TILE frames, then RESPONSE.
inline constexpr std::uint32_t kFlagTiled = 2u;
// On a REQUEST frame of an FFT opcode: the payload is a StripedFftRequest and the packed input and
// output travel as contiguous byte ranges over `stripes` connections (protocol/fft_request.h). On a
// JOIN frame: the JOIN names a striped FFT call (without it, a tiled call).
inline constexpr std::uint32_t kFlagStriped = 4u;
// A TILE payload starts with the tile's place in its operand: u64 row0, rows, col0, cols.
inline constexpr std::uint64_t kTileHeaderSize = 32;

struct FrameHeader {
  std::uint16_t version = kVersion;
  Kind kind = Kind::error;
  std::uint64_t request_id = 0;
  std::uint32_t opcode = 0;
  std::uint32_t flags = 0;
  std::uint64_t payload_length = 0;
};

using HeaderBytes = std::array<std::uint8_t, kHeaderSize>;

HeaderBytes encode_header(const FrameHeader& h);
// Throws ProtocolError: bad magic or unknown kind (bad_frame), another version (version_mismatch),
// a payload longer than its kind allows (bad_frame).
FrameHeader decode_header(const std::uint8_t* bytes);

}  // namespace rcpu::protocol
