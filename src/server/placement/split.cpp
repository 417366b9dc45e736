#include "server/placement/split.h"

#include <algorithm>
#include <numeric>

namespace rcpu::server::placement {

std::vector<Range> proportional_ranges(std::int64_t total, const std::vector<double>& weights, std::int64_t min_chunk,
                                       const std::function<double(std::int64_t)>& cost) {
  std::vector<Range> out(weights.size());
  if (total <= 0 || weights.empty()) return out;
  min_chunk = std::max<std::int64_t>(1, min_chunk);
  // The devices that get work: positive weights, the highest first, as many as min_chunk allows.
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < weights.size(); ++i)
    if (weights[i] > 0) order.push_back(i);
  if (order.empty()) return out;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return weights[x] > weights[y]; });
  const std::size_t used =
      std::min<std::size_t>(order.size(), std::size_t(std::max<std::int64_t>(1, total / min_chunk)));
  order.resize(used);
  std::sort(order.begin(), order.end());  // ranges follow device order

  double wsum = 0;
  for (std::size_t i : order) wsum += weights[i];
  const double total_cost = cost(total);
  double acc = 0;
  std::int64_t begin = 0;
  for (std::size_t u = 0; u < used; ++u) {
    const std::size_t dev = order[u];
    acc += weights[dev];
    std::int64_t end = total;
    if (u + 1 < used) {
      const double target = total_cost * acc / wsum;
      std::int64_t lo = begin + min_chunk, hi = total - std::int64_t(used - u - 1) * min_chunk;
      // Smallest x in [lo, hi] whose cost reaches the target; cost is non-decreasing.
      while (lo < hi) {
        const std::int64_t mid = lo + (hi - lo) / 2;
        if (cost(mid) >= target)
          hi = mid;
        else
          lo = mid + 1;
      }
      end = lo;
      // The nearer of x and x - 1 to the target, as long as the chunk stays wide enough.
      if (end - 1 >= begin + min_chunk && target - cost(end - 1) < cost(end) - target) --end;
    }
    out[dev] = Range{begin, end};
    begin = end;
  }
  return out;
}

std::vector<Range> proportional_ranges(std::int64_t total, const std::vector<double>& weights, std::int64_t min_chunk) {
  return proportional_ranges(total, weights, min_chunk, [](std::int64_t x) { return double(x); });
}

