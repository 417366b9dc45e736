#include "client/core/reply.h"

#include <algorithm>
#include <cstdlib>

#include "protocol/status.h"
#include "protocol/wire.h"

namespace rcpu::client {

using namespace rcpu::protocol;

ServerRefusal read_refusal(transport::Connection& c, const FrameHeader& h) {
  const ErrorReply e = recv_body<ErrorReply>(c, h);
  return {std::string("server error: ") + error_code_text(e.code), (h.flags & kFlagClosing) != 0};
}

int reply_deadline_ms(std::uint64_t bytes) {
  static const long base = [] {
    if (const char* env = std::getenv("RCPU_REPLY_BASE_MS")) {
      char* end = nullptr;
      const long v = std::strtol(env, &end, 10);
      if (end != env && *end == 0 && v > 0 && v < (1L << 30)) return v;
    }
    return 10000L;
  }();
  constexpr double kMinRate = 1 << 20;  // bytes per second
  return int(std::min<double>(double(base) + double(bytes) * 1000.0 / kMinRate, double(1 << 30)));
}

std::optional<ServerRefusal> read_reply_header(transport::Connection& c, std::uint64_t id, FrameHeader& h,
                                               std::uint64_t& bytes_received,
                                               std::optional<std::uint64_t> reply_bytes) {
  if (reply_bytes) {
    // The first byte: as long as the computation takes (the per-read time-out). The rest of the
    // header, its body and the outputs: within the deadline.
    std::uint8_t raw[kHeaderSize];
    c.recv_exact(raw, 1);
    c.set_read_deadline(reply_deadline_ms(kHeaderSize + kMaxControlPayload + *reply_bytes));
    c.recv_exact(raw + 1, kHeaderSize - 1);
    h = decode_header(raw);
  } else {
    h = recv_header(c);
  }
  bytes_received += kHeaderSize + h.payload_length;
  if (h.kind == Kind::error) return read_refusal(c, h);
  if (h.kind != Kind::response || h.request_id != id)
    throw ProtocolError(ErrorCode::bad_frame, std::string("expected RESPONSE, got ") + kind_name(h.kind));
  return std::nullopt;
}

Response read_response(transport::Connection& c, const FrameHeader& h, const OperandDesc& output) {
  Response resp = recv_body<Response>(c, h);
  if (!(resp.output == output)) throw ProtocolError(ErrorCode::bad_frame, "response describes another operand");
  return resp;
}

}  // namespace rcpu::client
