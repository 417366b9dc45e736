// What the placement answers as one backend on behalf of its devices (placement.h): they are all of
// one backend, so its name, its capabilities and its host memory are the first device's; it runs
// every call only when each device does, and offers tile staging only with one device (a split
// call reads the host buffers).
#include <algorithm>

#include "server/placement/jobs.h"
#include "server/placement/placement.h"

namespace rcpu::server::placement {

std::string Placement::name() const { return devices_[0]->be->name(); }

bool Placement::is_host() const { return devices_[0]->be->is_host(); }

bool Placement::runs_every_call() const {
  return std::all_of(devices_.begin(), devices_.end(), [](const auto& d) { return d->be->runs_every_call(); });
}

bool Placement::offers_tile_staging(const Level3Args& args) const {
  return devices_.size() == 1 && devices_[0]->be->offers_tile_staging(args);
}

void* Placement::alloc_host(std::size_t bytes) { return devices_[0]->be->alloc_host(bytes); }
void Placement::free_host(void* p, std::size_t bytes) { devices_[0]->be->free_host(p, bytes); }

}  // namespace rcpu::server::placement
