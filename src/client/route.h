// The routing templates: every generated entry point (build/generated/blas_exports.cpp) is one call
// into one of these. They keep the application no worse off than with its own BLAS:
//   - arguments are checked before anything runs, and errors reach xerbla_ exactly as in netlib;
//   - a call made from inside the local library (its own internal BLAS calls resolving back into
//     rcpu) goes straight back to that library: the re-entry guard;
//   - Level-3 calls may run remotely; any remote failure runs them locally instead.
#pragma once

#include <chrono>
#include <complex>
#include <cstdint>
#include <type_traits>

#include "blas_symbols.h"
#include "client/lapack_site.h"
#include "common/level3.h"

namespace rcpu {

inline char upper(char c) { return (c >= 'a' && c <= 'z') ? char(c - 'a' + 'A') : c; }

inline std::complex<double> widen(const float* p) { return {double(*p), 0.0}; }
inline std::complex<double> widen(const double* p) { return {*p, 0.0}; }
inline std::complex<double> widen(const std::complex<float>* p) { return {double(p->real()), double(p->imag())}; }
inline std::complex<double> widen(const std::complex<double>* p) { return *p; }

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

// ---- argument errors ----
// Calls xerbla_("DGEMM ", &info, 6) through the dynamic linker, so the application's own xerbla_
// (the netlib testers define one) takes precedence over rcpu's.
void report_xerbla(Sym s, int info);
// For CBLAS adapters: cblas_xerbla(pos, "cblas_dgemm", form, value) through the dynamic linker.
void report_cblas_error(Sym s, int pos, const char* form, int value);

// ---- the one decision point for Level 3 ----
// Decides where a valid Level-3 call runs. If remote, runs it there and returns true (results are
// in the application's arrays, trace written). Otherwise returns false and fills `why_local`
// with the reason, to be recorded when the caller has run it locally.
bool offload_level3(Sym s, const Level3Args& x, const void* a, const void* b, void* c, const char*& why_local);
void record_level3_local(Sym s, const Level3Args& x, double seconds, const char* why);

// ---- the decision point for LAPACK (spec/offload/lapack.txt) ----
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

// ---- the templates the generated code calls ----

// Routines with nothing to check and nothing to offload (Level 1, helpers).
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

// Level-2 Fortran routines: reference argument checks, then local.
template <Sym S, class Check, class... A>
void checked(Check check, A... a) {
  if (inside_local()) return call_local<S>(a...);
  if (int info = check()) return report_xerbla(S, info);
  local<S>(a...);
}

// A valid Level-3 call, already described column-major in `x`; `local_args` are the arguments the
// local library's own entry point S takes (the CBLAS adapters pass the original CBLAS arguments).
template <Sym S, class... A>
void run_level3(const Level3Args& x, const void* a, const void* b, void* c, A... local_args) {
  const char* why = nullptr;
  if (offload_level3(S, x, a, b, c, why)) return;
  const auto t0 = std::chrono::steady_clock::now();
  call_local<S>(local_args...);
  record_level3_local(S, x, seconds_since(t0), why);
}

// Level-3 Fortran routines: checks, then the decision point.
template <Sym S, class Check, class Make, class... A>
void level3(Check check, Make make, const void* a, const void* b, void* c, A... all) {
  if (inside_local()) return call_local<S>(all...);
  if (int info = check()) return report_xerbla(S, info);
  run_level3<S>(make(), a, b, c, all...);
}

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

}  // namespace route
}  // namespace rcpu

// The CBLAS error globals of netlib's CBLAS; the CBLAS testers read them (RowMajorStrg is
// copy-relocated into the tester), so the adapters set them exactly as netlib does.
extern "C" {
extern int RowMajorStrg;
extern int CBLAS_CallFromC;
}
