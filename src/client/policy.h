// The one place that decides whether a call may run remotely. A real cost model (bytes over the
// measured link vs. local and server rates) replaces the flop threshold in a later issue; callers
// only see Decision.
#pragma once

#include "client/config.h"
#include "common/level3.h"

namespace rcpu::client {

struct Decision {
  bool remote = false;
  const char* why = "";  // stable text for the trace: "policy=remote", "below-threshold", ...
};

// `server_configured`: RCPU_SERVER names a server. Whether it answers is found out by trying
// (the remote path backs off after failures, so a dead server costs nothing per call).
Decision decide_level3(const Config& config, const Level3Args& args, bool server_configured);

}  // namespace rcpu::client
