// The real FFTW that runs every transform rcpu keeps local, opened at first use.
//
// The shim itself is libfftw3.so.3 (and libfftw3f, _threads, _omp) on LD_LIBRARY_PATH, so the local
// FFTW is opened by full path: RCPU_LOCAL_FFTW (the double-precision libfftw3.so.3; the single-
// precision and threads libraries are taken from the same folder), else the first real
// libfftw3.so.3 of the search that client/core/library_search.h describes (local_fftw.cpp).
//
// It is opened into its OWN link-map namespace (dlmopen LM_ID_NEWLM), not beside the shim:
//   - Debian's libfftw3_threads.so.3 needs ~900 FFTW-internal symbols (fftw_mksolver ...) from
//     its DT_NEEDED libfftw3.so.3; in the application's namespace that name is the shim, which
//     exports only the API. In the private namespace the real libfftw3.so.3, loaded first by full
//     path, satisfies that dependency (the loader matches it by soname).
//   - FFTW's own calls to its exported API (fftw_plan_dft_1d calling fftw_plan_many_dft, the
//     legacy-Fortran wrappers calling the C API) bind inside that namespace, never back into the
//     shim: no interposition trap, no re-entry guard needed for FFTW.
// The namespace has its own copy of libc: memory FFTW allocates there (wisdom strings, plan text)
// is copied out and freed with that namespace's free(); FILE* streams of the application are never
// handed to it (hand.cpp goes through FFTW's callback interfaces instead).
#pragma once

#include <string>

#include "fftw_symbols.h"

namespace rcpu::fftw {

// The local FFTW's entry point for a symbol (fatal, with a clear message, if it cannot be found).
void* resolve_local(FftwSym s);

// A function of the private namespace's libc (its "free").
void* namespace_libc_symbol(const char* name);

// Path of the local double-precision FFTW actually opened (for `rcpu config`, logs and tests).
std::string local_fftw_path();

}  // namespace rcpu::fftw
