// rcpu's FFTW plan object. The fftw_plan an application holds points to one of these: the local
// FFTW's real plan (made at planning time with the application's flags, so FFTW_MEASURE/PATIENT
// behave exactly as in FFTW and the local path is always ready) plus, for transforms a server can
// run (complex DFT, r2c, c2r), the transform's description and the arrays bound at planning, so
// that executing never needs to ask the local FFTW or the network anything about the plan.
#pragma once

#include <fftw3.h>

#include <cstdint>
#include <cstring>

#include "common/fft.h"

namespace rcpu::fftw {

// First word of every rcpu plan. Plans of the real FFTW also reach rcpu's entry points: FFTW's
// add-on libraries (libfftw3_mpi) build theirs with FFTW internals rcpu forwards, and hand them to
// the application, which executes and destroys them with the ordinary API. A real FFTW plan starts
// with a pointer; this value is not a canonical address on any 64-bit machine, so no pointer a
// plan holds can equal it.
inline constexpr std::uint64_t kPlanMagic = 0x8C5A'F77E'0000'5C0Dull;

struct Plan {
  std::uint64_t magic = kPlanMagic;
  void* local = nullptr;        // the local FFTW's plan (fftw_plan or fftwf_plan of that library)
  bool remote_capable = false;  // a complex DFT, r2c or c2r: `desc` is valid
  FftDescriptor desc;           // guru64 form; strides in elements of the input / output type
  void* in = nullptr;           // arrays bound at planning (fftw_execute uses them)
  void* out = nullptr;
  unsigned flags = 0;
};

// What a planner's arguments say, before the local FFTW has planned.
struct Described {
  FftDescriptor desc;
  void* in = nullptr;
  void* out = nullptr;
  unsigned flags = 0;
};

// Whether `p` (an fftw_plan or fftwf_plan the application passed) is one of rcpu's plans.
inline bool is_rcpu_plan(const void* p) {
  std::uint64_t first;
  std::memcpy(&first, p, sizeof first);
  return first == kPlanMagic;
}

}  // namespace rcpu::fftw

// FFTW declares these as incomplete types (typedef struct fftw_plan_s *fftw_plan); rcpu completes
// them with its own plan object.
struct fftw_plan_s {
  rcpu::fftw::Plan plan;
};
struct fftwf_plan_s {
  rcpu::fftw::Plan plan;
};
