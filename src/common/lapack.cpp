#include "common/lapack.h"

namespace rcpu {

std::optional<std::string> lapack_validate(const LapackArgs& args) {
  const LapackRoutine* r = lapack_routine(args.opcode);
  if (!r) return "unknown LAPACK opcode " + std::to_string(args.opcode);
  for (int i = 0; i < r->ndims; ++i)
    if (args.dims[i] < 0 || args.dims[i] > 0x7fffffffLL)
      return std::string(r->name) + ": dimension " + r->dim_names[i] + " out of range";
  for (int i = r->ndims; i < kMaxLapackDims; ++i)
    if (args.dims[i] != 0) return std::string(r->name) + ": unused dimension is not 0";
  for (int i = r->nopts; i < kMaxLapackOpts; ++i)
    if (args.opts[i] != 0) return std::string(r->name) + ": unused option is not 0";
  if (!r->valid(args)) return std::string(r->name) + ": invalid options or dimensions";
  LapackOperand ops[kMaxLapackOperands];
  r->shapes(args, ops);
  for (int i = 0; i < r->nops; ++i) {
    const LapackOperand& o = ops[i];
    if (o.rows < 0 || o.cols < 0) return std::string(r->name) + ": negative operand shape";
    if ((unsigned __int128)o.rows * std::uint64_t(o.cols) * o.elem > (unsigned __int128)(1ull << 62))
      return std::string(r->name) + ": operand " + o.name + " too large";
  }
  return std::nullopt;
}

}  // namespace rcpu
