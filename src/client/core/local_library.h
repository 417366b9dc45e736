// The real BLAS that runs every call rcpu keeps local, opened at first use.
//
// The interposition trap (docs/architecture.md, "Client rules and how they are met"): once librcpu
// defines dgemm_, a local library's own internal calls to exported BLAS symbols (its LAPACK calling
// dgemm_) bind back to rcpu. local_route.h's thread-local re-entry guard sends every such call
// straight back to the local library, untraced and never remote. The library is deliberately NOT opened with
// RTLD_DEEPBIND: that would also bind its calls to xerbla_ to its own, and the application's xerbla_ must win (see
// local_library.cpp).
#pragma once

#include <string>

namespace rcpu::client {

// The handle of the local BLAS; opened on first call (fatal with a clear message if none works).
void* local_blas_handle();
// Path of the library actually opened (for `rcpu config`, logs and tests).
std::string local_blas_path();
// Looks a symbol up in the local library; nullptr if it lacks it.
void* local_blas_symbol(const char* name);

// The local LAPACK, opened on the first LAPACK call: RCPU_LOCAL_LAPACK if set; else the local BLAS
// itself if it exports dgetrf_ (OpenBLAS carries LAPACK); else Debian's reference liblapack.so.3
// (whose own BLAS calls come back into rcpu and meet the re-entry guard: they stay local).
std::string local_lapack_path();
void* local_lapack_symbol(const char* name);

}  // namespace rcpu::client
