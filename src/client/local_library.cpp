#include "client/local_library.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "client/config.h"
#include "common/log.h"

namespace rcpu::client {
namespace {

// Search order when RCPU_LOCAL_BLAS is not set. Never the bare soname libblas.so.3: with rcpu on
// LD_LIBRARY_PATH that name is rcpu itself.
const char* const kDefaultCandidates[] = {
    "libopenblas.so.0",
    "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
    "/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0",
    "/usr/lib/x86_64-linux-gnu/openblas-serial/libopenblas.so.0",
    "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
    "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3",  // Debian's reference BLAS, last resort
};

std::string own_path() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&own_path), &info) && info.dli_fname) return info.dli_fname;
  return {};
}

struct Local {
  void* handle = nullptr;
  std::string path;
};

// True if `handle` is rcpu itself (e.g. RCPU_LOCAL_BLAS pointing at a libblas.so.3 that is rcpu).
bool is_self(void* handle) {
  void* sym = dlsym(handle, "dgemm_");
  if (!sym) return false;
  Dl_info info{};
  return dladdr(sym, &info) && info.dli_fname && own_path() == info.dli_fname;
}

Local open_local() {
  std::vector<std::string> candidates;
  const std::string& chosen = config().local_blas;
  if (!chosen.empty()) candidates.push_back(chosen);
  else
    for (const char* c : kDefaultCandidates) candidates.push_back(c);
  std::string errors;
  for (const std::string& c : candidates) {
    void* h = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!h) {
      errors += std::string("\n  ") + dlerror();
      continue;
    }
    if (is_self(h)) {
      errors += "\n  " + c + ": this is rcpu itself, not a BLAS";
      dlclose(h);
      continue;
    }
    Dl_info info{};
    void* sym = dlsym(h, "dgemm_");
    std::string path = (sym && dladdr(sym, &info) && info.dli_fname) ? info.dli_fname : c;
    log::debug("local BLAS: " + path);
    return Local{h, path};
  }
  // No BLAS at all: nothing sensible can run. Say exactly what was tried.
  std::fprintf(stderr, "rcpu: fatal: no local BLAS could be opened (set RCPU_LOCAL_BLAS):%s\n", errors.c_str());
  std::abort();
}

Local& local() {
  static Local l = open_local();
  return l;
}

}  // namespace

void* local_blas_handle() { return local().handle; }
std::string local_blas_path() { return local().path; }
void* local_blas_symbol(const char* name) { return dlsym(local().handle, name); }

}  // namespace rcpu::client
