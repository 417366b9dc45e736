// Frames on a transport connection: sending and receiving whole control messages, and operand
// bytes as a sequence of DATA frames.
//
// Operands travel packed (column-major, leading dimension = rows) in DATA frames of at most
// kMaxDataFrame bytes; a frame may end in the middle of a column. The sender gathers columns
// straight from the caller's memory (no copy of a contiguous operand at all); the receiver checks
// every DATA header against what it expects (request id, operand index, bytes still missing).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "protocol/archive.h"
#include "protocol/frame.h"
#include "protocol/messages.h"
#include "protocol/status.h"
#include "protocol/tiling.h"
#include "transport/transport.h"

namespace rcpu::protocol {

using transport::Connection;

// Sends one frame; returns the bytes written (header included).
std::uint64_t send_frame(Connection& c, FrameHeader h, const std::vector<std::uint8_t>& payload);

template <class Msg>
std::uint64_t send_message(Connection& c, Kind kind, std::uint64_t request_id, std::uint32_t opcode, const Msg& m,
                           std::uint32_t flags = 0) {
  FrameHeader h;
  h.kind = kind;
  h.request_id = request_id;
  h.opcode = opcode;
  h.flags = flags;
  return send_frame(c, h, encode(m));
}

// Reads and checks one header (see decode_header). Transport errors pass through as TransportError.
FrameHeader recv_header(Connection& c);
// Reads the payload of a control frame (its length was bounded by recv_header).
std::vector<std::uint8_t> recv_payload(Connection& c, const FrameHeader& h);

template <class Msg>
Msg recv_body(Connection& c, const FrameHeader& h) {
  return decode<Msg>(recv_payload(c, h));
}

// Sends an ERROR frame; `closing` sets kFlagClosing (the sender hangs up right after).
std::uint64_t send_error(Connection& c, std::uint64_t request_id, std::uint32_t opcode, ErrorCode code,
                         const std::string& message, bool closing);

// Sends the rows x cols block at `base` (column-major, leading dimension `ld` elements, `elem`
// bytes per element) as DATA frames with flags = operand_index. Returns bytes written.
std::uint64_t send_matrix(Connection& c, std::uint64_t request_id, std::uint32_t opcode, std::uint32_t operand_index,
                          const void* base, std::uint64_t rows, std::uint64_t cols, std::uint64_t ld, std::size_t elem,
                          std::uint64_t max_frame = kMaxDataFrame);

// Receives `bytes` bytes of one operand from DATA frames into `dst` (packed), or discards them
// when `dst` is null. Any other frame, or a DATA frame for another request/operand or longer than
// what is missing, throws ProtocolError(bad_frame). Returns bytes read (headers included).
std::uint64_t recv_matrix(Connection& c, std::uint64_t request_id, std::uint32_t operand_index, void* dst,
                          std::uint64_t bytes);

// recv_matrix into `dst` (not null) that also reports progress: `arrived(offset, n)` is called for
// the consecutive pieces [0, piece), [piece, 2·piece) ... of the `bytes` (the last one shorter),
// each once it is in memory, whatever the sender's DATA framing. Lets a consumer (a copy to a GPU)
// start on the front of an operand while the rest is still on the wire. `piece` >= 1.
std::uint64_t recv_matrix_pieces(Connection& c, std::uint64_t request_id, std::uint32_t operand_index, void* dst,
                                 std::uint64_t bytes, std::uint64_t piece,
                                 const std::function<void(std::uint64_t offset, std::uint64_t n)>& arrived);

// ---- tiles (kFlagTiled calls) ----
// The block of a tile inside an operand held in memory at `base` with leading dimension `ld`
// (elements): element (row0 + i, col0 + j) is at base + ((col0 + j) * ld + row0 + i) * elem.

// The two headers that open the TILE frame of request `request_id` carrying tile `t` with
// `bytes` of data after them (send_tile; a test hook that sends a torn one).
struct TileFrameHeaders {
  HeaderBytes frame;
  std::uint8_t tile[kTileHeaderSize];
};
TileFrameHeaders tile_frame_headers(std::uint64_t request_id, std::uint32_t opcode, const TileDesc& t,
                                    std::uint64_t bytes);

// Sends one TILE frame straight from that memory: one iovec for a contiguous tile, one per column
// for a strided one; columns shorter than 4 KiB are gathered into `scratch` instead (thousands of
// tiny iovecs cost more than copying them). Returns bytes written.
std::uint64_t send_tile(Connection& c, std::uint64_t request_id, std::uint32_t opcode, const TileDesc& t,
                        const void* base, std::uint64_t ld, std::size_t elem, std::vector<std::uint8_t>& scratch);

// After recv_header returned `h`: checks that it is the TILE `expected` of request `request_id`
// (kind, id, operand, payload length, and the tile header equal to `expected`), else throws
// ProtocolError(bad_frame). Consumes the tile header, not the data.
void expect_tile(Connection& c, const FrameHeader& h, std::uint64_t request_id, const TileDesc& expected,
                 std::size_t elem);

// Receives the data of tile `t` into memory laid out as above (null `base`: read and drop).
void recv_tile_data(Connection& c, const TileDesc& t, void* base, std::uint64_t ld, std::size_t elem,
                    std::vector<std::uint8_t>& scratch);

}  // namespace rcpu::protocol
