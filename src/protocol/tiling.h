// How a tiled (pipelined) Level-3 call is cut into tiles, and in which order they travel. Both ends
// derive the same TilePlan from (args, panel_cols, tile_bytes) of the TiledRequest, so the order
// is never negotiated tile by tile: the server checks every arriving TILE against the plan (the
// exact operand, row/column offset and size it expects next), which keeps validation trivial and
// means a tile can never land outside its operand.
//
// The output (C, or B of trmm/trsm) is cut into column panels of panel_cols columns. Input order:
//   1. every tile of A (each panel needs all of it);
//   2. gemm with transb != 'N': every tile of B (each panel needs rows of it: all columns);
//   3. for each panel j: its columns of B (gemm with transb == 'N', symm/hemm side 'L'), then its
//      columns of C when C is read (beta != 0; always for the B of trmm/trsm).
// Panel j can be computed as soon as the tiles up to ready_after[j] have arrived, and its result
// goes back as the output tiles of panel j, while the inputs of panels j+1, ... still arrive.
//
// Only calls whose output columns are independent are tiled: gemm, symm/hemm side 'L',
// trmm/trsm side 'L'. The rest (side 'R', the rank-k updates) use stop-and-wait REQUESTs.
//
// A tile is at most tile_bytes: whole columns when a column fits, else row pieces of one column.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/level3.h"

namespace rcpu::protocol {

inline constexpr std::uint64_t kMinTileBytes = 4096;
inline constexpr std::uint64_t kMaxPanels = 1u << 16;
// Bounds what a request can make the server allocate for its plan (about 40 bytes a tile) before
// any memory budget applies; the client grows tile_bytes until its plan fits.
inline constexpr std::size_t kMaxTiles = 1u << 18;

struct TileDesc {
  std::uint8_t operand = 0;  // 0 A, 1 B, 2 C (B of trmm/trsm)
  std::uint64_t row0 = 0, rows = 0, col0 = 0, cols = 0;
  bool operator==(const TileDesc&) const = default;
};

struct TilePlan {
  std::int64_t panel_cols = 0;
  std::int64_t panels = 0;
  std::vector<TileDesc> inputs;          // in sending order
  std::vector<std::size_t> ready_after;  // per panel: how many input tiles it needs
  std::vector<TileDesc> outputs;         // in sending order (panel by panel)
  std::vector<std::size_t> outputs_end;  // per panel: output tiles up to and including it
  std::int64_t panel_begin(std::int64_t j) const { return j * panel_cols; }
};

// Whether this (valid, non-trivial) call can be tiled at all.
bool tiling_supported(const Level3Args& args);

// Builds the plan; returns what is wrong instead (a panel width outside 1..n, a tile size outside
// kMinTileBytes..kMaxDataFrame, more than kMaxPanels panels or kMaxTiles tiles, or an
// unsupported call). `args` must pass level3_validate.
std::optional<std::string> make_tile_plan(const Level3Args& args, std::uint64_t panel_cols, std::uint64_t tile_bytes,
                                          TilePlan& plan);

// Encodes/decodes the TileHeader at the start of a TILE payload (row0, rows, col0, cols).
void encode_tile_header(const TileDesc& t, std::uint8_t out[32]);
TileDesc decode_tile_header(std::uint8_t operand, const std::uint8_t in[32]);

}  // namespace rcpu::protocol
