// The remote path of an FFT (the FFT counterpart of blas/level3_remote.h's run_level3_remote).
#pragma once

#include "client/core/remote.h"
#include "common/fft.h"

namespace rcpu::fftw {

// Runs the transform `d` (strides as the application's arrays have them) on the server: gathers
// the input from `in` into the packed layout, sends it, and scatters the packed result into `out`
// exactly where FFTW writes it (never a byte elsewhere, so in-place padding is left alone). The
// input array is never written (for c2r FFTW may destroy it; rcpu leaves it intact). On any status
// other than ok, `out` is untouched and the caller runs the transform locally.
client::RemoteResult run_fft_remote(const FftDescriptor& d, const void* in, void* out, unsigned planner_flags);

}  // namespace rcpu::fftw
