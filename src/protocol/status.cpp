#include "protocol/status.h"

namespace rcpu::protocol {

const char* error_code_name(ErrorCode code) {
  switch (code) {
#define RCPU_X(name, value, text) \
  case ErrorCode::name:           \
    return #name;
    RCPU_PROTOCOL_ERRORS(RCPU_X)
#undef RCPU_X
  }
  return "unknown";
}

const char* error_code_text(ErrorCode code) {
  switch (code) {
#define RCPU_X(name, value, text) \
  case ErrorCode::name:           \
    return text;
    RCPU_PROTOCOL_ERRORS(RCPU_X)
#undef RCPU_X
  }
  return "unknown error";
}

}  // namespace rcpu::protocol
