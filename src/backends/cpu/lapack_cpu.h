// The CPU backend's LAPACK calls (generated: build/generated/lapack_cpu_calls.cpp, from
// spec/offload/lapack.txt): each offloaded routine of OpenBLAS's LAPACK on packed operands.
#pragma once

#include <cstdint>

#include "backends/backend.h"
#include "common/lapack.h"

namespace rcpu::backend {

bool lapack_cpu_supports(std::uint32_t opcode);
// Runs the routine (see Backend::lapack) and returns its INFO.
std::int64_t lapack_cpu_call(const LapackArgs& args, void* const* p);

}  // namespace rcpu::backend
