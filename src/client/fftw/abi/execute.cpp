// The FFTW execute entry points: where each transform runs. A plan a server can run (complex DFT,
// r2c, c2r) goes through the one decision point (client/core/policy.h, decide_fft: small transforms stay
// local); a remote failure of any kind runs it locally instead, with the arrays as they were.
// Everything else runs on the local FFTW plan.
#include <chrono>

#include "client/core/config.h"
#include "client/core/fallback.h"
#include "client/core/policy.h"
#include "client/core/remote.h"
#include "client/core/trace.h"
#include "client/fftw/fftw_route.h"
#include "client/fftw/remote_fft.h"

namespace rcpu::fftw {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

client::CallRecord fft_record(const char* routine, const Plan& p) {
  client::CallRecord r;
  r.routine = routine;
  if (p.remote_capable) {
    r.has_dims = true;
    r.m = std::int64_t(fft_points(p.desc));  // points of one transform
    r.n = std::int64_t(fft_batch(p.desc));   // transforms
    r.fft_rank = int(p.desc.dims.size());
    r.fft_howmany_rank = int(p.desc.howmany.size());
  }
  return r;
}

// Runs the plan remotely if the policy says so and the server does it. Returns false (and why) to
// have the caller run it locally.
bool try_remote(const char* routine, const Plan& p, void* in, void* out, const char*& why) {
  if (!p.remote_capable) {
    why = "not-offloadable";
    return false;
  }
  const client::Config& cfg = client::config();
  const client::Decision d = client::decide_fft(cfg, fft_flops(p.desc), client::remote_configured());
  if (!d.remote) {
    why = d.why;
    return false;
  }
  const auto t0 = Clock::now();
  const client::RemoteResult res = run_fft_remote(p.desc, in, out, p.flags);
  if (res.status == client::RemoteStatus::ok) {
    if (client::recording()) {
      client::CallRecord r = fft_record(routine, p);
      client::describe_remote(res.timing, r);
      r.why = d.why;
      r.transfer = res.timing.striped ? "striped" : res.timing.streams > 1 ? "batches-split" : "stop-and-wait";
      r.t_total_s = since(t0);
      client::record(r);
    }
    return true;
  }
  client::fall_back(cfg, routine, res.cause);
  why = "fallback";
  return false;
}

template <class RunLocal>
void execute(const char* routine, const Plan& p, void* in, void* out, RunLocal run_local) {
  if (!is_rcpu_plan(&p)) return run_local();  // the real FFTW's own plan (plan.h): nothing to route
  const char* why = "";
  if (try_remote(routine, p, in, out, why)) return;
  if (!client::recording()) return run_local();
  const auto t0 = Clock::now();
  run_local();
  client::CallRecord r = fft_record(routine, p);
  r.why = why;
  r.t_total_s = since(t0);
  client::record(r);
}

}  // namespace
}  // namespace rcpu::fftw

using namespace rcpu;
using namespace rcpu::fftw;

extern "C" {

RCPU_EXPORT void fftw_execute(const fftw_plan p) {
  if (!is_rcpu_plan(p)) return local<FftwSym::fftw_execute>(local_plan(p));  // plan.h: an add-on's plan
  execute("fftw_execute", p->plan, p->plan.in, p->plan.out, [&] { local<FftwSym::fftw_execute>(local_plan(p)); });
}
RCPU_EXPORT void fftwf_execute(const fftwf_plan p) {
  if (!is_rcpu_plan(p)) return local<FftwSym::fftwf_execute>(local_plan(p));  // plan.h: an add-on's plan
  execute("fftwf_execute", p->plan, p->plan.in, p->plan.out, [&] { local<FftwSym::fftwf_execute>(local_plan(p)); });
}
RCPU_EXPORT void fftw_execute_dft(const fftw_plan p, fftw_complex* in, fftw_complex* out) {
  execute("fftw_execute_dft", p->plan, in, out, [&] { local<FftwSym::fftw_execute_dft>(local_plan(p), in, out); });
}
RCPU_EXPORT void fftwf_execute_dft(const fftwf_plan p, fftwf_complex* in, fftwf_complex* out) {
  execute("fftwf_execute_dft", p->plan, in, out, [&] { local<FftwSym::fftwf_execute_dft>(local_plan(p), in, out); });
}
RCPU_EXPORT void fftw_execute_dft_r2c(const fftw_plan p, double* in, fftw_complex* out) {
  execute("fftw_execute_dft_r2c", p->plan, in, out,
          [&] { local<FftwSym::fftw_execute_dft_r2c>(local_plan(p), in, out); });
}
RCPU_EXPORT void fftwf_execute_dft_r2c(const fftwf_plan p, float* in, fftwf_complex* out) {
  execute("fftwf_execute_dft_r2c", p->plan, in, out,
          [&] { local<FftwSym::fftwf_execute_dft_r2c>(local_plan(p), in, out); });
}
RCPU_EXPORT void fftw_execute_dft_c2r(const fftw_plan p, fftw_complex* in, double* out) {
  execute("fftw_execute_dft_c2r", p->plan, in, out,
          [&] { local<FftwSym::fftw_execute_dft_c2r>(local_plan(p), in, out); });
}
RCPU_EXPORT void fftwf_execute_dft_c2r(const fftwf_plan p, fftwf_complex* in, float* out) {
  execute("fftwf_execute_dft_c2r", p->plan, in, out,
          [&] { local<FftwSym::fftwf_execute_dft_c2r>(local_plan(p), in, out); });
}

}  // extern "C"
