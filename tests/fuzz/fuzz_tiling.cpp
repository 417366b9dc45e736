// Tiled Level-3 calls as the server receives them (server/blas/tiled_request.cpp): input = the
// client's stream, a REQUEST frame with kFlagTiled (TiledRequest) and then its TILE frames. A
// request that passes check_level3_request gets a TilePlan whose tiles lie inside their operands,
// cover each operand exactly once and fit tile_bytes; every TILE is checked against the plan
// (expect_tile) and its data lands inside the operand's packed buffer (AddressSanitizer checks
// every byte written); the output tiles go back and decode to the plan's.
#include "common/level3.h"
#include "fuzz_common.h"
#include "protocol/level3_request.h"
#include "protocol/tiling.h"
#include "protocol/wire.h"

using namespace rcpu;
using namespace rcpu::protocol;

namespace {

constexpr std::uint64_t kMaxHeld = 256 << 10;  // operand bytes this target receives into memory

const OperandShape& shape_of(const Level3Shapes& s, std::uint8_t op) { return op == 0 ? s.a : op == 1 ? s.b : s.c; }

// The tiles of `tiles` lie inside their operands, fit tile_bytes, and cover the operands in
// `covered` exactly (summed bytes equal the operand's bytes).
void check_tiles(const std::vector<TileDesc>& tiles, const Level3Shapes& s, Dtype t, std::uint64_t tile_bytes,
                 std::uint8_t only = 0xff) {
  std::uint64_t bytes[3] = {0, 0, 0};
  for (const TileDesc& tile : tiles) {
    RCPU_FUZZ_CHECK(tile.operand < 3 && (only == 0xff || tile.operand == only));
    const OperandShape& sh = shape_of(s, tile.operand);
    RCPU_FUZZ_CHECK(tile.rows >= 1 && tile.cols >= 1);
    RCPU_FUZZ_CHECK(tile.row0 + tile.rows <= std::uint64_t(sh.rows) && tile.col0 + tile.cols <= std::uint64_t(sh.cols));
    const std::uint64_t b = tile.rows * tile.cols * element_size(t);
    RCPU_FUZZ_CHECK(b <= tile_bytes);
    bytes[tile.operand] += b;
  }
  for (std::uint8_t op = 0; op < 3; ++op) {
    const OperandShape& sh = shape_of(s, op);
    if (bytes[op] != 0 || (only == 0xff ? sh.reads() : op == only)) RCPU_FUZZ_CHECK(bytes[op] == sh.bytes(t));
  }
}

void check_ends(const std::vector<std::size_t>& ends, std::size_t panels, std::size_t total) {
  RCPU_FUZZ_CHECK(ends.size() == panels);
  for (std::size_t j = 1; j < ends.size(); ++j) RCPU_FUZZ_CHECK(ends[j - 1] <= ends[j]);
  RCPU_FUZZ_CHECK(ends.empty() || ends.back() == total);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::InputConnection conn(data, size);
  try {
    const FrameHeader h = recv_header(conn);
    if (h.kind != Kind::request || !(h.flags & kFlagTiled)) return 0;
    TiledRequest treq;
    try {
      treq = recv_body<TiledRequest>(conn, h);
    } catch (const DecodeError&) {
      return 0;
    }
    const Request& req = treq.request;
    if (check_level3_request(h.opcode, req)) return 0;
    TilePlan plan;
    if (make_tile_plan(req.args, treq.panel_cols, treq.tile_bytes, plan)) return 0;

    const Level3Args args = level3_packed(req.args);
    const Level3Shapes s = level3_shapes(args);
    RCPU_FUZZ_CHECK(tiling_supported(args));
    RCPU_FUZZ_CHECK(plan.panels >= 1 && std::uint64_t(plan.panels) <= kMaxPanels);
    RCPU_FUZZ_CHECK(plan.inputs.size() <= kMaxTiles && plan.outputs.size() <= kMaxTiles);
    check_tiles(plan.inputs, s, args.dtype, treq.tile_bytes);
    check_tiles(plan.outputs, s, args.dtype, treq.tile_bytes, 2);
    check_ends(plan.ready_after, std::size_t(plan.panels), plan.inputs.size());
    check_ends(plan.outputs_end, std::size_t(plan.panels), plan.outputs.size());
    for (const TileDesc& t : plan.inputs) {
      std::uint8_t raw[kTileHeaderSize];
      encode_tile_header(t, raw);
      RCPU_FUZZ_CHECK(decode_tile_header(t.operand, raw) == t);
    }

    // Receive the input tiles the way the server does, into packed buffers of exactly the
    // operands' sizes (or dropped when they are large).
    const bool hold = total_bytes(req.operands) <= kMaxHeld;
    std::vector<std::uint8_t> buffers[3];
    std::uint64_t ld[3] = {1, 1, 1};
    for (const OperandDesc& d : req.operands) {
      if (hold) buffers[d.index].resize(d.bytes());
      ld[d.index] = d.rows;
    }
    const std::size_t elem = element_size(args.dtype);
    std::vector<std::uint8_t> scratch;
    for (const TileDesc& t : plan.inputs) {
      const FrameHeader th = recv_header(conn);
      expect_tile(conn, th, h.request_id, t, elem);
      recv_tile_data(conn, t, hold ? buffers[t.operand].data() : nullptr, ld[t.operand], elem, scratch);
    }
    if (!hold || treq.stripes != 1) return 0;
    // The output goes back tile by tile, read from the packed output buffer.
    conn.sent.clear();
    for (const TileDesc& t : plan.outputs)
      send_tile(conn, h.request_id, h.opcode, t, buffers[2].data(), ld[2], elem, scratch);
    const std::vector<fuzz::SentFrame> frames = fuzz::split_frames(conn.sent);
    RCPU_FUZZ_CHECK(frames.size() == plan.outputs.size());
    for (std::size_t i = 0; i < frames.size(); ++i) {
      RCPU_FUZZ_CHECK(frames[i].header.kind == Kind::tile && frames[i].payload.size() >= kTileHeaderSize);
      RCPU_FUZZ_CHECK(decode_tile_header(2, frames[i].payload.data()) == plan.outputs[i]);
    }
  } catch (const ProtocolError&) {
  } catch (const transport::TransportError&) {
  }
  return 0;
}
