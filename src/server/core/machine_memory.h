// How much memory rcpud may use on this machine: physical memory, or less where a control group
// (a container, a Slurm job, a systemd unit) limits it. The default memory budget is sized from
// this, so a server in a 16 GiB container does not plan for the host's 2 TiB and meet the OOM
// killer instead of refusing requests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace rcpu::server {

// The tightest memory limit of this process's control groups, cgroup v2 (memory.max of its group
// and every parent) or v1 (memory.limit_in_bytes); nothing when none limits it. `root` prefixes
// /proc and /sys (tests use a made-up tree).
std::optional<std::uint64_t> cgroup_memory_limit(const std::string& root = "");

// Physical memory, capped by cgroup_memory_limit(); 8 GiB when neither can be read.
std::uint64_t usable_memory_bytes();

}  // namespace rcpu::server
