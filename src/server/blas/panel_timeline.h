// rcpud --panel-timeline FILE: one JSON line per tiled call, appended to FILE when the call ends,
// saying when each panel's inputs were all in, when the backend had computed it, and when the last
// stripe had sent its results (milliseconds since the REQUEST arrived; -1: never). It shows where
// a pipelined call spends its time: inputs that come late, a device that lags the inputs, results
// that queue behind the network, and the tail after the last input byte.
//   {"routine":"dgemm","m":8000,"n":8000,"k":8000,"stripes":8,"panels":25,"panel_cols":320,
//    "backend":"cuda","staged":true,"ok":true,"last_input_ms":57.9,"end_ms":65.6,
//    "ready_ms":[...],"done_ms":[...],"sent_ms":[...]}
#pragma once

#include <string>

#include "common/level3.h"
#include "server/blas/tiled_call.h"

namespace rcpu::server::blas {

// Appends `call`'s line to `path` (serialized across sessions); a failure to write is logged once.
void append_panel_timeline(const std::string& path, const TiledCall& call, const Level3Args& args,
                           const std::string& backend, bool ok);

}  // namespace rcpu::server::blas
