// The FFT call kind of rcpud (spec/offload/fftw.txt): one-connection transforms (a stop-and-wait
// call, fftw/fft_request.h) and transforms striped over several connections (fftw/fft_stripes.h).
#pragma once

#include "server/core/kind_table.h"

namespace rcpu::server::fftw {

// The kind's name in the kind table and the stripe registry.
inline constexpr const char* kName = "fftw";

// Claims the REQUESTs whose opcode is an FFT opcode (a tiled REQUEST is Level 3's whatever its
// opcode) and the JOINs with kFlagStriped, which join striped FFTs.
CallKind fftw_kind();

}  // namespace rcpu::server::fftw
