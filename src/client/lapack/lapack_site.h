// A LAPACK call as the application made it: the wire description (LapackArgs) plus where its
// operands live in the application's memory. Filled by the generated entry points
// (build/generated/lapack_exports.cpp) from spec/offload/lapack.txt.
#pragma once

#include <cstdint>
#include <type_traits>

#include "common/abi_types.h"
#include "common/lapack.h"

namespace rcpu::client {

struct LapackSite {
  LapackArgs args;
  // Operand j of the spec (spec order): its address and, for matrices, its leading dimension.
  void* ptr[kMaxLapackOperands] = {};
  std::int64_t ld[kMaxLapackOperands] = {};
  bool has_ld[kMaxLapackOperands] = {};
  abi::blas_int* info = nullptr;
};

// A callable the generated code passes without allocating: the workspace query ("is the
// application's workspace at least what the local library asks for?") and the write-back of
// WORK(1), IWORK(1), RWORK(1) after a remote run.
struct Callback {
  void* ctx = nullptr;
  bool (*fn)(void*) = nullptr;
  bool operator()() const { return fn(ctx); }
  template <class F>
  static Callback of(F& f) {
    return {&f, [](void* c) -> bool {
              if constexpr (std::is_void_v<decltype((*static_cast<F*>(c))())>) {
                (*static_cast<F*>(c))();
                return true;
              } else {
                return (*static_cast<F*>(c))();
              }
            }};
  }
};

}  // namespace rcpu::client
