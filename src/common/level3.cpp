#include "common/level3.h"

#include <algorithm>

namespace rcpu {

const char* dtype_letter(Dtype t) {
  switch (t) {
    case Dtype::s:
      return "s";
    case Dtype::d:
      return "d";
    case Dtype::c:
      return "c";
    case Dtype::z:
      return "z";
  }
  return "?";
}

const char* family_name(L3Family f) {
  switch (f) {
    case L3Family::gemm:
      return "gemm";
    case L3Family::symm:
      return "symm";
    case L3Family::hemm:
      return "hemm";
    case L3Family::syrk:
      return "syrk";
    case L3Family::herk:
      return "herk";
    case L3Family::syr2k:
      return "syr2k";
    case L3Family::her2k:
      return "her2k";
    case L3Family::trmm:
      return "trmm";
    case L3Family::trsm:
      return "trsm";
  }
  return "?";
}

std::string routine_name(L3Family f, Dtype t) { return std::string(dtype_letter(t)) + family_name(f); }

namespace {

OperandShape shape(Role role, std::int64_t rows, std::int64_t cols, std::int64_t ld, char tri = 0) {
  return OperandShape{role, rows, cols, ld, tri};
}

bool is_rank_k(L3Family f) {
  return f == L3Family::syrk || f == L3Family::herk || f == L3Family::syr2k || f == L3Family::her2k;
}

// her2k's and herk's beta is real; everything else compares the complex value.
bool beta_is_zero(const Level3Args& a) { return a.beta == std::complex<double>(0, 0); }

}  // namespace

Level3Shapes level3_shapes(const Level3Args& x) {
  Level3Shapes s;
  const Role c_role = beta_is_zero(x) ? Role::out : Role::inout;
  const bool notrans_a = x.transa == 'N';
  switch (x.family) {
    case L3Family::gemm:
      s.a = notrans_a ? shape(Role::in, x.m, x.k, x.lda) : shape(Role::in, x.k, x.m, x.lda);
      s.b = x.transb == 'N' ? shape(Role::in, x.k, x.n, x.ldb) : shape(Role::in, x.n, x.k, x.ldb);
      s.c = shape(c_role, x.m, x.n, x.ldc);
      break;
    case L3Family::symm:
    case L3Family::hemm: {
      const std::int64_t ka = x.side == 'L' ? x.m : x.n;
      s.a = shape(Role::in, ka, ka, x.lda, x.uplo);
      s.b = shape(Role::in, x.m, x.n, x.ldb);
      s.c = shape(c_role, x.m, x.n, x.ldc);
      break;
    }
    case L3Family::syrk:
    case L3Family::herk:
      s.a = notrans_a ? shape(Role::in, x.n, x.k, x.lda) : shape(Role::in, x.k, x.n, x.lda);
      s.c = shape(c_role, x.n, x.n, x.ldc, x.uplo);
      break;
    case L3Family::syr2k:
    case L3Family::her2k:
      s.a = notrans_a ? shape(Role::in, x.n, x.k, x.lda) : shape(Role::in, x.k, x.n, x.lda);
      s.b = notrans_a ? shape(Role::in, x.n, x.k, x.ldb) : shape(Role::in, x.k, x.n, x.ldb);
      s.c = shape(c_role, x.n, x.n, x.ldc, x.uplo);
      break;
    case L3Family::trmm:
    case L3Family::trsm: {
      const std::int64_t ka = x.side == 'L' ? x.m : x.n;
      s.a = shape(Role::in, ka, ka, x.lda, x.uplo);
      s.c = shape(Role::inout, x.m, x.n, x.ldb);
      break;
    }
  }
  return s;
}

double level3_flops(const Level3Args& x) {
  const double m = double(x.m), n = double(x.n), k = double(x.k);
  double mults = 0;  // multiply-add pairs
  switch (x.family) {
    case L3Family::gemm:
      mults = m * n * k;
      break;
    case L3Family::symm:
    case L3Family::hemm:
      mults = x.side == 'L' ? m * m * n : m * n * n;
      break;
    case L3Family::syrk:
    case L3Family::herk:
      mults = 0.5 * n * (n + 1) * k;
      break;
    case L3Family::syr2k:
    case L3Family::her2k:
      mults = n * n * k;
      break;
    case L3Family::trmm:
    case L3Family::trsm:
      mults = x.side == 'L' ? 0.5 * m * m * n : 0.5 * m * n * n;
      break;
  }
  return mults * (is_complex(x.dtype) ? 8.0 : 2.0);
}

Level3Args level3_panel(const Level3Args& x, std::int64_t col0, std::int64_t cols, std::uint64_t& b_off,
                        std::uint64_t& c_off) {
  Level3Args p = x;
  p.n = cols;
  b_off = 0;
  c_off = std::uint64_t(col0) * std::uint64_t(x.ldc);
  switch (x.family) {
    case L3Family::gemm:
      b_off = x.transb == 'N' ? std::uint64_t(col0) * std::uint64_t(x.ldb) : std::uint64_t(col0);
      break;
    case L3Family::symm:
    case L3Family::hemm:
      b_off = std::uint64_t(col0) * std::uint64_t(x.ldb);
      break;
    case L3Family::trmm:
    case L3Family::trsm:
      c_off = std::uint64_t(col0) * std::uint64_t(x.ldb);
      break;  // B is the output
    default:
      break;
  }
  return p;
}

bool level3_is_trivial(const Level3Args& x) {
  const bool alpha_zero = x.alpha == std::complex<double>(0, 0);
  if (alpha_zero) return true;
  if (is_rank_k(x.family)) return x.n == 0 || x.k == 0;
  if (x.family == L3Family::gemm) return x.m == 0 || x.n == 0 || x.k == 0;
  return x.m == 0 || x.n == 0;
}

std::optional<std::string> level3_validate(const Level3Args& x) {
  auto one_of = [](char c, const char* set) {
    return c != 0 && std::string_view(set).find(c) != std::string_view::npos;
  };
  if (static_cast<unsigned>(x.family) > static_cast<unsigned>(L3Family::trsm)) return "unknown family";
  if (static_cast<unsigned>(x.dtype) > static_cast<unsigned>(Dtype::z)) return "unknown data type";
  const bool cplx = is_complex(x.dtype);
  if ((x.family == L3Family::hemm || x.family == L3Family::herk || x.family == L3Family::her2k) && !cplx)
    return "hermitian routine on real data";
  if (!one_of(x.side, "LR") || !one_of(x.uplo, "UL") || !one_of(x.diag, "NU")) return "bad option letter";
  const char* trans_set = "NTC";
  if (is_rank_k(x.family)) {
    const bool herm = x.family == L3Family::herk || x.family == L3Family::her2k;
    trans_set = herm ? "NC" : (cplx ? "NT" : "NTC");
  }
  if (!one_of(x.transa, trans_set) || !one_of(x.transb, "NTC")) return "bad transpose letter";
  constexpr std::int64_t kMaxDim = std::int64_t(1) << 31;  // beyond any BLAS integer in use
  if (x.m < 0 || x.n < 0 || x.k < 0 || x.m > kMaxDim || x.n > kMaxDim || x.k > kMaxDim) return "dimension out of range";
  const Level3Shapes s = level3_shapes(x);
  for (const OperandShape* op : {&s.a, &s.b, &s.c}) {
    if (op->role == Role::none) continue;
    if (op->ld < std::max<std::int64_t>(1, op->rows) || op->ld > kMaxDim) return "leading dimension out of range";
    const unsigned __int128 bytes = (unsigned __int128)op->rows * (unsigned __int128)op->cols * element_size(x.dtype);
    if (bytes > ((unsigned __int128)1 << 46)) return "operand larger than 64 TiB";
  }
  return std::nullopt;
}

bool level3_output_is_b(const Level3Args& x) { return x.family == L3Family::trmm || x.family == L3Family::trsm; }

std::int64_t level3_output_ld(const Level3Args& x) { return level3_output_is_b(x) ? x.ldb : x.ldc; }

void set_level3_output_ld(Level3Args& x, std::int64_t ld) {
  x.ldc = ld;
  if (level3_output_is_b(x)) x.ldb = ld;
}

Level3Args level3_packed(const Level3Args& args) {
  Level3Args x = args;
  const Level3Shapes s = level3_shapes(args);
  x.lda = std::max<std::int64_t>(1, s.a.rows);
  x.ldb = std::max<std::int64_t>(1, s.b.rows);
  set_level3_output_ld(x, std::max<std::int64_t>(1, s.c.rows));
  return x;
}

}  // namespace rcpu
