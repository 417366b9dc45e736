// Non-template halves of the routing templates in route.h.
#include "client/route.h"
#include "client/local_columns.h"

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "client/config.h"
#include "client/local_library.h"
#include "client/policy.h"
#include "client/remote.h"
#include "client/remote_lapack.h"
#include "client/trace.h"
#include "common/log.h"

namespace rcpu::route {
namespace {

constexpr unsigned kSymCount = static_cast<unsigned>(Sym::count_);
std::atomic<void*> g_local_fns[kSymCount];

thread_local int t_local_depth = 0;

using abi::blas_int;
using XerblaFn = void (*)(const char*, const blas_int*, abi::blas_strlen);
using CblasXerblaFn = void (*)(blas_int, const char*, const char*, ...);

// The Fortran name netlib passes to XERBLA: "DGEMM " for dgemm_ and cblas_dgemm, padded to 6.
std::string xerbla_name(Sym s) {
  std::string n = kSymNames[static_cast<unsigned>(s)];
  if (n.rfind("cblas_", 0) == 0) n = n.substr(6);
  if (!n.empty() && n.back() == '_') n.pop_back();
  for (char& c : n) c = upper(c);
  while (n.size() < 6) n += ' ';
  return n;
}

// Used only when the process-wide lookup finds no handler at all (rcpu itself loaded RTLD_LOCAL
// by a program that defines none): the reference messages, and exit for CBLAS as netlib does.
void fallback_xerbla(const char* srname, const blas_int* info, abi::blas_strlen len) {
  std::fprintf(stderr, "Parameter %d to routine %.*s was incorrect\n", int(*info), int(len), srname);
}
void fallback_cblas_xerbla(blas_int info, const char* rout, const char* form, ...) {
  std::fprintf(stderr, "Parameter %d to routine %s was incorrect\n", int(info), rout);
  (void)form;
  std::exit(-1);
}

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

// The lookup goes through the dynamic linker at call time, as a call from the reference library
// would: the application's own xerbla_ (the netlib testers define one) wins over rcpu's.
void report_xerbla(Sym s, int info) {
  static XerblaFn fn = [] {
    void* p = dlsym(RTLD_DEFAULT, "xerbla_");
    return p ? reinterpret_cast<XerblaFn>(p) : &fallback_xerbla;
  }();
  const std::string name = xerbla_name(s);
  const blas_int value = info;
  fn(name.c_str(), &value, name.size());
}

void report_cblas_error(Sym s, int pos, const char* form, int value) {
  static CblasXerblaFn fn = [] {
    void* p = dlsym(RTLD_DEFAULT, "cblas_xerbla");
    return p ? reinterpret_cast<CblasXerblaFn>(p) : &fallback_cblas_xerbla;
  }();
  fn(pos, kSymNames[static_cast<unsigned>(s)], form, value);
}

namespace {

client::CallRecord level3_record(Sym s, const Level3Args& x) {
  client::CallRecord r;
  r.routine = kSymNames[static_cast<unsigned>(s)];
  r.has_dims = true;
  r.m = x.m;
  r.n = x.n;
  r.k = x.k;
  return r;
}

// The first failure of each cause is reported; later ones only show in the trace.
void warn_fallback(const std::string& cause) { log::warn_once("fallback:" + cause, "running locally: " + cause); }

}  // namespace

bool offload_level3(Sym s, const Level3Args& x, const void* a, const void* b, void* c, const char*& why_local) {
  const client::Config& cfg = client::config();
  const client::Decision d = client::decide_level3(cfg, x, client::remote_configured());
  if (!d.remote) {
    why_local = d.why;
    return false;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const client::RemoteResult res = client::run_level3_remote(x, a, b, c);
  if (res.status == client::RemoteStatus::ok) {
    if (recording()) {
      client::CallRecord r = level3_record(s, x);
      client::describe_remote(res.timing, r);
      r.why = d.why;
      r.transfer = res.timing.tiled ? "tiled" : "stop-and-wait";
      r.panel_cols = res.timing.panel_cols;
      r.t_total_s = seconds_since(t0);
      client::record(r);
    }
    return true;
  }
  if (cfg.fallback == client::FallbackMode::error) {
    std::fprintf(stderr, "rcpu: fatal: %s could not run remotely (%s) and RCPU_FALLBACK=error\n",
                 kSymNames[static_cast<unsigned>(s)], res.cause.c_str());
    std::exit(EXIT_FAILURE);
  }
  warn_fallback(res.cause);
  if (res.partial) {
    // Part of C is final already (the committed result tiles); the rest is computed here.
    for (const auto& [col0, cols] : res.columns_left) run_local_columns(x, a, b, c, col0, cols);
    if (recording()) {
      client::CallRecord r = level3_record(s, x);
      client::describe_remote(res.timing, r);
      // Which columns ran here (0-based, half-open), so a trace shows how much of C had arrived.
      r.why = "fallback for the columns that had not arrived:";
      for (const auto& [col0, cols] : res.columns_left)
        r.why += " [" + std::to_string(col0) + "," + std::to_string(col0 + cols) + ")";
      r.transfer = "tiled";
      r.t_total_s = seconds_since(t0);
      client::record(r);
    }
    return true;
  }
  why_local = "fallback";
  return false;
}

void record_level3_local(Sym s, const Level3Args& x, double seconds, const char* why) {
  if (!recording()) return;
  client::CallRecord r = level3_record(s, x);
  r.why = why ? why : "";
  r.t_total_s = seconds;
  client::record(r);
}

namespace {

client::CallRecord lapack_record(Sym s, const client::LapackSite& x) {
  client::CallRecord r;
  r.routine = kSymNames[static_cast<unsigned>(s)];
  const LapackRoutine* rt = lapack_routine(x.args.opcode);
  r.has_dims = true;
  const int nd = rt ? rt->ndims : 0;
  r.m = nd > 0 ? x.args.dims[0] : 0;
  r.n = nd > 1 ? x.args.dims[1] : 0;
  r.k = nd > 2 ? x.args.dims[2] : 0;
  return r;
}

// The reference routine's own checks: options and dimensions (the spec's valid:), and every leading
// dimension at least max(1, rows). Whatever fails here runs locally, so LAPACK itself reports it
// through XERBLA with its own INFO.
bool lapack_args_valid(const LapackRoutine& rt, const client::LapackSite& x, LapackOperand* ops) {
  for (int i = 0; i < rt.ndims; ++i)
    if (x.args.dims[i] < 0) return false;
  if (!rt.valid(x.args)) return false;
  rt.shapes(x.args, ops);
  for (int j = 0; j < rt.nops; ++j)
    if (x.has_ld[j] && x.ld[j] < std::max<std::int64_t>(1, ops[j].rows)) return false;
  return true;
}

}  // namespace

bool offload_lapack(Sym s, const client::LapackSite& x, client::Callback enough_workspace, client::Callback finish,
                    const char*& why_local) {
  const LapackRoutine* rt = lapack_routine(x.args.opcode);
  if (!rt) {
    why_local = "not-offloadable";
    return false;
  }
  LapackOperand ops[kMaxLapackOperands];
  if (!lapack_args_valid(*rt, x, ops)) {
    why_local = "invalid-arguments";
    return false;
  }
  const client::Config& cfg = client::config();
  const client::Decision d = client::decide_lapack(cfg, rt->flops(x.args), client::remote_configured(), rt->auto_scale);
  if (!d.remote) {
    why_local = d.why;
    return false;
  }
  // A workspace query (LWORK = -1, ...) or a workspace smaller than the local library's optimum
  // runs locally: LAPACK answers the query, or checks the size, itself.
  if (!enough_workspace()) {
    why_local = "workspace";
    return false;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const client::RemoteResult res = client::run_lapack_remote(*rt, x, ops);
  if (res.status == client::RemoteStatus::ok) {
    finish();
    if (recording()) {
      client::CallRecord r = lapack_record(s, x);
      client::describe_remote(res.timing, r);
      r.why = d.why;
      r.transfer = "stop-and-wait";
      r.t_total_s = seconds_since(t0);
      client::record(r);
    }
    return true;
  }
  if (res.status == client::RemoteStatus::rerun_local) {
    why_local = "info-rerun-local";
    return false;
  }
  if (cfg.fallback == client::FallbackMode::error) {
    std::fprintf(stderr, "rcpu: fatal: %s could not run remotely (%s) and RCPU_FALLBACK=error\n",
                 kSymNames[static_cast<unsigned>(s)], res.cause.c_str());
    std::exit(EXIT_FAILURE);
  }
  warn_fallback(res.cause);
  why_local = "fallback";
  return false;
}

void record_lapack_local(Sym s, const client::LapackSite& x, double seconds, const char* why) {
  if (!recording()) return;
  client::CallRecord r = lapack_record(s, x);
  r.why = why ? why : "";
  r.t_total_s = seconds;
  client::record(r);
}

}  // namespace rcpu::route

// The generic entry points (generated assembly, spec group lapack-any) ask here for the local
// library's function, then tail-call it.
extern "C" void* rcpu_generic_target(unsigned index) {
  return rcpu::route::resolve_local(static_cast<rcpu::Sym>(index));
}
