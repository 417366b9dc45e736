#include "protocol/wire.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace rcpu::protocol {
namespace {

// Columns shorter than this are packed into a staging buffer rather than given one iovec each:
// thousands of tiny iovecs cost more in the kernel than copying them.
constexpr std::uint64_t kMinColumnIovec = 4096;
// Frame size used when packing (bounds the staging buffer).
constexpr std::uint64_t kPackedFrame = 4ull << 20;

}  // namespace

std::uint64_t send_frame(Connection& c, FrameHeader h, const std::vector<std::uint8_t>& payload) {
  h.payload_length = payload.size();
  const HeaderBytes hb = encode_header(h);
  iovec iov[2] = {{const_cast<std::uint8_t*>(hb.data()), hb.size()},
                  {const_cast<std::uint8_t*>(payload.data()), payload.size()}};
  c.send_vec(iov, payload.empty() ? 1 : 2);
  return hb.size() + payload.size();
}

FrameHeader recv_header(Connection& c) {
  HeaderBytes hb;
  c.recv_exact(hb.data(), hb.size());
  return decode_header(hb.data());
}

std::vector<std::uint8_t> recv_payload(Connection& c, const FrameHeader& h) {
  if (h.kind == Kind::data || h.payload_length > kMaxControlPayload)
    throw ProtocolError(ErrorCode::bad_frame, "unexpected payload size");
  std::vector<std::uint8_t> payload(h.payload_length);
  if (!payload.empty()) c.recv_exact(payload.data(), payload.size());
  return payload;
}

std::uint64_t send_error(Connection& c, std::uint64_t request_id, std::uint32_t opcode, ErrorCode code,
                         const std::string& message, bool closing) {
  ErrorReply e{code, message.substr(0, kMaxMessageBytes)};
  return send_message(c, Kind::error, request_id, opcode, e, closing ? kFlagClosing : 0);
}

std::uint64_t send_matrix(Connection& c, std::uint64_t request_id, std::uint32_t opcode, std::uint32_t operand_index,
                          const void* base, std::uint64_t rows, std::uint64_t cols, std::uint64_t ld, std::size_t elem,
                          std::uint64_t max_frame) {
  const std::uint64_t col_bytes = rows * elem;
  const std::uint64_t total = col_bytes * cols;
  if (total == 0) return 0;
  const auto* p = static_cast<const std::uint8_t*>(base);
  const std::uint64_t stride = ld * elem;
  const bool contiguous = ld == rows || cols == 1;
  const bool pack = !contiguous && col_bytes < kMinColumnIovec;
  if (pack) max_frame = std::min(max_frame, kPackedFrame);
  max_frame = std::max<std::uint64_t>(max_frame, 1);

  std::unique_ptr<std::uint8_t[]> staging;
  if (pack) staging.reset(new std::uint8_t[std::min(total, max_frame)]);

  FrameHeader h;
  h.kind = Kind::data;
  h.request_id = request_id;
  h.opcode = opcode;
  h.flags = operand_index;
  std::uint64_t sent = 0;
  std::uint64_t col = 0, off = 0;  // position in the source: column, byte offset inside it
  std::vector<iovec> iov;
  while (sent < total) {
    const std::uint64_t frame = std::min(max_frame, total - sent);
    h.payload_length = frame;
    const HeaderBytes hb = encode_header(h);
    iov.clear();
    iov.push_back({const_cast<std::uint8_t*>(hb.data()), hb.size()});
    if (contiguous) {
      iov.push_back({const_cast<std::uint8_t*>(p + sent), frame});
    } else {
      std::uint64_t filled = 0;
      while (filled < frame) {
        const std::uint64_t take = std::min(col_bytes - off, frame - filled);
        const std::uint8_t* src = p + col * stride + off;
        if (pack)
          std::memcpy(staging.get() + filled, src, take);
        else
          iov.push_back({const_cast<std::uint8_t*>(src), take});
        filled += take;
        off += take;
        if (off == col_bytes) {
          ++col;
          off = 0;
        }
      }
      if (pack) iov.push_back({staging.get(), frame});
    }
    c.send_vec(iov.data(), iov.size());
    sent += frame;
  }
  const std::uint64_t frames = (total + max_frame - 1) / max_frame;
  return total + frames * kHeaderSize;
}

namespace {

// recv_matrix, reporting pieces when `arrived` is set (then `out` is not null).
std::uint64_t recv_data(Connection& c, std::uint64_t request_id, std::uint32_t operand_index, std::uint8_t* out,
                        std::uint64_t bytes, std::uint64_t piece,
                        const std::function<void(std::uint64_t, std::uint64_t)>* arrived) {
  std::unique_ptr<std::uint8_t[]> scratch;
  constexpr std::uint64_t kScratch = 1 << 20;
  std::uint64_t got = 0, wire = 0, reported = 0;
  while (got < bytes) {
    const FrameHeader h = recv_header(c);
    wire += kHeaderSize;
    if (h.kind != Kind::data)
      throw ProtocolError(ErrorCode::bad_frame, std::string("expected DATA, got ") + kind_name(h.kind));
    if (h.request_id != request_id || h.flags != operand_index)
      throw ProtocolError(ErrorCode::bad_frame, "DATA frame for another request or operand");
    if (h.payload_length == 0 || h.payload_length > bytes - got)
      throw ProtocolError(ErrorCode::bad_frame, "DATA frame longer than the operand");
    if (arrived) {
      // Cut the frame where pieces end, so each piece is announced as soon as it is complete.
      for (std::uint64_t left = h.payload_length; left > 0;) {
        const std::uint64_t n = std::min(left, reported + piece - got);
        c.recv_exact(out + got, n);
        got += n;
        left -= n;
        if (got - reported == piece || got == bytes) {
          (*arrived)(reported, got - reported);
          reported = got;
        }
      }
    } else if (out) {
      c.recv_exact(out + got, h.payload_length);
      got += h.payload_length;
    } else {
      if (!scratch) scratch.reset(new std::uint8_t[kScratch]);
      for (std::uint64_t left = h.payload_length; left > 0;) {
        const std::uint64_t n = std::min(left, kScratch);
        c.recv_exact(scratch.get(), n);
        left -= n;
      }
      got += h.payload_length;
    }
    wire += h.payload_length;
  }
  return wire;
}

}  // namespace

