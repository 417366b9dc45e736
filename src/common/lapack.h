// The one description of a remote LAPACK call that every layer shares (issue #5), the counterpart
// of level3.h. What each routine takes is described once, in spec/offload/lapack.txt; the generator
// turns every family there into a LapackRoutine (build/generated/lapack_offload.cpp): its options,
// dimensions, operands with their shapes, its argument checks and its flop count.
//
// On the wire a call is its opcode, its option letters and its dimensions (64-bit), then its
// operands packed (leading dimension = rows). Workspace never travels: the server allocates its own,
// and the client writes back what LAPACK defines on exit (WORK(1) = optimal LWORK, ...).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/level3.h"

namespace rcpu {

inline constexpr int kMaxLapackOpts = 4;
inline constexpr int kMaxLapackDims = 4;
inline constexpr int kMaxLapackOperands = 6;

struct LapackArgs {
  std::uint32_t opcode = 0;
  char opts[kMaxLapackOpts] = {0, 0, 0, 0};          // option letters, upper case, prototype order
  std::int64_t dims[kMaxLapackDims] = {0, 0, 0, 0};  // m, n, k, nrhs as the prototype orders them
};

// The element type of an operand: the routine's own type, its real type (eigenvalues, singular
// values of complex routines) or INTEGER (pivots; 32-bit on the wire, the LP64 ABI's INTEGER).
enum class ElemKind : std::uint8_t { T = 0, R = 1, I = 2 };

struct LapackOperand {
  const char* name = "";
  Role role = Role::none;
  ElemKind kind = ElemKind::T;
  std::int64_t rows = 0, cols = 0;
  std::uint32_t elem = 0;  // bytes per element
  char tri = 0;            // 'U'/'L': only this triangle is written back
  std::uint64_t bytes() const { return std::uint64_t(rows) * std::uint64_t(cols) * elem; }
  bool reads() const { return role == Role::in || role == Role::inout; }
  bool writes() const { return role == Role::out || role == Role::inout; }
};

struct LapackRoutine {
  std::uint32_t opcode;
  const char* name;    // "dgetrf"
  const char* family;  // "getrf"
  Dtype dtype;
  int nopts, ndims, nops;
  const char* const* opt_names;
  const char* const* dim_names;
  bool local_if_info;  // info > 0 from a remote run: run it locally instead (see the spec)
  // The reference routine's checks of options and dimensions (leading dimensions excluded).
  bool (*valid)(const LapackArgs&);
  // Every operand, in spec order (nops of them), for valid arguments.
  void (*shapes)(const LapackArgs&, LapackOperand* out);
  double (*flops)(const LapackArgs&);
  // RCPU_POLICY=auto sends a call remote from auto_scale x RCPU_AUTO_MIN_FLOPS flops on (the
  // spec's auto-scale: routines whose remote path was measured slower than local below that).
  double auto_scale;
};

// The routine an opcode names, or null (generated).
const LapackRoutine* lapack_routine(std::uint32_t opcode);

// What the server checks before trusting a request: a known routine, dimensions in [0, 2^31)
// (LP64 LAPACK), option letters and dimensions valid, operand sizes that cannot overflow.
std::optional<std::string> lapack_validate(const LapackArgs& args);

// Helpers for the spec's expressions (generated code uses them unqualified).
namespace lapack_expr {
inline std::int64_t min(std::int64_t a, std::int64_t b) { return a < b ? a : b; }
inline std::int64_t max(std::int64_t a, std::int64_t b) { return a > b ? a : b; }
inline double min(double a, double b) { return a < b ? a : b; }
inline double max(double a, double b) { return a > b ? a : b; }
}  // namespace lapack_expr

}  // namespace rcpu
