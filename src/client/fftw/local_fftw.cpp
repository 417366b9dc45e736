#include "client/fftw/local_fftw.h"

#include <dlfcn.h>
#include <link.h>

#include <pthread.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "client/core/library_search.h"
#include "common/log.h"

namespace rcpu::fftw {
namespace {

#ifndef RCPU_HINT_FFTW_DIRS
#define RCPU_HINT_FFTW_DIRS ""
#endif
const char* const kLibraryNames[] = {"libfftw3.so.3", "libfftw3f.so.3", "libfftw3_threads.so.3",
                                     "libfftw3f_threads.so.3"};
constexpr unsigned kLibraries = 4;

struct Namespace {
  std::mutex mutex;
  bool opened = false;
  Lmid_t lmid = LM_ID_BASE;
  std::string folder, main_path;
  void* handles[kLibraries] = {};
};

Namespace& ns() {
  static Namespace n;
  return n;
}

std::string configured_path() {
  const char* v = std::getenv("RCPU_LOCAL_FFTW");
  return (v && *v) ? std::string(v) : std::string();
}

[[noreturn]] void fatal(const std::string& what) {
  std::fprintf(stderr, "rcpu: fatal: %s (set RCPU_LOCAL_FFTW to the real libfftw3.so.3)\n", what.c_str());
  std::abort();
}

void* nothing(void*) { return nullptr; }

// Each copy of libc skips locking while it believes the process has one thread (its
// __libc_single_threaded, cleared for good by its first pthread_create). With two copies that is
// wrong both ways: FFTW's worker threads are created by the namespace's libc, unseen by the
// application's, whose dynamic-loader locks then raced (seen: a deadlock in dlsym at exit of a
// single-threaded Python using pyfftw with threads); and application threads calling FFTW
// concurrently are unseen by the namespace's libc, whose malloc would run unlocked. One thread
// started and joined through each copy makes both take their locks from then on.
void mark_multithreaded(void* ns_handle) {
  pthread_t t;
  if (pthread_create(&t, nullptr, &nothing, nullptr) == 0) pthread_join(t, nullptr);
  using Create = int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);
  using Join = int (*)(pthread_t, void**);
  auto ns_create = reinterpret_cast<Create>(dlsym(ns_handle, "pthread_create"));
  auto ns_join = reinterpret_cast<Join>(dlsym(ns_handle, "pthread_join"));
  if (!ns_create || !ns_join) fatal("no pthread_create in the local FFTW's namespace");
  if (ns_create(&t, nullptr, &nothing, nullptr) == 0) ns_join(t, nullptr);
}

// Opens the double-precision library first: it creates the namespace, and every later library's
// DT_NEEDED libfftw3.so.3 / libfftw3f.so.3 then matches the one already there by soname. The
// single-precision library must be in before its threads library for the same reason.
void* open_library(unsigned which) {
  Namespace& n = ns();
  std::lock_guard<std::mutex> lock(n.mutex);
  if (!n.opened) {
    // RCPU_LOCAL_FFTW, else (docs/configuration.md, "Local libraries") libfftw3.so.3 in each folder
    // of the dynamic linker's search path and of the configure-time pkg-config hints
    // (client/core/library_search.h: the shim's file and folder skipped), else the soname through
    // the dynamic linker in the new namespace (ld.so.cache). Not the soname first: in a new
    // namespace LD_LIBRARY_PATH still applies and would load rcpu itself there. Each is opened in
    // a namespace of its own; the first with FFTW's internals (fftw_mksolver) is kept.
    std::vector<std::string> candidates;
    const std::string configured = configured_path();
    if (!configured.empty()) {
      candidates.push_back(configured);
    } else {
      candidates = rcpu::client::library_candidates(kLibraryNames[0], RCPU_HINT_FFTW_DIRS);
      candidates.push_back(kLibraryNames[0]);
    }
    std::string errors;
    void* h = nullptr;
    for (const std::string& c : candidates) {
      void* t = dlmopen(LM_ID_NEWLM, c.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!t) {
        errors += std::string("; ") + dlerror();
        continue;
      }
      if (!dlsym(t, "fftw_mksolver")) {  // rcpu itself, or not FFTW
        errors += "; " + c + " is not the real FFTW (no fftw_mksolver)";
        dlclose(t);
        continue;
      }
      h = t;
      n.main_path = c;
      link_map* map = nullptr;  // the file the soname resolved to
      if (dlinfo(t, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name && *map->l_name) n.main_path = map->l_name;
      break;
    }
    if (!h) fatal("cannot open the local FFTW" + errors);
    const std::size_t slash = n.main_path.rfind('/');
    n.folder = slash == std::string::npos ? std::string(".") : n.main_path.substr(0, slash);
    if (dlinfo(h, RTLD_DI_LMID, &n.lmid) != 0) fatal(std::string("dlinfo: ") + dlerror());
    mark_multithreaded(h);
    n.handles[0] = h;
    n.opened = true;
    log::debug("local FFTW: " + n.main_path);
  }
  if (which == 3 && !n.handles[1]) {
    n.handles[1] = dlmopen(n.lmid, (n.folder + "/" + kLibraryNames[1]).c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!n.handles[1]) fatal(std::string("cannot open the local single-precision FFTW: ") + dlerror());
  }
  if (!n.handles[which]) {
    const std::string path = n.folder + "/" + kLibraryNames[which];
    n.handles[which] = dlmopen(n.lmid, path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!n.handles[which]) fatal(std::string("cannot open the local FFTW library: ") + dlerror());
  }
  return n.handles[which];
}

std::atomic<void*> g_fns[static_cast<unsigned>(FftwSym::count_)];

}  // namespace

void* resolve_local(FftwSym s) {
  const unsigned i = static_cast<unsigned>(s);
  void* fn = g_fns[i].load(std::memory_order_acquire);
  if (fn) return fn;
  const unsigned lib = static_cast<unsigned>(kFftwSymLibrary[i]);
  fn = dlsym(open_library(lib), kFftwSymNames[i]);
  if (!fn) fatal(std::string("the local ") + kLibraryNames[lib] + " has no " + kFftwSymNames[i]);
  g_fns[i].store(fn, std::memory_order_release);
  return fn;
}

// The generic entry points of FFTW's internals (spec group fftw-internal, fftw_exports.cpp) ask
// here for their target; `index` is the FftwSym.
extern "C" void* rcpu_fftw_internal_target(unsigned index) { return resolve_local(static_cast<FftwSym>(index)); }

void* namespace_libc_symbol(const char* name) {
  // The library's own lookup scope includes its libc, i.e. the namespace's copy.
  void* fn = dlsym(open_library(0), name);
  if (!fn) fatal(std::string("no ") + name + " in the local FFTW's namespace");
  return fn;
}

std::string local_fftw_path() {
  open_library(0);
  return ns().main_path;
}

}  // namespace rcpu::fftw
