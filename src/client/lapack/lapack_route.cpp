// Non-template halves of the LAPACK routing template in lapack_route.h.
#include "client/lapack/lapack_route.h"

#include <algorithm>

#include "client/core/config.h"
#include "client/core/fallback.h"
#include "client/core/policy.h"
#include "client/core/remote.h"
#include "client/core/trace.h"
#include "client/lapack/lapack_remote.h"

namespace rcpu::route {
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
  client::fall_back(cfg, kSymNames[static_cast<unsigned>(s)], res.cause);
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

// The generic entry points (generated assembly in lapack_exports.cpp, spec group lapack-any) ask
// here for the local library's function, then tail-call it.
extern "C" void* rcpu_generic_target(unsigned index) {
  return rcpu::route::resolve_local(static_cast<rcpu::Sym>(index));
}
