// The real BLAS that runs every call rcpu keeps local, opened at first use.
//
// The interposition trap (DESIGN §3): once librcpu defines dgemm_, a local library's own internal
// calls to exported BLAS symbols (its LAPACK calling dgemm_) could bind back to rcpu. The library is
// therefore opened with RTLD_DEEPBIND, so it binds to its own symbols first, and route.h's re-entry
// guard sends anything that still comes back straight to the local library.
#pragma once

#include <string>

namespace rcpu::client {

// The handle of the local BLAS; opened on first call (fatal with a clear message if none works).
void* local_blas_handle();
// Path of the library actually opened (for `rcpu config`, logs and tests).
std::string local_blas_path();
// Looks a symbol up in the local library; nullptr if it lacks it.
void* local_blas_symbol(const char* name);

}  // namespace rcpu::client
