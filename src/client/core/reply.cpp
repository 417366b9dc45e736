#include "client/core/reply.h"

#include "protocol/status.h"
#include "protocol/wire.h"

namespace rcpu::client {

using namespace rcpu::protocol;

ServerRefusal read_refusal(transport::Connection& c, const FrameHeader& h) {
  const ErrorReply e = recv_body<ErrorReply>(c, h);
  return {std::string("server error: ") + error_code_text(e.code), (h.flags & kFlagClosing) != 0};
}

std::optional<ServerRefusal> read_reply_header(transport::Connection& c, std::uint64_t id, FrameHeader& h,
                                               std::uint64_t& bytes_received) {
  h = recv_header(c);
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
