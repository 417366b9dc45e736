// One client connection of rcpud: handshake, then requests one after another until the client says
// BYE, goes away, or breaks the protocol. Everything a session allocates lives in the session's
// own scope, so it is all freed however the session ends.
#pragma once

#include <atomic>
#include <cstdint>

#include "backends/backend.h"
#include "server/counters.h"
#include "server/fft_stripes.h"
#include "server/host_buffers.h"
#include "server/memory_budget.h"
#include "server/options.h"
#include "server/tiled_call.h"
#include "transport/transport.h"

namespace rcpu::server {

struct SessionContext {
  const ServerOptions& options;
  backend::Backend& primary;  // --backend's choice
  backend::Backend& cpu;      // where calls the primary does not support go (may be `primary`)
  Counters& counters;
  MemoryBudget& memory;
  std::atomic<int>& active_sessions;  // sessions that passed the handshake, this one included
  std::atomic<bool>& stopping;
  CallRegistry& calls;         // striped tiled calls, joined by their other connections
  HostBufferPool& buffers;     // operand buffers, shared by every session
  FftCallRegistry& fft_calls;  // striped FFTs, joined by their other connections
};

// Runs the session to its end. Never throws.
void run_session(transport::Connection& conn, SessionContext& ctx);

}  // namespace rcpu::server
