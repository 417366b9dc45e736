// How the CUDA backend moves one Level-3 call through the GPU: which operand bytes go to the
// device before any compute (the prologue), and how the call is split into column blocks ("steps")
// whose input copies, cuBLAS call and result copy can overlap with their neighbours'.
//
// This file is plain C++ (no CUDA headers) so the decomposition is tested on machines without a
// GPU (tests/gpu/cuda_plan_test.cpp executes plans with OpenBLAS and memcpy as the "device").
//
// Layout: every operand lives on the device exactly as the server hands it over, column-major with
// the same leading dimension (the server passes packed operands, ld == rows; a larger ld works too,
// its gaps are copied along). A block of whole columns is therefore one contiguous byte range at
// the same offset on the host and on the device, so every copy in a plan is a plain 1-D range.
//
// Which calls are split (by columns of C, or of B for trmm/trsm):
//   gemm                      C[:, J] = alpha op(A) op(B)[:, J] + beta C[:, J]; A goes in the
//                             prologue; B is streamed in column blocks when transb == 'N', else it
//                             goes whole in the prologue and each step points at rows J of B.
//   symm/hemm, side 'L'       C[:, J] = alpha A B[:, J] + beta C[:, J]   (A in the prologue)
//   trmm/trsm, side 'L'       B[:, J] = alpha op(A)^{±1} B[:, J]        (A in the prologue)
// Everything else (side 'R', the rank-k updates) runs as one step: its columns are not independent
// without decomposing the call into several different routines.
#pragma once

#include <cstdint>
#include <vector>

#include "common/level3.h"

namespace rcpu::backend::cuda {

enum class Operand : std::uint8_t { a = 0, b = 1, c = 2 };  // c is B for trmm/trsm

// Bytes [offset, offset + bytes) of one operand; the same offsets on host and device.
struct ByteRange {
  Operand op = Operand::a;
  std::uint64_t offset = 0, bytes = 0;
};

struct Step {
  Level3Args args;                                // the call for this block (n reduced; leading dimensions unchanged)
  std::uint64_t a_off = 0, b_off = 0, c_off = 0;  // byte offsets of the call's A, B, C pointers
  std::vector<ByteRange> in;                      // copied to the device after the previous step's inputs
  std::vector<ByteRange> out;                     // copied back to the host once this step's compute is done
};

struct Plan {
  Level3Shapes shapes;
  std::uint64_t bytes[3] = {0, 0, 0};    // size of operands a, b, c (0 when the routine has no such operand)
  std::uint64_t dev_off[3] = {0, 0, 0};  // where each operand starts in the device arena
  std::uint64_t dev_total = 0;           // arena bytes the call needs
  bool zero_c = false;                   // C is not read (beta == 0): zero its device copy instead of sending it
  std::vector<ByteRange> prologue;
  std::vector<Step> steps;  // empty when the call has nothing to compute (m == 0 or n == 0)
};

struct PlanOptions {
  int max_steps = 8;                           // 1 disables column pipelining
  std::uint64_t min_step_bytes = 64ull << 20;  // streamed bytes per step, at least
  std::int64_t min_step_cols = 256;            // keep cuBLAS calls wide enough to run at speed
  std::int64_t col_multiple = 16;              // block widths are multiples of this (keeps the
                                               // blocks' device pointers 16-byte aligned)
  std::uint64_t alignment = 256;               // of each operand in the device arena
};

// args must be valid (level3_validate).
Plan make_plan(const Level3Args& args, const PlanOptions& options = {});

// Device bytes a call needs (operands only, aligned as make_plan places them).
std::uint64_t device_bytes(const Level3Args& args, std::uint64_t alignment = 256);

}  // namespace rcpu::backend::cuda
