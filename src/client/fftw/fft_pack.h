// The packed layout of a transform's sides (common/fft.h, fft_packed: contiguous, batches one after
// another), as it travels, and the application's strided arrays: gathering one into the other and
// back, exactly where FFTW reads and writes (never a byte elsewhere, so in-place padding is left
// alone).
#pragma once

#include <cstddef>

#include "common/fft.h"

namespace rcpu::fftw {

// `side` 0 = input, 1 = output.
void fft_gather(const FftDescriptor& d, int side, const void* array, void* packed);
void fft_scatter(const FftDescriptor& d, int side, const void* packed, void* array);

// The byte size of one element of a side (real or complex).
std::size_t fft_elem_size(const FftDescriptor& d, int side);

// Whether one side of the application's layout already is the packed layout: then it travels
// straight from / into the application's array, saving a copy as slow as the link itself (one
// memcpy stream moves ~3 GB/s).
bool fft_side_is_packed(const FftDescriptor& d, int side);

}  // namespace rcpu::fftw
