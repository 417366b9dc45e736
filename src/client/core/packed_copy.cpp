#include "client/core/packed_copy.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <system_error>
#include <thread>
#include <vector>

namespace rcpu::client {

void copy_packed_columns(const std::uint8_t* packed, std::uint8_t* dst, const PackedOutput& s, std::int64_t j0,
                         std::int64_t j1) {
  const std::size_t elem = s.elem, col_bytes = std::size_t(s.rows) * elem;
  for (std::int64_t j = j0; j < j1; ++j) {
    const std::uint8_t* src = packed + std::size_t(j) * col_bytes;
    std::uint8_t* col = dst + std::size_t(j) * std::size_t(s.ld) * elem;
    std::int64_t first = 0, last = s.rows;  // rows [first, last) of this column
    if (s.tri == 'U') last = std::min<std::int64_t>(j + 1, s.rows);
    if (s.tri == 'L') first = std::min<std::int64_t>(j, s.rows);
    if (last > first) std::memcpy(col + first * elem, src + first * elem, std::size_t(last - first) * elem);
  }
}

void copy_packed(const std::uint8_t* packed, std::uint8_t* dst, const PackedOutput& s) {
  constexpr std::uint64_t kPerThread = 64ull << 20;
  const std::uint64_t bytes = std::uint64_t(s.rows) * std::uint64_t(s.cols) * s.elem;
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  const std::int64_t threads =
      std::min<std::int64_t>({std::int64_t(std::min(hw, 8u)), std::int64_t(bytes / kPerThread), s.cols});
  if (threads <= 1) return copy_packed_columns(packed, dst, s, 0, s.cols);
  std::vector<std::thread> pool;
  const std::int64_t per = (s.cols + threads - 1) / threads;
  try {
    for (std::int64_t t = 1; t < threads; ++t) {
      const std::int64_t j0 = t * per, j1 = std::min(s.cols, j0 + per);
      if (j0 < j1) pool.emplace_back(copy_packed_columns, packed, dst, std::cref(s), j0, j1);
    }
  } catch (const std::system_error&) {
    // No thread: this one copies what is left (below), the others still run.
    for (std::int64_t t = std::int64_t(pool.size()) + 1; t < threads; ++t)
      copy_packed_columns(packed, dst, s, t * per, std::min(s.cols, t * per + per));
  }
  copy_packed_columns(packed, dst, s, 0, std::min(s.cols, per));
  for (auto& t : pool) t.join();
}

}  // namespace rcpu::client
