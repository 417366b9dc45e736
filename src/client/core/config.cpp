#include "client/core/config.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include "common/log.h"

namespace rcpu::client {

const char* policy_name(PolicyMode m) {
  switch (m) {
    case PolicyMode::auto_:
      return "auto";
    case PolicyMode::local:
      return "local";
    case PolicyMode::remote:
      return "remote";
  }
  return "?";
}

Config parse_config(const char* (*getenv_fn)(const char*)) {
  Config c;
  auto get = [&](const char* name) -> std::string {
    const char* v = getenv_fn(name);
    return v ? std::string(v) : std::string();
  };
  c.server = get("RCPU_SERVER");
  const std::string policy = get("RCPU_POLICY");
  if (policy == "local")
    c.policy = PolicyMode::local;
  else if (policy == "remote")
    c.policy = PolicyMode::remote;
  else if (!policy.empty() && policy != "auto")
    log::warn("RCPU_POLICY=" + policy + " is not auto, local or remote; using auto");
  const std::string fallback = get("RCPU_FALLBACK");
  if (fallback == "error")
    c.fallback = FallbackMode::error;
  else if (!fallback.empty() && fallback != "local")
    log::warn("RCPU_FALLBACK=" + fallback + " is not local or error; using local");
  const std::string min_flops = get("RCPU_AUTO_MIN_FLOPS");
  if (!min_flops.empty()) {
    char* end = nullptr;
    const double v = std::strtod(min_flops.c_str(), &end);
    if (end && *end == 0 && v >= 0)
      c.auto_min_flops = v;
    else
      log::warn("RCPU_AUTO_MIN_FLOPS=" + min_flops + " is not a number; ignored");
  }
  const std::string fft_min = get("RCPU_FFT_AUTO_MIN_FLOPS");
  if (!fft_min.empty()) {
    char* end = nullptr;
    const double v = std::strtod(fft_min.c_str(), &end);
    if (end && *end == 0 && v >= 0)
      c.fft_auto_min_flops = v;
    else
      log::warn("RCPU_FFT_AUTO_MIN_FLOPS=" + fft_min + " is not a number; ignored");
  }
  c.local_blas = get("RCPU_LOCAL_BLAS");
  c.local_lapack = get("RCPU_LOCAL_LAPACK");
  c.trace_path = get("RCPU_TRACE");
  const std::string stats = get("RCPU_STATS");
  c.stats = !stats.empty() && stats != "0";
  return c;
}

const Config& config() {
  static const Config c = parse_config([](const char* n) -> const char* { return std::getenv(n); });
  return c;
}

}  // namespace rcpu::client
