// What a Level-3 REQUEST must look like, shared by the client (to build one) and the server (to
// check one before allocating anything for it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/level3.h"
#include "protocol/messages.h"

namespace rcpu::protocol {

// The operand list of a valid call: every operand level3_shapes() gives a role, in index order.
std::vector<OperandDesc> level3_operands(const Level3Args& args);

// Bytes of the operands the client sends (roles in/inout) and of all operands (what the server
// holds in memory). Both saturate instead of wrapping.
std::uint64_t input_bytes(const std::vector<OperandDesc>& ops);
std::uint64_t total_bytes(const std::vector<OperandDesc>& ops);

// The operand the server sends back (C, or B of trmm/trsm).
const OperandDesc* output_operand(const std::vector<OperandDesc>& ops);

// Checks a decoded request: the opcode names this routine, the arguments pass level3_validate,
// and the operand list is exactly level3_operands(args). Returns what is wrong, or nothing.
std::optional<std::string> check_level3_request(std::uint32_t opcode, const Request& request);

}  // namespace rcpu::protocol
