#include "client/core/local_library.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "client/core/config.h"
#include "client/core/library_search.h"
#include "common/log.h"

namespace rcpu::client {
namespace {

#ifndef RCPU_HINT_BLAS_DIRS
#define RCPU_HINT_BLAS_DIRS ""
#endif
#ifndef RCPU_HINT_LAPACK_DIRS
#define RCPU_HINT_LAPACK_DIRS ""
#endif

// Search order when RCPU_LOCAL_BLAS is not set (docs/configuration.md, "Local libraries"): OpenBLAS
// by soname through the dynamic linker (LD_LIBRARY_PATH, RUNPATH, ld.so.cache, system folders:
// rcpu is never called libopenblas.so.0), then libopenblas.so.0 in each folder of
// library_search.h's walk (the folders pkg-config named at configure time included), then a
// reference libblas.so.3 the same way. The bare soname libblas.so.3 is rcpu itself whenever rcpu is
// on LD_LIBRARY_PATH: every handle is checked (is_self) and the walk skips the shim's file and folder.
// Subfolders: where distributions keep several builds side by side (Debian's alternatives).
const std::vector<std::string> kOpenblasSubdirs = {"openblas-pthread", "openblas-openmp", "openblas-serial"};
const std::vector<std::string> kBlasSubdirs = {"blas"};
const std::vector<std::string> kLapackSubdirs = {"lapack"};

std::vector<std::string> default_blas_candidates() {
  std::vector<std::string> c{"libopenblas.so.0"};
  for (const std::string& p : library_candidates("libopenblas.so.0", RCPU_HINT_BLAS_DIRS, kOpenblasSubdirs))
    c.push_back(p);
  c.push_back("libblas.so.3");  // found rcpu itself unless the program was not given rcpu by that name
  for (const std::string& p : library_candidates("libblas.so.3", RCPU_HINT_BLAS_DIRS, kBlasSubdirs)) c.push_back(p);
  return c;
}

// Not RTLD_DEEPBIND: the local library's own calls to exported symbols must bind as they would
// without rcpu, so that an error the local LAPACK reports reaches the APPLICATION's xerbla_ (the
// LAPACK testers check every error exit through their own XERBLA; with RTLD_DEEPBIND the library
// bound to its own xerbla_ and 1,815 error-exit checks of xlintstd failed). Its inner calls to BLAS
// or LAPACK entry points therefore come back into rcpu, where the thread-local re-entry guard
// (local_route.h) sends them straight back to the local library: untraced, never remote.
constexpr int kOpenFlags = RTLD_NOW | RTLD_LOCAL;

std::string own_path() { return shim_path(); }

struct Local {
  void* handle = nullptr;
  std::string path;
};

// True if `handle` is rcpu itself (e.g. RCPU_LOCAL_BLAS pointing at a libblas.so.3 that is rcpu).
bool is_self(void* handle, const char* probe = "dgemm_") {
  void* sym = dlsym(handle, probe);
  if (!sym) return false;
  Dl_info info{};
  return dladdr(sym, &info) && info.dli_fname && own_path() == info.dli_fname;
}

// The local library's references to xerbla_ bind when it is opened (RTLD_NOW): first in the global
// scope, then in its own dlopen group, which holds only itself and its dependencies. When rcpu is
// in the global scope (LD_LIBRARY_PATH with a program linked with -lblas, LD_PRELOAD), they reach
// the application's xerbla_ or rcpu's, which finds the application's (abi/error_handlers.cpp).
// When the whole chain was dlopened RTLD_LOCAL (NumPy's extension modules) the global scope has no
// xerbla_ and the library would bind to its own, printing instead of calling the application's
// handler (NumPy's test_xerbla_override). Then rcpu makes itself global first (RTLD_NOLOAD |
// RTLD_GLOBAL: no load, no new object): from then on its symbols are what any later lookup in the
// global scope finds, as with LD_PRELOAD; the calls the local library makes into them are the ones
// the re-entry guard already handles.
void make_handlers_reachable() {
  static const bool done = [] {
    void* global = dlopen(nullptr, RTLD_NOW);
    const bool present = global && dlsym(global, "xerbla_");
    if (global) dlclose(global);
    if (present) return true;
    void* self = dlopen(own_path().c_str(), RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL);
    if (self) {
      log::debug("rcpu made global so that the local library's xerbla_ calls reach the application's");
      dlclose(self);  // the object stays (it was loaded before); RTLD_GLOBAL is kept
    }
    return true;
  }();
  (void)done;
}

Local open_local() {
  make_handlers_reachable();
  std::vector<std::string> candidates;
  const std::string& chosen = config().local_blas;
  if (!chosen.empty())
    candidates.push_back(chosen);
  else
    candidates = default_blas_candidates();
  std::string errors;
  for (const std::string& c : candidates) {
    void* h = dlopen(c.c_str(), kOpenFlags);
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

// The reference LAPACK when neither RCPU_LOCAL_LAPACK nor the local BLAS provides one: the soname
// liblapack.so.3 through the dynamic linker, then the walk of library_search.h. The soname is rcpu
// itself whenever rcpu is on LD_LIBRARY_PATH: such a handle is skipped (is_self), the walk skips the
// shim's file and folder.
void* open_reference_lapack(std::string& chosen) {
  std::vector<std::string> candidates{"liblapack.so.3"};
  for (const std::string& p : library_candidates("liblapack.so.3", RCPU_HINT_LAPACK_DIRS, kLapackSubdirs))
    candidates.push_back(p);
  std::string errors;
  for (const std::string& c : candidates) {
    void* h = dlopen(c.c_str(), kOpenFlags);
    if (!h) {
      errors += std::string("\n  ") + dlerror();
      continue;
    }
    if (is_self(h, "dgetrf_") || !dlsym(h, "dgetrf_")) {
      errors += "\n  " + c + (is_self(h, "dgetrf_") ? ": this is rcpu itself" : ": not a LAPACK (no dgetrf_)");
      dlclose(h);
      continue;
    }
    chosen = c;
    return h;
  }
  std::fprintf(stderr, "rcpu: fatal: no local LAPACK could be opened (set RCPU_LOCAL_LAPACK):%s\n", errors.c_str());
  std::abort();
}

Local open_lapack() {
  std::string chosen = config().local_lapack;
  if (chosen.empty() && dlsym(local().handle, "dgetrf_")) {
    log::debug("local LAPACK: the local BLAS " + local().path);
    return local();
  }
  make_handlers_reachable();
  void* h = chosen.empty() ? open_reference_lapack(chosen) : dlopen(chosen.c_str(), kOpenFlags);
  if (!h) {
    std::fprintf(stderr, "rcpu: fatal: no local LAPACK could be opened (set RCPU_LOCAL_LAPACK): %s\n", dlerror());
    std::abort();
  }
  if (is_self(h, "dgetrf_") || dlsym(h, "dgetrf_") == nullptr) {
    std::fprintf(stderr, "rcpu: fatal: %s is %s (set RCPU_LOCAL_LAPACK to a real LAPACK)\n", chosen.c_str(),
                 is_self(h, "dgetrf_") ? "rcpu itself" : "not a LAPACK (no dgetrf_)");
    std::abort();
  }
  Dl_info info{};
  void* sym = dlsym(h, "dgetrf_");
  std::string path = (sym && dladdr(sym, &info) && info.dli_fname) ? info.dli_fname : chosen;
  log::debug("local LAPACK: " + path);
  return Local{h, path};
}

Local& lapack() {
  static Local l = open_lapack();
  return l;
}

}  // namespace

void* local_blas_handle() { return local().handle; }
std::string local_blas_path() { return local().path; }
void* local_blas_symbol(const char* name) { return dlsym(local().handle, name); }
std::string local_lapack_path() { return lapack().path; }
void* local_lapack_symbol(const char* name) { return dlsym(lapack().handle, name); }

}  // namespace rcpu::client
