// rcpu's FFTW plan object. The fftw_plan an application holds points to one of these: the local
// FFTW's real plan (made at planning time with the application's flags, so FFTW_MEASURE/PATIENT
// behave exactly as in FFTW and the local path is always ready) plus, for transforms a server can
// run (complex DFT, r2c, c2r), the transform's description and the arrays bound at planning, so
// that executing never needs to ask the local FFTW or the network anything about the plan.
#pragma once

#include <fftw3.h>

#include "common/fft.h"

namespace rcpu::fftw {

struct Plan {
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

}  // namespace rcpu::fftw

// FFTW declares these as incomplete types (typedef struct fftw_plan_s *fftw_plan); rcpu completes
// them with its own plan object.
struct fftw_plan_s {
  rcpu::fftw::Plan plan;
};
struct fftwf_plan_s {
  rcpu::fftw::Plan plan;
};
