#include "server/blas/panel_timeline.h"

#include <cstdio>
#include <mutex>

#include "common/log.h"

namespace rcpu::server::blas {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0, Clock::time_point t) {
  if (t == Clock::time_point{}) return -1;
  return std::chrono::duration<double, std::milli>(t - t0).count();
}

void append_times(std::string& out, const char* key, Clock::time_point t0, const std::vector<Clock::time_point>& ts) {
  out += ",\"";
  out += key;
  out += "\":[";
  char buf[32];
  for (std::size_t i = 0; i < ts.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.3f", i ? "," : "", ms_since(t0, ts[i]));
    out += buf;
  }
  out += "]";
}

}  // namespace

void append_panel_timeline(const std::string& path, const TiledCall& call, const Level3Args& args,
                           const std::string& backend, bool ok) {
  static std::mutex mu;
  static bool warned = false;
  const Clock::time_point end = Clock::now();
  std::string line;
  {
    char buf[512];
    std::snprintf(
        buf, sizeof buf,
        "{\"routine\":\"%s\",\"m\":%lld,\"n\":%lld,\"k\":%lld,\"stripes\":%d,\"panels\":%lld,\"panel_cols\":%lld,"
        "\"backend\":\"%s\",\"staged\":%s,\"ok\":%s,\"last_input_ms\":%.3f,\"end_ms\":%.3f",
        routine_name(args.family, args.dtype).c_str(), (long long)args.m, (long long)args.n, (long long)args.k,
        call.stripes, (long long)call.plan.panels, (long long)call.plan.panel_cols, backend.c_str(),
        call.staging ? "true" : "false", ok ? "true" : "false", ms_since(call.t_begin, call.last_input),
        ms_since(call.t_begin, end));
    line = buf;
  }
  append_times(line, "ready_ms", call.t_begin, call.t_ready);
  append_times(line, "done_ms", call.t_begin, call.t_done);
  append_times(line, "sent_ms", call.t_begin, call.t_sent);
  line += "}\n";
  std::lock_guard lock(mu);
  FILE* f = std::fopen(path.c_str(), "a");
  const bool written = f && std::fwrite(line.data(), 1, line.size(), f) == line.size();
  if (f) std::fclose(f);
  if (!written && !warned) {
    warned = true;
    log::warn("cannot append to the panel timeline " + path);
  }
}

}  // namespace rcpu::server::blas
