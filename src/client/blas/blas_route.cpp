// Non-template halves of the BLAS routing templates in blas_route.h.
#include "client/blas/blas_route.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "client/blas/level3_remote.h"
#include "client/blas/local_columns.h"
#include "client/core/config.h"
#include "client/core/fallback.h"
#include "client/core/policy.h"
#include "client/core/remote.h"
#include "client/core/trace.h"

namespace rcpu::route {
namespace {

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

client::CallRecord level3_record(Sym s, const Level3Args& x) {
  client::CallRecord r;
  r.routine = kSymNames[static_cast<unsigned>(s)];
  r.has_dims = true;
  r.m = x.m;
  r.n = x.n;
  r.k = x.k;
  return r;
}

}  // namespace

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
  client::fall_back(cfg, kSymNames[static_cast<unsigned>(s)], res.cause);
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

}  // namespace rcpu::route
