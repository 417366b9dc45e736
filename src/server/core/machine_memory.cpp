#include "server/core/machine_memory.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace rcpu::server {
namespace {

// A limit file's number; "max" (v2) and v1's huge "no limit" values read as nothing.
std::optional<std::uint64_t> read_limit(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text == "max") return std::nullopt;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (end == text.c_str() || *end || v == 0 || v >= (1ull << 62)) return std::nullopt;
  return std::uint64_t(v);
}

void take_min(std::optional<std::uint64_t>& best, std::optional<std::uint64_t> v) {
  if (v && (!best || *v < *best)) best = v;
}

}  // namespace

std::optional<std::uint64_t> cgroup_memory_limit(const std::string& root) {
  std::ifstream in(root + "/proc/self/cgroup");
  std::optional<std::uint64_t> best;
  std::string line;
  while (std::getline(in, line)) {
    // "hierarchy-id:controllers:path"; v2 has id 0 and no controllers.
    const std::size_t a = line.find(':'), b = line.find(':', a == std::string::npos ? a : a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    if (path.empty() || path[0] != '/') continue;
    std::string base;
    const char* file = nullptr;
    if (line.compare(0, a, "0") == 0 && controllers.empty()) {
      base = root + "/sys/fs/cgroup";
      file = "memory.max";
    } else {
      std::stringstream list(controllers);
      std::string c;
      bool memory = false;
      while (std::getline(list, c, ',')) memory = memory || c == "memory";
      if (!memory) continue;
      base = root + "/sys/fs/cgroup/memory";
      file = "memory.limit_in_bytes";
    }
    // The group and each parent: a limit anywhere above applies too.
    for (;;) {
      take_min(best, read_limit(base + path + (path == "/" ? "" : "/") + file));
      if (path == "/") break;
      const std::size_t slash = path.find_last_of('/');
      path = slash == 0 ? "/" : path.substr(0, slash);
    }
  }
  return best;
}

std::uint64_t usable_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  std::optional<std::uint64_t> best;
  if (pages > 0 && page > 0) best = std::uint64_t(pages) * std::uint64_t(page);
  take_min(best, cgroup_memory_limit());
  return best.value_or(8ull << 30);
}

}  // namespace rcpu::server
