#include "backends/cuda/plan.h"

#include <algorithm>

namespace rcpu::backend::cuda {
namespace {

std::uint64_t align_up(std::uint64_t v, std::uint64_t a) { return (v + a - 1) / a * a; }

// Bytes an operand spans in column-major storage: ld * (cols - 1) + rows elements (rows * cols for
// the packed operands the server passes), 0 when it has no elements.
std::uint64_t operand_bytes(const OperandShape& s, Dtype t) {
  if (s.role == Role::none || s.rows <= 0 || s.cols <= 0) return 0;
  return (std::uint64_t(s.ld) * std::uint64_t(s.cols - 1) + std::uint64_t(s.rows)) * element_size(t);
}

// Bytes of columns [j0, j0 + w) of an operand, from the start of column j0.
std::uint64_t block_bytes(const OperandShape& s, std::int64_t w, Dtype t) {
  if (s.rows <= 0 || w <= 0) return 0;
  return (std::uint64_t(s.ld) * std::uint64_t(w - 1) + std::uint64_t(s.rows)) * element_size(t);
}

}  // namespace

std::uint64_t device_bytes(const Level3Args& args, std::uint64_t alignment) {
  const Level3Shapes s = level3_shapes(args);
  return align_up(operand_bytes(s.a, args.dtype), alignment) + align_up(operand_bytes(s.b, args.dtype), alignment) +
         align_up(operand_bytes(s.c, args.dtype), alignment);
}

Plan make_plan(const Level3Args& args, const PlanOptions& opt) {
  Plan p;
  p.shapes = level3_shapes(args);
  const Dtype t = args.dtype;
  const std::uint64_t elt = element_size(t);
  const OperandShape& sa = p.shapes.a;
  const OperandShape& sb = p.shapes.b;
  const OperandShape& sc = p.shapes.c;
  p.bytes[0] = operand_bytes(sa, t);
  p.bytes[1] = operand_bytes(sb, t);
  p.bytes[2] = operand_bytes(sc, t);
  const std::uint64_t align = std::max<std::uint64_t>(1, opt.alignment);
  p.dev_off[0] = 0;
  p.dev_off[1] = align_up(p.bytes[0], align);
  p.dev_off[2] = p.dev_off[1] + align_up(p.bytes[1], align);
  p.dev_total = p.dev_off[2] + align_up(p.bytes[2], align);
  p.zero_c = sc.role == Role::out;

  // Nothing to compute: the result has no elements.
  if (sc.rows == 0 || sc.cols == 0) return p;

  // Which operands are streamed by column blocks (see plan.h).
  bool split = false, stream_b = false, b_by_rows = false;
  switch (args.family) {
    case L3Family::gemm:
      split = true;
      stream_b = args.transb == 'N';
      b_by_rows = !stream_b;
      break;
    case L3Family::symm:
    case L3Family::hemm:
      split = args.side == 'L';
      stream_b = split;
      break;
    case L3Family::trmm:
    case L3Family::trsm:
      split = args.side == 'L';
      break;
    default:
      break;
  }
  if (p.bytes[1] == 0) stream_b = false;  // e.g. gemm with k == 0
  const std::int64_t ncols = sc.cols;     // n, for every family here
  std::int64_t nsteps = 1;
  if (split && opt.max_steps > 1) {
    const std::uint64_t col_bytes = (stream_b ? std::uint64_t(sb.ld) * elt : 0) +
                                    (sc.reads() ? std::uint64_t(sc.ld) * elt : 0) + std::uint64_t(sc.ld) * elt;
    const std::uint64_t streamed = col_bytes * std::uint64_t(ncols);
    const std::uint64_t min_bytes = std::max<std::uint64_t>(1, opt.min_step_bytes);
    nsteps = std::int64_t(std::min<std::uint64_t>(std::uint64_t(opt.max_steps), streamed / min_bytes));
    nsteps = std::min<std::int64_t>(nsteps, ncols / std::max<std::int64_t>(1, opt.min_step_cols));
    nsteps = std::max<std::int64_t>(nsteps, 1);
  }
  if (nsteps == 1) stream_b = b_by_rows = false;  // one step: everything goes in the prologue
  std::int64_t nb = (ncols + nsteps - 1) / nsteps;
  if (nsteps > 1) {
    const std::int64_t q = std::max<std::int64_t>(1, opt.col_multiple);
    nb = (nb + q - 1) / q * q;
    if (nb >= ncols) stream_b = b_by_rows = false, nsteps = 1;  // rounding left a single block
  }

  auto add = [](std::vector<ByteRange>& v, Operand op, std::uint64_t off, std::uint64_t bytes) {
    if (bytes > 0) v.push_back(ByteRange{op, off, bytes});
  };
  if (sa.reads()) add(p.prologue, Operand::a, 0, p.bytes[0]);
  if (sb.reads() && !stream_b) add(p.prologue, Operand::b, 0, p.bytes[1]);
  if (sc.reads() && nsteps == 1) add(p.prologue, Operand::c, 0, p.bytes[2]);

  for (std::int64_t j0 = 0; j0 < ncols; j0 += nb) {
    const std::int64_t w = std::min(nb, ncols - j0);
    Step s;
    s.args = args;
    s.args.n = w;
    if (stream_b) s.b_off = std::uint64_t(j0) * std::uint64_t(sb.ld) * elt;
    if (b_by_rows) s.b_off = std::uint64_t(j0) * elt;  // op(B)[:, J] = rows J of B
    s.c_off = std::uint64_t(j0) * std::uint64_t(sc.ld) * elt;
    if (nsteps > 1) {
      if (stream_b) add(s.in, Operand::b, s.b_off, block_bytes(sb, w, t));
      if (sc.reads()) add(s.in, Operand::c, s.c_off, block_bytes(sc, w, t));
    }
    add(s.out, Operand::c, s.c_off, block_bytes(sc, w, t));
    p.steps.push_back(std::move(s));
  }
  return p;
}

}  // namespace rcpu::backend::cuda
