// The one description of a Level-3 BLAS call that every layer shares: the client builds it from
// the application's arguments, the protocol carries it, the server validates it, backends run it.
// Always column-major with Fortran semantics (CBLAS row-major calls are translated first), and all
// dimensions are 64-bit whatever the client's integer width.
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace rcpu {

enum class Dtype : std::uint8_t { s = 0, d = 1, c = 2, z = 3 };
enum class L3Family : std::uint8_t { gemm = 0, symm, hemm, syrk, herk, syr2k, her2k, trmm, trsm };

inline constexpr bool is_complex(Dtype t) { return t == Dtype::c || t == Dtype::z; }
inline constexpr std::size_t element_size(Dtype t) {
  switch (t) {
    case Dtype::s:
      return 4;
    case Dtype::d:
      return 8;
    case Dtype::c:
      return 8;
    case Dtype::z:
      return 16;
  }
  return 0;
}
const char* dtype_letter(Dtype t);              // "s", "d", "c", "z"
const char* family_name(L3Family f);            // "gemm", ...
std::string routine_name(L3Family f, Dtype t);  // "dgemm"

struct Level3Args {
  L3Family family = L3Family::gemm;
  Dtype dtype = Dtype::d;
  // Option characters, upper case; those a family does not use stay 'N' (side 'L', uplo 'U',
  // diag 'N'). transa is TRANS for syrk/herk/syr2k/her2k and TRANSA for trmm/trsm.
  char side = 'L', uplo = 'U', transa = 'N', transb = 'N', diag = 'N';
  std::int64_t m = 0, n = 0, k = 0;
  // Scalars widened to complex<double>; exact for every type (float -> double is exact).
  // herk's alpha/beta and her2k's beta are real: their imaginary part is zero.
  std::complex<double> alpha{0, 0}, beta{0, 0};
  std::int64_t lda = 1, ldb = 1, ldc = 1;
};

// What an operand is for one call: which rows x cols block of the application's array is read
// and/or written.  Triangular/symmetric operands still travel as their full square block; `tri`
// says which triangle the routine really reads or writes ('U'/'L'), or 0 for a full block.
enum class Role : std::uint8_t { none = 0, in = 1, out = 2, inout = 3 };
struct OperandShape {
  Role role = Role::none;
  std::int64_t rows = 0, cols = 0, ld = 0;
  char tri = 0;  // for outputs: only this triangle may be written back
  std::uint64_t bytes(Dtype t) const { return std::uint64_t(rows) * std::uint64_t(cols) * element_size(t); }
  bool reads() const { return role == Role::in || role == Role::inout; }
  bool writes() const { return role == Role::out || role == Role::inout; }
};
struct Level3Shapes {
  OperandShape a, b, c;  // for trmm/trsm the in/out matrix is B, reported here as c (role inout)
};

// Shapes of the operands, given valid arguments. C is 'out' rather than 'inout' when beta == 0
// (its old contents are never read, so they are not sent).
Level3Shapes level3_shapes(const Level3Args& args);

// Flop count (real multiply-adds counted as 2, complex as 8), for the policy and for reports.
double level3_flops(const Level3Args& args);

// True when the reference routine does no arithmetic worth sending (empty dimensions, alpha == 0,
// k == 0 ...): such calls always run locally.
bool level3_is_trivial(const Level3Args& args);

// The sub-call that computes output columns [col0, col0 + cols) of a call whose output columns are
// independent (gemm, symm/hemm side 'L', trmm/trsm side 'L'; see protocol/tiling.h), with the same
// leading dimensions. b_off / c_off receive the element offsets of that sub-call's B and C (C is B
// for trmm/trsm) from the full call's pointers; A is unchanged.
Level3Args level3_panel(const Level3Args& args, std::int64_t col0, std::int64_t cols, std::uint64_t& b_off,
                        std::uint64_t& c_off);

// Validates arguments the way the server must before trusting them: option letters, non-negative
// dimensions, leading dimensions, and sizes that cannot overflow.  Returns an error message or
// nothing.
std::optional<std::string> level3_validate(const Level3Args& args);

// ---- leading dimensions: the one place for the rules the server and its backends share ----
// Whether the call's output is its B (trmm/trsm, whose in/out matrix is B: the server and the
// backends pass it as `c`, and the call has no other B), rather than C.
bool level3_output_is_b(const Level3Args& args);
// The output's leading dimension: ldc, or ldb when the output is B.
std::int64_t level3_output_ld(const Level3Args& args);
// Sets the output's leading dimension: ldc, and ldb too for trmm/trsm.
void set_level3_output_ld(Level3Args& args, std::int64_t ld);
// The call as a backend sees it on packed operands (what the server receives): every leading
// dimension is its operand's row count, at least 1 (1 for an operand the call does not have), and
// for trmm/trsm ldb is the output's.
Level3Args level3_packed(const Level3Args& args);

}  // namespace rcpu
