#include "backends/cuda/k_outer_plan.h"

#include <algorithm>
#include <cmath>

namespace rcpu::backend::cuda {
namespace {

std::uint64_t align_up(std::uint64_t v, std::uint64_t a) { return (v + a - 1) / a * a; }

std::int64_t round_up(std::int64_t v, std::int64_t q) { return (v + q - 1) / q * q; }

// Bytes of columns [j0, j0 + w) of an operand with `rows` rows and leading dimension ld.
std::uint64_t cols_bytes(std::int64_t rows, std::int64_t ld, std::int64_t w, std::uint64_t elt) {
  if (rows <= 0 || w <= 0) return 0;
  return (std::uint64_t(ld) * std::uint64_t(w - 1) + std::uint64_t(rows)) * elt;
}

// Columns of C whose work balances the bytes that must arrive for them (k_outer_plan.h).
std::int64_t balanced_lead(const Level3Args& x, const PlanOptions& steps, const KOuterOptions& o, bool reads_c) {
  const double m = double(x.m), n = double(x.n), k = double(x.k);
  const double elt = double(element_size(x.dtype));
  const double fl = is_complex(x.dtype) ? 8.0 : 2.0;
  const double r = o.flops_per_byte * elt;
  const double denom = fl * m * k - r * (k + (reads_c ? m : 0.0));
  const std::int64_t q = std::max<std::int64_t>(1, steps.col_multiple);
  // denom <= 0: the copies outpace the GPU at any width, so the cap decides.
  std::int64_t w = denom <= 0 ? x.n : round_up(std::int64_t(std::ceil(r * m * k / denom)), q);
  w = std::min<std::int64_t>(w, round_up(std::int64_t(std::ceil(n * std::clamp(o.max_lead_fraction, 0.0, 1.0))), q));
  // A remainder too narrow for a column step of its own joins the leading block.
  if (w >= x.n || x.n - w < std::max<std::int64_t>(1, steps.min_step_cols)) return x.n;
  return std::max<std::int64_t>(w, q);
}

// Shifts a step of the trailing columns' own plan to the whole call's offsets.
void shift(Step& s, std::uint64_t b_base, std::uint64_t c_base) {
  s.b_off += b_base;
  s.c_off += c_base;
  for (auto* v : {&s.in, &s.out})
    for (ByteRange& r : *v) r.offset += r.op == Operand::b ? b_base : (r.op == Operand::c ? c_base : 0);
}

}  // namespace

std::optional<KOuterPlan> make_k_outer_plan(const Level3Args& x, const PlanOptions& steps, const KOuterOptions& o) {
  if (x.family != L3Family::gemm || x.transb != 'N' || x.alpha == std::complex<double>(0, 0)) return std::nullopt;
  if (x.m <= 0 || x.n <= 0 || x.k <= 0) return std::nullopt;
  KOuterPlan p;
  p.layout = make_plan(x, steps);
  if (p.layout.steps.size() < 2) return std::nullopt;  // small: the column schedule is as good

  const std::uint64_t elt = element_size(x.dtype);
  const bool reads_c = p.layout.shapes.c.reads();
  const std::int64_t lead = balanced_lead(x, steps, o, reads_c);

  // Chunks of k: each at least min_chunk_k deep and min_chunk_bytes of A and B together.
  const std::uint64_t chunked_bytes = (std::uint64_t(x.m) + std::uint64_t(lead)) * std::uint64_t(x.k) * elt;
  std::int64_t nchunks = std::min<std::int64_t>(o.max_chunks, x.k / std::max<std::int64_t>(1, o.min_chunk_k));
  nchunks =
      std::min<std::int64_t>(nchunks, std::int64_t(chunked_bytes / std::max<std::uint64_t>(1, o.min_chunk_bytes)));
  if (nchunks < 2) return std::nullopt;
  // Chunk depths are multiples of 16, so every chunk's pointers stay as aligned as the operands'.
  const std::int64_t kc = round_up((x.k + nchunks - 1) / nchunks, 16);
  if (kc >= x.k) return std::nullopt;

  p.lead_cols = lead;
  const bool a_by_cols = x.transa == 'N';  // op(A)[:, K] = columns K of A, else rows K of A^T
  for (std::int64_t k0 = 0; k0 < x.k; k0 += kc) {
    const std::int64_t w = std::min(kc, x.k - k0);
    KChunk c;
    c.args = x;
    c.args.n = lead;
    c.args.k = w;
    c.args.beta = k0 == 0 ? std::complex<double>(0, 0) : std::complex<double>(1, 0);
    if (a_by_cols) {
      c.a_off = std::uint64_t(k0) * std::uint64_t(x.lda) * elt;
      c.a = Block2D{Operand::a, c.a_off, std::uint64_t(x.m) * elt, std::uint64_t(w), std::uint64_t(x.lda) * elt};
    } else {
      c.a_off = std::uint64_t(k0) * elt;
      c.a = Block2D{Operand::a, c.a_off, std::uint64_t(w) * elt, std::uint64_t(x.m), std::uint64_t(x.lda) * elt};
    }
    c.b_off = std::uint64_t(k0) * elt;  // rows K of B's leading columns
    c.b = Block2D{Operand::b, c.b_off, std::uint64_t(w) * elt, std::uint64_t(lead), std::uint64_t(x.ldb) * elt};
    p.chunks.push_back(c);
  }

  p.add_old_c = reads_c;
  p.old_c_bytes = reads_c ? cols_bytes(x.m, x.ldc, lead, elt) : 0;
  p.old_c_off = p.layout.dev_total;
  p.dev_total = p.layout.dev_total + align_up(p.old_c_bytes, std::max<std::uint64_t>(1, steps.alignment));

  const std::int64_t q = std::max<std::int64_t>(1, steps.col_multiple);
  const std::int64_t blocks = std::max(1, o.out_blocks);
  const std::int64_t bw = std::max(q, round_up((lead + blocks - 1) / blocks, q));
  for (std::int64_t j0 = 0; j0 < lead; j0 += bw) {
    const std::int64_t w = std::min(bw, lead - j0);
    p.lead_out.push_back(
        ByteRange{Operand::c, std::uint64_t(j0) * std::uint64_t(x.ldc) * elt, cols_bytes(x.m, x.ldc, w, elt)});
  }

  if (lead < x.n) {
    Level3Args rest = x;
    rest.n = x.n - lead;
    Plan rp = make_plan(rest, steps);
    const std::uint64_t b_base = std::uint64_t(lead) * std::uint64_t(x.ldb) * elt;
    const std::uint64_t c_base = std::uint64_t(lead) * std::uint64_t(x.ldc) * elt;
    // A is on the device already; whatever else the trailing plan uploads first (B and C of a
    // single step) becomes part of its first step.
    std::vector<ByteRange> first;
    for (const ByteRange& r : rp.prologue)
      if (r.op != Operand::a) first.push_back(r);
    for (Step& s : rp.steps) {
      if (!first.empty()) {
        s.in.insert(s.in.begin(), first.begin(), first.end());
        first.clear();
      }
      shift(s, b_base, c_base);
      p.steps.push_back(std::move(s));
    }
  }
  return p;
}

}  // namespace rcpu::backend::cuda
