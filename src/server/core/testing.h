// rcpud's test hooks, in one place. Each is read once from its environment variable; unset (as in
// production) every hook is off. Production code asks hooks() at one named point per hook, when a
// call is set up, never inside its loops; what a hook then does lives with the code it tests
// (server/blas/test_hooks.h, the striped FFT in server/fftw).
//   RCPUD_TEST_FAIL_PANEL=N        every tiled call fails at panel N, after the results of panels
//                                  0..N-1 were sent (tests/integration scenario `partial`)
//   RCPUD_TEST_TEAR_PANEL=N        every stripe of a tiled call sends its first result tile of
//                                  panel N torn (the frame announces the whole tile, half of it
//                                  follows), then the call fails, as a server dying mid-tile would
//                                  (scenario `partial`)
//   RCPUD_TEST_TRICKLE_PANEL=N     every stripe of a tiled call sends its first result tile of
//                                  panel N half at once and the rest a byte every 200 ms, as a
//                                  hostile server would, then fails (scenario `partial`)
//   RCPUD_TEST_STAGING_BYTES=N     tiled calls whose backend offers no tile staging (the CPU
//                                  backend) move their tiles through host slots of N bytes
//                                  (server/blas/host_staging.h; scenario `staged`)
//   RCPUD_TEST_FAIL_FFT_STRIPES=1  every striped FFT dies once the primary's own input range is in:
//                                  every connection of the call is shut down without a reply, as
//                                  if the server had crashed mid-stripe (tests/fftw, fault mode)
#pragma once

#include <cstddef>
#include <cstdint>

namespace rcpu::server::testing {

struct Hooks {
  std::int64_t fail_panel = -1;     // -1: never
  std::int64_t tear_panel = -1;     // -1: never
  std::int64_t trickle_panel = -1;  // -1: never
  std::size_t staging_bytes = 0;    // 0: no test staging
  bool fail_fft_stripes = false;

  // Whether any hook of tiled Level-3 calls is on.
  bool tiled_calls() const { return fail_panel >= 0 || tear_panel >= 0 || trickle_panel >= 0 || staging_bytes > 0; }
};

// The hooks the environment asked for, read on first use.
const Hooks& hooks();

}  // namespace rcpu::server::testing