namespace {

bool is_rank_k(L3Family f) {
  return f == L3Family::syrk || f == L3Family::herk || f == L3Family::syr2k || f == L3Family::her2k;
}

// Sets the sub-call's leading dimensions from its views (trmm/trsm: B is the `c` view).
SubCall make_sub(const Level3Args& args, View a, View b, View c, char out_tri = 0) {
  SubCall s;
  s.args = args;
  s.a = a;
  s.b = b;
  s.c = c;
  s.out_tri = out_tri;
  if (a.buf >= 0) s.args.lda = a.ld;
  if (b.buf >= 0) s.args.ldb = b.ld;
  set_level3_output_ld(s.args, c.ld);
  return s;
}

// Pieces cutting the output's columns (rows when by_rows) at `ranges`.
std::vector<Piece> split_lines(const Level3Args& x, const std::vector<Range>& ranges, bool by_rows) {
  std::vector<Piece> pieces;
  const std::int64_t ldc = level3_output_ld(x);
  const View whole_a{0, 0, x.lda};
  for (std::size_t d = 0; d < ranges.size(); ++d) {
    const Range r = ranges[d];
    if (r.size() <= 0) continue;
    const std::uint64_t p0 = std::uint64_t(r.begin);
    Level3Args sub = x;
    View a = whole_a, b{}, c{};
    switch (x.family) {
      case L3Family::gemm:
        if (!by_rows) {
          sub.n = r.size();
          b = View{1, x.transb == 'N' ? p0 * std::uint64_t(x.ldb) : p0, x.ldb};
          c = View{2, p0 * std::uint64_t(x.ldc), x.ldc};
        } else {
          sub.m = r.size();
          a = View{0, x.transa == 'N' ? p0 : p0 * std::uint64_t(x.lda), x.lda};
          b = View{1, 0, x.ldb};
          c = View{2, p0, x.ldc};
        }
        break;
      case L3Family::symm:
      case L3Family::hemm:
        if (!by_rows) {
          sub.n = r.size();
          b = View{1, p0 * std::uint64_t(x.ldb), x.ldb};
          c = View{2, p0 * std::uint64_t(x.ldc), x.ldc};
        } else {
          sub.m = r.size();
          b = View{1, p0, x.ldb};
          c = View{2, p0, x.ldc};
        }
        break;
      case L3Family::trmm:
      case L3Family::trsm:
        if (!by_rows) {
          sub.n = r.size();
          c = View{2, p0 * std::uint64_t(ldc), ldc};
        } else {
          sub.m = r.size();
          c = View{2, p0, ldc};
        }
        break;
      default:
        break;
    }
    Piece p;
    p.device = int(d);
    p.calls.push_back(make_sub(sub, a, b, c));
    p.flops = level3_flops(p.calls.back().args);
    pieces.push_back(std::move(p));
  }
  return pieces;
}

// Rank-k updates: column block J = [j0, j1) of the triangle (see split.h).
std::vector<Piece> split_rank_k(const Level3Args& x, const std::vector<Range>& ranges) {
  std::vector<Piece> pieces;
  const bool herm = x.family == L3Family::herk || x.family == L3Family::her2k;
  const bool two = x.family == L3Family::syr2k || x.family == L3Family::her2k;
  const bool notrans = x.transa == 'N';
  const char tr = herm ? 'C' : 'T';
  // Rows [r0, ...) of op(X) = X (trans 'N', X is n x k) or X^T / X^H (X is k x n).
  auto rows_of = [&](int buf, std::int64_t ld, std::int64_t r0) {
    return View{buf, notrans ? std::uint64_t(r0) : std::uint64_t(r0) * std::uint64_t(ld), ld};
  };
  for (std::size_t d = 0; d < ranges.size(); ++d) {
    const Range r = ranges[d];
    if (r.size() <= 0) continue;
    const std::int64_t j0 = r.begin, w = r.size(), j1 = r.end;
    Piece p;
    p.device = int(d);
    // The part of the block's columns outside the diagonal block: a gemm (two for the rank-2k).
    const std::int64_t r0 = x.uplo == 'U' ? 0 : j1;
    const std::int64_t mr = x.uplo == 'U' ? j0 : x.n - j1;
    if (mr > 0) {
      Level3Args g = x;
      g.family = L3Family::gemm;
      g.m = mr;
      g.n = w;
      g.side = 'L';
      g.uplo = 'U';
      g.diag = 'N';
      g.transa = notrans ? 'N' : tr;
      g.transb = notrans ? tr : 'N';
      const View c{2, std::uint64_t(r0) + std::uint64_t(j0) * std::uint64_t(x.ldc), x.ldc};
      p.calls.push_back(make_sub(g, rows_of(0, x.lda, r0), rows_of(two ? 1 : 0, two ? x.ldb : x.lda, j0), c));
      if (two) {
        Level3Args g2 = g;
        g2.alpha = herm ? std::conj(x.alpha) : x.alpha;
        g2.beta = 1.0;
        p.calls.push_back(make_sub(g2, rows_of(1, x.ldb, r0), rows_of(0, x.lda, j0), c));
      }
    }
    // The diagonal block: the same routine on rows J.
    Level3Args dg = x;
    dg.n = w;
    const View c{2, std::uint64_t(j0) + std::uint64_t(j0) * std::uint64_t(x.ldc), x.ldc};
    p.calls.push_back(make_sub(dg, rows_of(0, x.lda, j0), two ? rows_of(1, x.ldb, j0) : View{}, c, x.uplo));
    for (const SubCall& s : p.calls) p.flops += level3_flops(s.args);
    pieces.push_back(std::move(p));
  }
  return pieces;
}

}  // namespace

std::vector<Piece> split_call(const Level3Args& x, const std::vector<double>& weights, std::int64_t min_chunk) {
  const Level3Shapes s = level3_shapes(x);
  if (s.c.rows == 0 || s.c.cols == 0 || weights.empty()) return {};
  min_chunk = std::max<std::int64_t>(1, min_chunk);
  if (is_rank_k(x.family)) {
    const double n = double(x.n);
    std::function<double(std::int64_t)> cost;
    // Elements of the triangle in its first x columns.
    if (x.uplo == 'U')
      cost = [](std::int64_t c) { return 0.5 * double(c) * double(c + 1); };
    else
      cost = [n](std::int64_t c) { return double(c) * n - 0.5 * double(c) * double(c - 1); };
    return split_rank_k(x, proportional_ranges(x.n, weights, min_chunk, cost));
  }
  bool by_rows = false;
  switch (x.family) {
    case L3Family::gemm:
      by_rows = x.n < 2 * min_chunk && x.m >= 2 * min_chunk;
      break;
    case L3Family::symm:
    case L3Family::hemm:
    case L3Family::trmm:
    case L3Family::trsm:
      by_rows = x.side == 'R';
      break;
    default:
      break;
  }
  return split_lines(x, proportional_ranges(by_rows ? x.m : x.n, weights, min_chunk), by_rows);
}

}  // namespace rcpu::server::placement
