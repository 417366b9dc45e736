// What a LAPACK REQUEST must look like (common/lapack.h), shared by the client (to build one) and
// the server (to check one before allocating anything for it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/lapack.h"
#include "protocol/messages.h"

namespace rcpu::protocol {

// Every operand of the routine in spec order (index = position), with its packed shape.
std::vector<OperandDesc> lapack_operands(const LapackRoutine& r, const LapackArgs& args);

LapackRequest make_lapack_request(const LapackRoutine& r, const LapackArgs& args);
LapackArgs lapack_args_of(std::uint32_t opcode, const LapackRequest& req);

// Checks a decoded request: a LAPACK opcode, valid arguments (lapack_validate), and exactly the
// operand list lapack_operands() gives. Returns what is wrong, or nothing.
std::optional<std::string> check_lapack_request(std::uint32_t opcode, const LapackRequest& req);

}  // namespace rcpu::protocol
