#include "client/core/fallback.h"

#include <cstdio>
#include <cstdlib>

#include "common/log.h"

namespace rcpu::client {

void fall_back(const Config& config, const char* routine, const std::string& cause) {
  if (config.fallback == FallbackMode::error) {
    std::fprintf(stderr, "rcpu: fatal: %s could not run remotely (%s) and RCPU_FALLBACK=error\n", routine,
                 cause.c_str());
    std::exit(EXIT_FAILURE);
  }
  log::warn_once("fallback:" + cause, "running locally: " + cause);
}

}  // namespace rcpu::client
