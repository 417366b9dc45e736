// Non-template halves of the shared routing templates in local_route.h.
#include "client/core/local_route.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "client/core/local_library.h"
#include "client/core/trace.h"

namespace rcpu::route {
namespace {

constexpr unsigned kSymCount = static_cast<unsigned>(Sym::count_);
std::atomic<void*> g_local_fns[kSymCount];

thread_local int t_local_depth = 0;

}  // namespace

void* resolve_local(Sym s) {
  const unsigned i = static_cast<unsigned>(s);
  void* fn = g_local_fns[i].load(std::memory_order_acquire);
  if (fn) return fn;
  const bool lapack = kSymLibrary[i] == SymLibrary::lapack;
  fn = lapack ? client::local_lapack_symbol(kSymNames[i]) : client::local_blas_symbol(kSymNames[i]);
  if (!fn) {
    std::fprintf(stderr, "rcpu: fatal: the local %s %s has no %s\n", lapack ? "LAPACK" : "BLAS",
                 (lapack ? client::local_lapack_path() : client::local_blas_path()).c_str(), kSymNames[i]);
    std::abort();
  }
  g_local_fns[i].store(fn, std::memory_order_release);
  return fn;
}

bool inside_local() { return t_local_depth > 0; }
LocalScope::LocalScope() { ++t_local_depth; }
LocalScope::~LocalScope() { --t_local_depth; }

bool recording() { return client::recording(); }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void record_local(Sym s, double seconds) {
  client::CallRecord r;
  r.routine = kSymNames[static_cast<unsigned>(s)];
  r.why = "not-offloadable";
  r.t_total_s = seconds;
  client::record(r);
}

}  // namespace rcpu::route
