// Every error code of the protocol, listed once (the enum, its wire value and its text come from
// this one list). Values are never reused; new codes are appended.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace rcpu::protocol {

#define RCPU_PROTOCOL_ERRORS(X)                        \
  X(ok, 0, "ok")                                       \
  X(bad_frame, 1, "malformed frame")                   \
  X(version_mismatch, 2, "protocol version mismatch")  \
  X(opcode_table_mismatch, 3, "opcode table mismatch") \
  X(auth_failed, 4, "authentication failed")           \
  X(bad_request, 5, "invalid request")                 \
  X(over_limit, 6, "request over a server limit")      \
  X(out_of_memory, 7, "server out of memory")          \
  X(backend_failed, 8, "backend failed")               \
  X(busy, 9, "server busy")                            \
  X(shutting_down, 10, "server shutting down")         \
  X(internal, 11, "internal server error")

enum class ErrorCode : std::uint32_t {
#define RCPU_X(name, value, text) name = value,
  RCPU_PROTOCOL_ERRORS(RCPU_X)
#undef RCPU_X
};

const char* error_code_name(ErrorCode code);  // "bad_frame"; "unknown" for values not listed
const char* error_code_text(ErrorCode code);  // "malformed frame"

// A violation of the protocol by the peer (or an encoder given impossible values). `code` is what
// an ERROR reply for it carries.
struct ProtocolError : std::runtime_error {
  ErrorCode code;
  ProtocolError(ErrorCode c, const std::string& what) : std::runtime_error(what), code(c) {}
};

}  // namespace rcpu::protocol
