#include "protocol/tiling.h"

#include <algorithm>

#include "protocol/frame.h"

namespace rcpu::protocol {
namespace {

const OperandShape& shape_of(const Level3Shapes& s, int op) { return op == 0 ? s.a : op == 1 ? s.b : s.c; }

// Appends the tiles of columns [c0, c1) of an operand with `rows` rows; false if over kMaxTiles.
bool add_region(std::vector<TileDesc>& out, std::uint8_t op, std::uint64_t rows, std::uint64_t c0, std::uint64_t c1,
                std::uint64_t elem, std::uint64_t tile_bytes) {
  if (rows == 0 || c1 <= c0) return true;
  const std::uint64_t col_bytes = rows * elem;
  if (col_bytes <= tile_bytes) {
    const std::uint64_t per = std::max<std::uint64_t>(1, tile_bytes / col_bytes);
    for (std::uint64_t c = c0; c < c1; c += per) {
      if (out.size() >= kMaxTiles) return false;
      out.push_back({op, 0, rows, c, std::min(per, c1 - c)});
    }
  } else {
    const std::uint64_t per_rows = std::max<std::uint64_t>(1, tile_bytes / elem);
    for (std::uint64_t c = c0; c < c1; ++c)
      for (std::uint64_t r = 0; r < rows; r += per_rows) {
        if (out.size() >= kMaxTiles) return false;
        out.push_back({op, r, std::min(per_rows, rows - r), c, 1});
      }
  }
  return true;
}

void put64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = std::uint8_t(v >> (8 * i));
}
std::uint64_t get64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t(p[i]) << (8 * i);
  return v;
}

}  // namespace

bool tiling_supported(const Level3Args& x) {
  switch (x.family) {
    case L3Family::gemm:
      return true;
    case L3Family::symm:
    case L3Family::hemm:
    case L3Family::trmm:
    case L3Family::trsm:
      return x.side == 'L';
    default:
      return false;
  }
}

std::optional<std::string> make_tile_plan(const Level3Args& x, std::uint64_t panel_cols, std::uint64_t tile_bytes,
                                          TilePlan& plan) {
  if (!tiling_supported(x)) return "this call cannot be tiled";
  if (tile_bytes < kMinTileBytes || tile_bytes > kMaxDataFrame) return "tile size out of range";
  const Level3Shapes s = level3_shapes(x);
  const OperandShape& out = s.c;
  const std::uint64_t n = std::uint64_t(out.cols);
  if (n == 0 || out.rows == 0) return "empty output";
  if (panel_cols == 0 || panel_cols > n) return "panel width out of range";
  const std::uint64_t panels = (n + panel_cols - 1) / panel_cols;
  if (panels > kMaxPanels) return "too many panels";
  const std::uint64_t elem = element_size(x.dtype);
  // B travels panel by panel when its columns are the output's columns.
  const bool b_by_panel =
      (x.family == L3Family::gemm && x.transb == 'N') || x.family == L3Family::symm || x.family == L3Family::hemm;

  plan = TilePlan{};
  plan.panel_cols = std::int64_t(panel_cols);
  plan.panels = std::int64_t(panels);
  auto whole = [&](int op) {
    const OperandShape& sh = shape_of(s, op);
    return !sh.reads() || add_region(plan.inputs, std::uint8_t(op), std::uint64_t(sh.rows), 0, std::uint64_t(sh.cols),
                                     elem, tile_bytes);
  };
  if (!whole(0)) return "too many tiles";
  if (!b_by_panel && !whole(1)) return "too many tiles";
  for (std::uint64_t j = 0; j < panels; ++j) {
    const std::uint64_t c0 = j * panel_cols, c1 = std::min(n, c0 + panel_cols);
    if (b_by_panel && s.b.reads() && !add_region(plan.inputs, 1, std::uint64_t(s.b.rows), c0, c1, elem, tile_bytes))
      return "too many tiles";
    if (out.reads() && !add_region(plan.inputs, 2, std::uint64_t(out.rows), c0, c1, elem, tile_bytes))
      return "too many tiles";
    plan.ready_after.push_back(plan.inputs.size());
    if (!add_region(plan.outputs, 2, std::uint64_t(out.rows), c0, c1, elem, tile_bytes)) return "too many tiles";
    plan.outputs_end.push_back(plan.outputs.size());
  }
  return std::nullopt;
}

void encode_tile_header(const TileDesc& t, std::uint8_t out[32]) {
  put64(out, t.row0);
  put64(out + 8, t.rows);
  put64(out + 16, t.col0);
  put64(out + 24, t.cols);
}

TileDesc decode_tile_header(std::uint8_t operand, const std::uint8_t in[32]) {
  return TileDesc{operand, get64(in), get64(in + 8), get64(in + 16), get64(in + 24)};
}

}  // namespace rcpu::protocol
