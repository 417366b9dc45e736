// How one Level-3 call is cut into pieces for several devices (placement.h). Pure functions: no
// devices, no threads, so every family x option x shape is unit-tested against a direct run.
//
// Every piece writes its own part of the output, disjoint from the others', so the pieces of a
// call run on different devices at the same time:
//   gemm                     columns of C (rows of C when n is too narrow to split and m is not)
//   symm/hemm, trmm/trsm     side 'L': columns of C (B); side 'R': rows of C (B)
//   syrk/herk/syr2k/her2k    column blocks J of the triangle: the diagonal block J x J is the same
//                            routine on rows J, the rest of the block's columns inside the
//                            triangle (rows above J for uplo 'U', below for 'L') is a gemm
//                            (two for syr2k/her2k), so no element is computed twice
// The boundaries follow the devices' rates (work in proportion to each device's measured rate),
// counted in flops: a column of an upper triangle near its end costs more than one near its start.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "common/level3.h"

namespace rcpu::server::placement {

// Which part of the full call's buffers an operand of a sub-call reads or writes: buffer 0 is the
// call's A, 1 its B, 2 its C (B for trmm/trsm); `off` in elements from that buffer's start; `ld` the
// full call's leading dimension of that buffer. buf = -1: the sub-call has no such operand.
struct View {
  int buf = -1;
  std::uint64_t off = 0;
  std::int64_t ld = 1;
};

// One backend call of a piece. args carries the sub-call's dimensions and options; its lda/ldb/ldc
// are those of the views (the runner repacks strided views, see placement.cpp). `out_tri` is 'U' or
// 'L' when only that triangle of the output block is the routine's result (the diagonal block of a
// rank-k update), else 0.
struct SubCall {
  Level3Args args;
  View a, b, c;
  char out_tri = 0;
};

struct Piece {
  int device = 0;
  double flops = 0;
  std::vector<SubCall> calls;  // run in this order on one device
};

// [begin, end) of the dimension a call is cut along, per device in `weights` order; devices with
// no work get an empty range. `cost(x)` is the work of the first x columns (rows), increasing; the
// ranges follow the weights in cost, each non-empty one at least `min_chunk` wide (fewer devices
// are used when the dimension is too small for all of them: the highest weights are kept).
struct Range {
  std::int64_t begin = 0, end = 0;
  std::int64_t size() const { return end - begin; }
};
std::vector<Range> proportional_ranges(std::int64_t total, const std::vector<double>& weights, std::int64_t min_chunk,
                                       const std::function<double(std::int64_t)>& cost);
// The same with every column (row) costing the same.
std::vector<Range> proportional_ranges(std::int64_t total, const std::vector<double>& weights, std::int64_t min_chunk);

// Cuts a valid call into at most weights.size() pieces (piece.device indexes `weights`) with
// boundaries in proportion to the weights; chunks at least min_chunk columns (rows) wide. One piece
// (or none, when the output is empty) when the call cannot be split usefully.
std::vector<Piece> split_call(const Level3Args& args, const std::vector<double>& weights, std::int64_t min_chunk);

}  // namespace rcpu::server::placement
