#include "server/core/testing.h"

#include <cstdlib>

namespace rcpu::server::testing {
namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

std::int64_t panel_or_never(const char* name) {
  const char* v = env(name);
  return v ? std::int64_t(std::strtoll(v, nullptr, 10)) : std::int64_t(-1);
}

Hooks read_hooks() {
  Hooks h;
  h.fail_panel = panel_or_never("RCPUD_TEST_FAIL_PANEL");
  h.tear_panel = panel_or_never("RCPUD_TEST_TEAR_PANEL");
  h.trickle_panel = panel_or_never("RCPUD_TEST_TRICKLE_PANEL");
  if (const char* v = env("RCPUD_TEST_STAGING_BYTES")) {
    const long n = std::strtol(v, nullptr, 10);
    h.staging_bytes = n > 0 ? std::size_t(n) : std::size_t(0);
  }
  const char* fft = env("RCPUD_TEST_FAIL_FFT_STRIPES");
  h.fail_fft_stripes = fft && *fft == '1';
  return h;
}

}  // namespace

const Hooks& hooks() {
  static const Hooks h = read_hooks();
  return h;
}

}  // namespace rcpu::server::testing
