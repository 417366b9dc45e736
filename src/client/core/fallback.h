// What happens after a call could not run remotely, the same for every kind (Level 3, LAPACK, FFT).
#pragma once

#include <string>

#include "client/core/config.h"

namespace rcpu::client {

// With RCPU_FALLBACK=error the process ends here, naming the routine and the cause. Otherwise the
// first failure of each cause is reported on stderr (later ones only show in the trace) and the
// caller runs the call locally, with the application's arrays as they were.
void fall_back(const Config& config, const char* routine, const std::string& cause);

}  // namespace rcpu::client
