// The templates every generated FFTW entry point (build/generated/fftw_exports.cpp) calls:
//   local<S>            forward to the local FFTW as is (wisdom, cleanup, threads API, Fortran)
//   planned<S>          a planner whose transform may run remotely: the local FFTW plans it (same
//                       flags), rcpu wraps that plan with the transform's description
//   planned_local<S>    a planner of what stays local (r2r, split arrays): wrapped, no description
//   with_local_plan<S>  a plan-taking routine that runs on the local plan (flops, cost, r2r/split execute)
// The hand-written entry points (execute, destroy_plan, malloc, printing, wisdom through stdio)
// are in hand.cpp and execute.cpp.
#pragma once

#include <new>
#include <type_traits>

#include "client/fftw/describe.h"
#include "client/fftw/local_fftw.h"
#include "client/fftw/plan.h"
#include "fftw_symbols.h"

namespace rcpu::fftw {

template <FftwSym S>
typename FftwSymInfo<S>::fn local_fn() {
  return reinterpret_cast<typename FftwSymInfo<S>::fn>(resolve_local(S));
}

template <FftwSym S, class... A>
decltype(auto) local(A... a) {
  return local_fn<S>()(a...);
}

// The local plan type of a wrapped plan type, and the local destroy routine.
template <class PS>
struct Precision;
template <>
struct Precision<fftw_plan_s> {
  using plan = fftw_plan;
  static constexpr FftwSym destroy = FftwSym::fftw_destroy_plan;
};
template <>
struct Precision<fftwf_plan_s> {
  using plan = fftwf_plan;
  static constexpr FftwSym destroy = FftwSym::fftwf_destroy_plan;
};

// The local FFTW's plan behind an application's plan: rcpu's wraps one; a plan the real FFTW made
// for an add-on library (plan.h) is one already.
template <class PS>
typename Precision<PS>::plan local_plan(const PS* p) {
  if (!is_rcpu_plan(p)) return reinterpret_cast<typename Precision<PS>::plan>(const_cast<PS*>(p));
  return static_cast<typename Precision<PS>::plan>(p->plan.local);
}

// Whether a description is one a server can run (positive sizes, at least one dimension).
bool remote_capable(const Described& d);

template <class P>
P wrap(P local_plan_ptr, const Described* d) {
  using PS = std::remove_pointer_t<P>;
  if (!local_plan_ptr) return nullptr;  // the local FFTW refused (bad sizes, FFTW_WISDOM_ONLY ...)
  PS* w = new (std::nothrow) PS{};
  if (!w) {
    local_fn<Precision<PS>::destroy>()(local_plan_ptr);
    return nullptr;
  }
  w->plan.local = local_plan_ptr;
  if (d) {
    w->plan.in = d->in;
    w->plan.out = d->out;
    w->plan.flags = d->flags;
    if (remote_capable(*d)) {
      w->plan.remote_capable = true;
      w->plan.desc = d->desc;
    }
  }
  return w;
}

template <FftwSym S, class Describe, class... A>
decltype(auto) planned(Describe describe, A... a) {
  auto p = local_fn<S>()(a...);
  const Described d = describe();
  return wrap(p, &d);
}

template <FftwSym S, class... A>
decltype(auto) planned_local(A... a) {
  return wrap(local_fn<S>()(a...), nullptr);
}

template <FftwSym S, class P, class... A>
decltype(auto) with_local_plan(P p, A... a) {
  return local_fn<S>()(local_plan(p), a...);
}

}  // namespace rcpu::fftw
