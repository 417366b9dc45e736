// A second way the CUDA backend can run a large gemm, chosen when every operand is page-locked:
// "k-outer first". With plan.h's column steps, all of op(A) must be on the GPU before the first
// cuBLAS call, so the GPU idles while A crosses PCIe (2 GB, ~40 ms at n = 16000) — the largest
// part of a call's time that more GPUs do not shorten (docs/placement.md).
//
// Here the first `lead_cols` columns of C are computed as a sum over chunks of k:
//     C[:, L] = alpha * sum_c op(A)[:, Kc] op(B)[Kc, L]      (+ beta * C_old[:, L], added last)
// Chunk c needs only op(A)[:, Kc] and op(B)[Kc, L], so the GPU computes chunk c while chunk c+1
// is being copied: A's upload is hidden behind useful work. C's old values are not needed until
// the end, so they are uploaded after the chunks into a scratch copy and added with one geam
// (C = C + beta * C_old) per output block, each block going back to the host as soon as it is
// final. The remaining columns [lead_cols, n) then run as ordinary column steps (plan.h): A is on
// the device by then, and their inputs stream in while the leading block's results go out.
//
// lead_cols balances the GPU's work on the leading block against the bytes that must arrive for
// it (A, its part of B and C): flops(lead) = flops_per_byte * bytes(lead). flops_per_byte is the
// device's compute rate over its host->device copy rate (~50 TFLOP/s over ~50 GB/s on an H100).
//
// Plain C++ (no CUDA headers): tests/gpu/cuda_plan_test.cpp runs these plans on the CPU.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "backends/cuda/plan.h"

namespace rcpu::backend::cuda {

// `height` runs of `width` bytes, `pitch` bytes apart, from `offset` of an operand; the same
// offsets on the host and on the device (one cudaMemcpy2DAsync).
struct Block2D {
  Operand op = Operand::a;
  std::uint64_t offset = 0, width = 0, height = 0, pitch = 0;
};

struct KChunk {
  Level3Args args;                     // gemm over C[:, 0:lead_cols] with this chunk's k; beta 0
                                       // for the first chunk (C not read), 1 after
  std::uint64_t a_off = 0, b_off = 0;  // byte offsets of the chunk's op(A) and op(B) pointers
  Block2D a, b;                        // uploaded just before the chunk's cuBLAS call
};

struct KOuterPlan {
  Plan layout;                 // make_plan's operand sizes and device offsets
  std::int64_t lead_cols = 0;  // columns of C accumulated chunk by chunk while A arrives
  std::vector<KChunk> chunks;
  bool add_old_c = false;       // beta != 0: C_old[:, 0:lead_cols] goes to old_c_off after the chunks
  std::uint64_t old_c_off = 0;  // device offset of that copy (same layout as C's leading columns)
  std::uint64_t old_c_bytes = 0;
  std::uint64_t dev_total = 0;      // device bytes the call needs, the copy included
  std::vector<ByteRange> lead_out;  // blocks of C[:, 0:lead_cols], finished and sent back in order
  std::vector<Step> steps;          // columns [lead_cols, n) as column steps (A already on the device)
};

struct KOuterOptions {
  // Device compute rate / host->device copy rate. 700 was the fastest of 500, 700 and 1000 on
  // 2 x H100 for dgemm n = 16000 split over 2 GPUs (0.104 s against 0.111 s; docs/placement.md);
  // on one GPU 1000 was faster (0.171 s against 0.190 s; the column schedule took 0.200 s).
  double flops_per_byte = 700;
  int max_chunks = 8;
  std::uint64_t min_chunk_bytes = 64ull << 20;
  std::int64_t min_chunk_k = 256;
  int out_blocks = 4;  // the leading block's results go back in this many pieces
  // At most this fraction of the columns is k-outer (1: the balance alone decides). A cap at 0.5
  // was tried and measured no better (2 x H100, dgemm n = 16000: 0.116 s with 4000 leading columns
  // of 8000, against 0.104 s with the balance's 4320).
  double max_lead_fraction = 1.0;
};

// A plan for gemm with transb == 'N' and alpha != 0 that make_plan(args, steps) would pipeline
// (several column steps) and whose k splits into at least two chunks; nullopt otherwise (then
// make_plan's schedule is used). args must be valid (level3_validate).
std::optional<KOuterPlan> make_k_outer_plan(const Level3Args& args, const PlanOptions& steps,
                                            const KOuterOptions& options = {});

}  // namespace rcpu::backend::cuda
