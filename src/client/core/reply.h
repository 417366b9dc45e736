// Reading the server's answer to a request, the same for every kind of call and for the
// stop-and-wait and striped paths alike.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "protocol/frame.h"
#include "protocol/messages.h"
#include "transport/transport.h"

namespace rcpu::client {

// An ERROR frame the server sent instead of what the call expected.
struct ServerRefusal {
  std::string cause;     // "server error: out of memory"
  bool closing = false;  // kFlagClosing: the server hangs up right after it
};

// After recv_header returned the ERROR header `h`: reads its body.
ServerRefusal read_refusal(transport::Connection& c, const protocol::FrameHeader& h);

// Reads the header of the reply to request `id`, adding its size (and an ERROR's body) to
// `bytes_received`. An ERROR is read whole and returned. This request's RESPONSE returns nothing,
// `h` being its header with the body still to read. Any other frame throws ProtocolError.
// The wait for the reply's first byte is the connection's per-read time-out (the computation may
// be long). With `reply_bytes` (what follows the RESPONSE's header: its body, every output DATA
// frame), the rest of the reply must then arrive within reply_deadline_ms(reply_bytes), however
// slowly it trickles: the deadline stays on the connection until the caller clears it
// (set_read_deadline(0)) before giving the connection back to the pool.
std::optional<ServerRefusal> read_reply_header(transport::Connection& c, std::uint64_t id, protocol::FrameHeader& h,
                                               std::uint64_t& bytes_received,
                                               std::optional<std::uint64_t> reply_bytes = std::nullopt);

// How long the rest of a reply of `bytes` may take once its first byte is in: a base
// (RCPU_REPLY_BASE_MS, default 10 s) plus the bytes at 1 MiB/s, the slowest rate a working
// server sends at.
int reply_deadline_ms(std::uint64_t bytes);

// Reads the body of a RESPONSE (Level 3, FFT) after its header `h` and checks that it describes
// `output`, the operand the call expects back; throws ProtocolError otherwise.
protocol::Response read_response(transport::Connection& c, const protocol::FrameHeader& h,
                                 const protocol::OperandDesc& output);

}  // namespace rcpu::client
