// A backend made slower on purpose (rcpud --device-slowdown): after each call or panel it waits
// (factor - 1) times as long as the work took, so a device looks `factor` times slower without
// using more CPU. Only for emulating unequal devices, so that tests and demonstrations on one kind
// of hardware exercise the proportional split.
#pragma once

#include <memory>

#include "backends/backend.h"

namespace rcpu::server::placement {

std::unique_ptr<backend::Backend> make_slowed_backend(std::unique_ptr<backend::Backend> inner, double factor);

}  // namespace rcpu::server::placement
