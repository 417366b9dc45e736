// The routing templates of BLAS and CBLAS: every generated entry point of build/generated/
// blas_exports.cpp that is not a plain local forward (core/local_route.h) is one call into one of
// these, or (CBLAS) a generated adapter ending in one. They keep the application no worse off than
// with its own BLAS:
//   - arguments are checked before anything runs, and errors reach xerbla_ exactly as in netlib;
//   - a call made from inside the local library goes straight back to it (the re-entry guard);
//   - Level-3 calls may run remotely; any remote failure runs them locally instead.
#pragma once

#include <chrono>
#include <complex>

#include "blas_symbols.h"
#include "client/core/local_route.h"
#include "common/level3.h"

namespace rcpu {

// A Level-3 scalar as Level3Args holds it (complex<double>; exact for every type).
inline std::complex<double> widen(const float* p) { return {double(*p), 0.0}; }
inline std::complex<double> widen(const double* p) { return {*p, 0.0}; }
inline std::complex<double> widen(const std::complex<float>* p) { return {double(p->real()), double(p->imag())}; }
inline std::complex<double> widen(const std::complex<double>* p) { return *p; }

namespace route {

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

// ---- the templates the generated code calls ----

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

}  // namespace route
}  // namespace rcpu

// The CBLAS error globals of netlib's CBLAS; the CBLAS testers read them (RowMajorStrg is
// copy-relocated into the tester), so the adapters set them exactly as netlib does.
extern "C" {
extern int RowMajorStrg;
extern int CBLAS_CallFromC;
}
