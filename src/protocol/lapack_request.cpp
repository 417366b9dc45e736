#include "protocol/lapack_request.h"

namespace rcpu::protocol {

std::vector<OperandDesc> lapack_operands(const LapackRoutine& r, const LapackArgs& args) {
  LapackOperand ops[kMaxLapackOperands];
  r.shapes(args, ops);
  std::vector<OperandDesc> out;
  for (int j = 0; j < r.nops; ++j) {
    const bool empty = ops[j].rows == 0 || ops[j].cols == 0;
    out.push_back(OperandDesc{std::uint8_t(j), ops[j].role, empty ? 0 : std::uint64_t(ops[j].rows),
                              empty ? 0 : std::uint64_t(ops[j].cols), ops[j].elem});
  }
  return out;
}

LapackRequest make_lapack_request(const LapackRoutine& r, const LapackArgs& args) {
  LapackRequest req;
  for (int i = 0; i < kMaxLapackOpts; ++i) req.opts[i] = std::uint8_t(args.opts[i]);
  for (int i = 0; i < kMaxLapackDims; ++i) req.dims[i] = args.dims[i];
  req.operands = lapack_operands(r, args);
  return req;
}

LapackArgs lapack_args_of(std::uint32_t opcode, const LapackRequest& req) {
  LapackArgs a;
  a.opcode = opcode;
  for (int i = 0; i < kMaxLapackOpts; ++i) a.opts[i] = char(req.opts[i]);
  for (int i = 0; i < kMaxLapackDims; ++i) a.dims[i] = req.dims[i];
  return a;
}

std::optional<std::string> check_lapack_request(std::uint32_t opcode, const LapackRequest& req) {
  const LapackRoutine* r = lapack_routine(opcode);
  if (!r) return "unknown opcode " + std::to_string(opcode);
  const LapackArgs args = lapack_args_of(opcode, req);
  if (auto err = lapack_validate(args)) return err;
  const std::vector<OperandDesc> expected = lapack_operands(*r, args);
  if (req.operands.size() != expected.size())
    return "expected " + std::to_string(expected.size()) + " operands, got " + std::to_string(req.operands.size());
  for (std::size_t i = 0; i < expected.size(); ++i)
    if (!(req.operands[i] == expected[i]))
      return "operand " + std::to_string(i) + " does not match the shape of the call";
  return std::nullopt;
}

}  // namespace rcpu::protocol
