// Results arrive packed (column-major, leading dimension = rows); these copy them into the
// application's array, for every kind that stages its results (Level 3, LAPACK).
#pragma once

#include <cstddef>
#include <cstdint>

namespace rcpu::client {

// The shape of an output in the application's memory: rows x cols elements of `elem` bytes with a
// leading dimension of `ld` elements; for a triangular output only the triangle `tri` ('U'/'L' of
// the square block, 0 for the whole block) is written.
struct PackedOutput {
  std::int64_t rows = 0, cols = 0, ld = 0;
  std::size_t elem = 0;
  char tri = 0;
};

// Columns [j0, j1) of the packed result into `dst`, never a byte outside the rows x cols block
// (nor outside the triangle).
void copy_packed_columns(const std::uint8_t* packed, std::uint8_t* dst, const PackedOutput& s, std::int64_t j0,
                         std::int64_t j1);

// The whole result. A large one is copied by several threads (one memcpy stream moves ~3 GB/s,
// about what the link does, so a single-threaded copy would add a tail as long as the transfer).
void copy_packed(const std::uint8_t* packed, std::uint8_t* dst, const PackedOutput& s);

}  // namespace rcpu::client
