#include "protocol/level3_request.h"

#include "rcpu_opcodes.h"

namespace rcpu::protocol {
namespace {

std::uint64_t sat_add(std::uint64_t a, std::uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

}  // namespace

std::vector<OperandDesc> level3_operands(const Level3Args& args) {
  const Level3Shapes s = level3_shapes(args);
  const OperandShape* shapes[3] = {&s.a, &s.b, &s.c};
  std::vector<OperandDesc> ops;
  for (std::uint8_t i = 0; i < 3; ++i) {
    const OperandShape& sh = *shapes[i];
    if (sh.role == Role::none) continue;
    ops.push_back(OperandDesc{i, sh.role, std::uint64_t(sh.rows), std::uint64_t(sh.cols),
                              std::uint32_t(element_size(args.dtype))});
  }
  return ops;
}

std::uint64_t input_bytes(const std::vector<OperandDesc>& ops) {
  std::uint64_t total = 0;
  for (const OperandDesc& d : ops)
    if (d.role == Role::in || d.role == Role::inout) total = sat_add(total, d.bytes());
  return total;
}

std::uint64_t total_bytes(const std::vector<OperandDesc>& ops) {
  std::uint64_t total = 0;
  for (const OperandDesc& d : ops) total = sat_add(total, d.bytes());
  return total;
}

const OperandDesc* output_operand(const std::vector<OperandDesc>& ops) {
  for (const OperandDesc& d : ops)
    if (d.role == Role::out || d.role == Role::inout) return &d;
  return nullptr;
}

std::optional<std::string> check_level3_request(std::uint32_t opcode, const Request& request) {
  L3Family family{};
  Dtype dtype{};
  if (!level3_from_opcode(opcode, family, dtype)) return "unknown opcode " + std::to_string(opcode);
  const Level3Args& a = request.args;
  if (a.family != family || a.dtype != dtype) return std::string("arguments do not describe ") + opcode_name(opcode);
  if (auto err = level3_validate(a)) return *err;
  // A client computes these itself (its policy says "trivial"). Served, a 200-byte dgemm with
  // k = 0 would make the server allocate, clear and send the whole of C.
  if (level3_is_trivial(a)) return "nothing to compute (alpha = 0 or an empty dimension): the client runs it";
  const std::vector<OperandDesc> expected = level3_operands(a);
  if (request.operands.size() != expected.size())
    return "expected " + std::to_string(expected.size()) + " operands, got " + std::to_string(request.operands.size());
  for (std::size_t i = 0; i < expected.size(); ++i)
    if (!(request.operands[i] == expected[i]))
      return "operand " + std::to_string(i) + " does not match the shape of the call";
  return std::nullopt;
}

}  // namespace rcpu::protocol
