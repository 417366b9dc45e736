// The remote path of an FFT (the FFT counterpart of client/remote.h's run_level3_remote).
#pragma once

#include "client/remote.h"
#include "common/fft.h"

namespace rcpu::fftw {

// Runs the transform `d` (strides as the application's arrays have them) on the server: gathers
// the input from `in` into the packed layout, sends it, and scatters the packed result into `out`
// exactly where FFTW writes it (never a byte elsewhere, so in-place padding is left alone). The
// input array is never written (for c2r FFTW may destroy it; rcpu leaves it intact). On any status
// other than ok, `out` is untouched and the caller runs the transform locally.
client::RemoteResult run_fft_remote(const FftDescriptor& d, const void* in, void* out, unsigned planner_flags);

// Gathers one side of a transform into its packed layout, and scatters it back: exposed for tests.
// `side` 0 = input, 1 = output; `elem` the byte size of one element of that side.
void fft_gather(const FftDescriptor& d, int side, const void* array, void* packed);
void fft_scatter(const FftDescriptor& d, int side, const void* packed, void* array);

}  // namespace rcpu::fftw
