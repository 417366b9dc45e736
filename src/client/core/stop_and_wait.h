// The client's one stop-and-wait exchange, shared by every kind of call that is neither tiled nor
// striped (Level 3, LAPACK, FFT): on one leased connection the REQUEST, then the operands the call
// reads as DATA frames, then the server's reply (RESPONSE, or ERROR) and the operands it writes.
// Each kind builds the request and says where each operand's bytes come from and go; what it does
// with them afterwards (copying staged results into the application's arrays) is its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "client/core/remote.h"
#include "client/core/remote_pool.h"
#include "protocol/frame.h"
#include "transport/transport.h"

namespace rcpu::client {

// An operand the call reads, sent straight from memory: rows x cols elements of `elem` bytes,
// column-major with a leading dimension of `ld` elements (protocol::send_matrix).
struct SentOperand {
  std::uint32_t index = 0;
  const void* base = nullptr;
  std::uint64_t rows = 0, cols = 0, ld = 0;
  std::size_t elem = 0;
};

// An operand the call writes: `bytes` received packed into `dst`.
struct ReceivedOperand {
  std::uint32_t index = 0;
  void* dst = nullptr;
  std::uint64_t bytes = 0;
};

// What a RESPONSE says about the run, whichever message carried it.
struct ServerReport {
  std::uint64_t server_ns = 0;  // on the server: from the last input byte to the first output byte
  std::string backend;          // the backend that ran it
};

struct StopAndWaitCall {
  std::uint32_t opcode = 0;
  std::vector<std::uint8_t> request;  // the REQUEST message, encoded (protocol::encode)
  std::vector<SentOperand> sends;     // in the order they travel
  std::vector<ReceivedOperand> receives;
  // Reads the RESPONSE body after its header (each kind has its own message) and checks it;
  // throws protocol::ProtocolError when it does not answer this call.
  std::function<ServerReport(transport::Connection&, const protocol::FrameHeader&)> read_response;
};

// Runs `call` on `lease` and gives the lease back: released after a complete exchange or a server
// refusal (discarded if the server closes the connection), discarded when the connection broke.
// ok: every received operand is in place, timing filled. failed, with the cause ("server error:
// ...", "connection lost: ..."): the kind's own memory is as it was except for the `dst` buffers.
RemoteResult run_stop_and_wait(Lease lease, const StopAndWaitCall& call);

}  // namespace rcpu::client
