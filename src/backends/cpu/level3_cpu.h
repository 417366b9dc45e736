// The CPU backend's Level-3 calls (generated: build/generated/level3_cpu_calls.cpp, from the
// Level-3 families of spec/offload/blas.txt and their prototypes in spec/abi/blas.txt): each
// routine through OpenBLAS's Fortran entry point.
#pragma once

#include "backends/backend.h"
#include "common/level3.h"

namespace rcpu::backend {

// Whether the spec has the routine (real types have no hemm/herk/her2k).
bool level3_cpu_supports(L3Family family, Dtype dtype);
// Runs a validated call on host buffers as Backend::level3 describes them (for trmm/trsm `c` is B,
// with leading dimension args.ldb). Throws BackendError for a routine the spec does not have, or a
// dimension past the 32-bit BLAS integer.
void level3_cpu_call(const Level3Args& args, const void* a, const void* b, void* c);

}  // namespace rcpu::backend
