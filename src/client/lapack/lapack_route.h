// The routing template of the offloaded LAPACK routines (spec/offload/lapack.txt): their generated
// entry points (build/generated/lapack_exports.cpp) describe the call and hand it to
// route::lapack; every other LAPACK routine forwards to the local LAPACK (core/local_route.h).
#pragma once

#include <chrono>
#include <complex>
#include <cstdint>

#include "blas_symbols.h"
#include "client/core/local_route.h"
#include "client/lapack/lapack_site.h"

namespace rcpu::route {

// ---- the decision point for LAPACK ----
// Runs a LAPACK call remotely when it is valid (else LAPACK itself must report it, locally), not a
// workspace query, not trivial, the policy says so, and the application's workspace is at least
// what the local library asks for (`enough_workspace`, the local workspace query). Returns true when
// it ran remotely: outputs, *info and (through `finish`) WORK(1)/IWORK(1)/RWORK(1) are written.
bool offload_lapack(Sym s, const client::LapackSite& x, client::Callback enough_workspace, client::Callback finish,
                    const char*& why_local);
void record_lapack_local(Sym s, const client::LapackSite& x, double seconds, const char* why);

// LAPACK's workspace query answer (WORK(1) after LWORK = -1) as a count, the way applications read
// it (INT(WORK(1))).
inline std::int64_t work_count(float v) { return std::int64_t(v); }
inline std::int64_t work_count(double v) { return std::int64_t(v); }
inline std::int64_t work_count(std::complex<float> v) { return std::int64_t(v.real()); }
inline std::int64_t work_count(std::complex<double> v) { return std::int64_t(v.real()); }
inline std::int64_t work_count(std::int32_t v) { return v; }
inline std::int64_t work_count(std::int64_t v) { return v; }

// Offloadable LAPACK routines (generated from spec/offload/lapack.txt).
template <Sym S, class Describe, class Query, class Finish, class... A>
void lapack(Describe describe, Query query, Finish finish, A... a) {
  if (inside_local()) return call_local<S>(a...);
  client::LapackSite x;
  describe(x);
  const char* why = nullptr;
  if (offload_lapack(S, x, client::Callback::of(query), client::Callback::of(finish), why)) return;
  const auto t0 = std::chrono::steady_clock::now();
  call_local<S>(a...);
  record_lapack_local(S, x, seconds_since(t0), why);
}

}  // namespace rcpu::route