std::uint64_t recv_matrix(Connection& c, std::uint64_t request_id, std::uint32_t operand_index, void* dst,
                          std::uint64_t bytes) {
  return recv_data(c, request_id, operand_index, static_cast<std::uint8_t*>(dst), bytes, 0, nullptr);
}

std::uint64_t recv_matrix_pieces(Connection& c, std::uint64_t request_id, std::uint32_t operand_index, void* dst,
                                 std::uint64_t bytes, std::uint64_t piece,
                                 const std::function<void(std::uint64_t, std::uint64_t)>& arrived) {
  if (!dst || piece == 0) throw std::invalid_argument("recv_matrix_pieces: null destination or zero piece");
  return recv_data(c, request_id, operand_index, static_cast<std::uint8_t*>(dst), bytes, piece, &arrived);
}

TileFrameHeaders tile_frame_headers(std::uint64_t request_id, std::uint32_t opcode, const TileDesc& t,
                                    std::uint64_t bytes) {
  FrameHeader h;
  h.kind = Kind::tile;
  h.request_id = request_id;
  h.opcode = opcode;
  h.flags = t.operand;
  h.payload_length = kTileHeaderSize + bytes;
  TileFrameHeaders out{encode_header(h), {}};
  encode_tile_header(t, out.tile);
  return out;
}

std::uint64_t send_tile(Connection& c, std::uint64_t request_id, std::uint32_t opcode, const TileDesc& t,
                        const void* base, std::uint64_t ld, std::size_t elem, std::vector<std::uint8_t>& scratch) {
  const std::uint64_t col_bytes = t.rows * elem, bytes = col_bytes * t.cols;
  TileFrameHeaders hd = tile_frame_headers(request_id, opcode, t, bytes);
  const auto* p = static_cast<const std::uint8_t*>(base) + (t.col0 * ld + t.row0) * elem;
  const std::uint64_t stride = ld * elem;
  iovec fixed[3] = {{hd.frame.data(), hd.frame.size()}, {hd.tile, kTileHeaderSize}, {}};
  if (t.cols == 1 || ld == t.rows) {
    fixed[2] = {const_cast<std::uint8_t*>(p), bytes};
    c.send_vec(fixed, 3);
  } else if (col_bytes < kMinColumnIovec) {
    scratch.resize(bytes);
    for (std::uint64_t j = 0; j < t.cols; ++j) std::memcpy(scratch.data() + j * col_bytes, p + j * stride, col_bytes);
    fixed[2] = {scratch.data(), bytes};
    c.send_vec(fixed, 3);
  } else {
    std::vector<iovec> iov(fixed, fixed + 2);
    iov.reserve(2 + t.cols);
    for (std::uint64_t j = 0; j < t.cols; ++j) iov.push_back({const_cast<std::uint8_t*>(p + j * stride), col_bytes});
    c.send_vec(iov.data(), iov.size());
  }
  return kHeaderSize + kTileHeaderSize + bytes;
}

void expect_tile(Connection& c, const FrameHeader& h, std::uint64_t request_id, const TileDesc& expected,
                 std::size_t elem) {
  if (h.kind != Kind::tile)
    throw ProtocolError(ErrorCode::bad_frame, std::string("expected TILE, got ") + kind_name(h.kind));
  if (h.request_id != request_id || h.flags != expected.operand)
    throw ProtocolError(ErrorCode::bad_frame, "TILE for another request or operand");
  if (h.payload_length != kTileHeaderSize + expected.rows * expected.cols * elem)
    throw ProtocolError(ErrorCode::bad_frame, "TILE of unexpected length");
  std::uint8_t th[kTileHeaderSize];
  c.recv_exact(th, sizeof th);
  if (!(decode_tile_header(std::uint8_t(h.flags), th) == expected))
    throw ProtocolError(ErrorCode::bad_frame, "TILE out of order or outside its operand");
}

void recv_tile_data(Connection& c, const TileDesc& t, void* base, std::uint64_t ld, std::size_t elem,
                    std::vector<std::uint8_t>& scratch) {
  const std::uint64_t col_bytes = t.rows * elem, bytes = col_bytes * t.cols;
  if (!base) {
    constexpr std::uint64_t kChunk = 1 << 20;
    scratch.resize(std::min(bytes, kChunk));
    for (std::uint64_t left = bytes; left > 0;) {
      const std::uint64_t n = std::min(left, kChunk);
      c.recv_exact(scratch.data(), n);
      left -= n;
    }
    return;
  }
  auto* p = static_cast<std::uint8_t*>(base) + (t.col0 * ld + t.row0) * elem;
  const std::uint64_t stride = ld * elem;
  if (t.cols == 1 || ld == t.rows) {
    c.recv_exact(p, bytes);
  } else if (col_bytes < kMinColumnIovec) {
    scratch.resize(bytes);
    c.recv_exact(scratch.data(), bytes);
    for (std::uint64_t j = 0; j < t.cols; ++j) std::memcpy(p + j * stride, scratch.data() + j * col_bytes, col_bytes);
  } else {
    for (std::uint64_t j = 0; j < t.cols; ++j) c.recv_exact(p + j * stride, col_bytes);
  }
}

}  // namespace rcpu::protocol
