// The one place that decides whether a call may run remotely. A real cost model (bytes over the
// measured link vs. local and server rates) replaces the flop threshold in a later issue; callers
// only see Decision.
#pragma once

#include "client/core/config.h"
#include "common/level3.h"

namespace rcpu::client {

struct Decision {
  bool remote = false;
  const char* why = "";  // stable text for the trace: "policy=remote", "below-threshold", ...
};

// `server_configured`: RCPU_SERVER names a server. Whether it answers is found out by trying
// (the remote path backs off after failures, so a dead server costs nothing per call).
Decision decide_level3(const Config& config, const Level3Args& args, bool server_configured);

// The same decision for a valid LAPACK call of `flops` (its spec's flop count): a call with nothing
// to compute (0 flops: empty matrices, quick returns) stays local whatever the policy; under `auto`
// factorizations below RCPU_AUTO_MIN_FLOPS stay local like small Level-3 calls.
// auto_scale: the routine's spec factor on RCPU_AUTO_MIN_FLOPS (LapackRoutine::auto_scale).
Decision decide_lapack(const Config& config, double flops, bool server_configured, double auto_scale = 1.0);

// FFTs: `flops` is common/fft.h's fft_flops (5 N log2 N per transform). `auto` sends transforms of
// at least RCPU_FFT_AUTO_MIN_FLOPS; `remote` every transform a server can run.
Decision decide_fft(const Config& config, double flops, bool server_configured);

}  // namespace rcpu::client
