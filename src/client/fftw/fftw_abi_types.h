// C++ spellings of the types in spec/abi/fftw.txt that fftw3.h does not name: the callback types of
// fftw_threads_set_callback and of the legacy-Fortran wisdom routines (FFTW's api/f77funcs.h).
#pragma once

#include <cstddef>

#include "common/abi_types.h"  // RCPU_EXPORT

using fftw_parallel_loop = void (*)(void* (*work)(char*), char* jobdata, std::size_t elsize, int njobs, void* data);
using fftw_f77_write_char = void (*)(char* c, void* data);
using fftw_f77_read_char = void (*)(int* c, void* data);
