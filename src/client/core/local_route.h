// The part of routing every kind of the BLAS/LAPACK ABI shares: the local library's entry point for
// a symbol, the re-entry guard, and the template of every routine that only ever runs locally.
// They keep the application no worse off than with its own library:
//   - a call made from inside the local library (its own internal BLAS calls resolving back into
//     rcpu) goes straight back to that library: the re-entry guard (local_library.h says why);
//   - a routine rcpu does not offload costs one indirect call, plus a trace record when asked.
// The kinds add their own templates on top: blas/blas_route.h (checks, Level 3) and
// lapack/lapack_route.h (offloaded solvers).
#pragma once

#include <chrono>
#include <type_traits>

#include "blas_symbols.h"

namespace rcpu {

// An option character as LSAME compares it.
inline char upper(char c) { return (c >= 'a' && c <= 'z') ? char(c - 'a' + 'A') : c; }

namespace route {

// ---- the local library ----
// The local library's entry point for a symbol, resolved at first use. A missing symbol or library
// is fatal, with a message naming what was looked for.
void* resolve_local(Sym s);
template <Sym S>
typename SymInfo<S>::fn local_fn() {
  return reinterpret_cast<typename SymInfo<S>::fn>(resolve_local(S));
}

// ---- the re-entry guard ----
bool inside_local();
struct LocalScope {
  LocalScope();
  ~LocalScope();
  LocalScope(const LocalScope&) = delete;
  LocalScope& operator=(const LocalScope&) = delete;
};

template <Sym S, class... A>
decltype(auto) call_local(A... a) {
  LocalScope guard;
  return local_fn<S>()(a...);
}

// ---- tracing and statistics ----
bool recording();  // RCPU_TRACE or RCPU_STATS is set
void record_local(Sym s, double seconds);
double seconds_since(std::chrono::steady_clock::time_point t0);

// Routines with nothing to check and nothing to offload (Level 1, helpers, most of LAPACK).
template <Sym S, class... A>
decltype(auto) local(A... a) {
  using R = decltype(local_fn<S>()(a...));
  if (!recording() || inside_local()) return call_local<S>(a...);
  const auto t0 = std::chrono::steady_clock::now();
  if constexpr (std::is_void_v<R>) {
    call_local<S>(a...);
    record_local(S, seconds_since(t0));
  } else {
    R r = call_local<S>(a...);
    record_local(S, seconds_since(t0));
    return r;
  }
}

}  // namespace route
}  // namespace rcpu
