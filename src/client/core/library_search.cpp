#include "client/core/library_search.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace rcpu::client {
namespace {

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {
  }, sb{};
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

std::string folder_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

void add_unique(std::vector<std::string>& dirs, std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (dir.empty()) return;
  for (const std::string& d : dirs)
    if (d == dir) return;
  dirs.push_back(dir);
}

// The dynamic linker's search path for the program (what a dlopen by soname from it would walk,
// less ld.so.cache, which is not a folder).
std::vector<std::string> linker_search_path() {
  std::vector<std::string> dirs;
  void* program = dlopen(nullptr, RTLD_NOW);
  if (!program) return dirs;
  Dl_serinfo size{};
  if (dlinfo(program, RTLD_DI_SERINFOSIZE, &size) == 0 && size.dls_size >= sizeof(Dl_serinfo)) {
    std::vector<char> buffer(size.dls_size);
    auto* info = reinterpret_cast<Dl_serinfo*>(buffer.data());
    *info = size;
    if (dlinfo(program, RTLD_DI_SERINFOSIZE, info) == 0 && dlinfo(program, RTLD_DI_SERINFO, info) == 0)
      for (unsigned i = 0; i < info->dls_cnt; ++i) add_unique(dirs, info->dls_serpath[i].dls_name);
  }
  dlclose(program);
  return dirs;
}

}  // namespace

std::string shim_path() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&shim_path), &info) && info.dli_fname) return info.dli_fname;
  return {};
}

bool is_shim_file(const std::string& path) {
  const std::string own = shim_path();
  return !own.empty() && same_file(path, own);
}

std::vector<std::string> library_search_dirs(const char* hints) {
  std::vector<std::string> dirs;
  const std::string own = shim_path();
  for (const std::string& d : linker_search_path())
    if (own.empty() || !same_file(d, folder_of(own))) add_unique(dirs, d);
  std::string h = hints ? hints : "";
  for (std::size_t start = 0; start <= h.size();) {
    const std::size_t end = h.find(':', start);
    const std::string d = h.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (own.empty() || !same_file(d, folder_of(own))) add_unique(dirs, d);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return dirs;
}

std::vector<std::string> library_candidates(const char* soname, const char* hints,
                                            const std::vector<std::string>& subdirs) {
  std::vector<std::string> out;
  struct stat st {};
  for (const std::string& d : library_search_dirs(hints)) {
    std::vector<std::string> places{d};
    for (const std::string& s : subdirs) places.push_back(d + "/" + s);
    for (const std::string& p : places) {
      const std::string path = p + "/" + soname;
      if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && !is_shim_file(path)) out.push_back(path);
    }
  }
  return out;
}

}  // namespace rcpu::client
