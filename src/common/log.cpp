#include "common/log.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>

namespace rcpu::log {
namespace {

struct State {
  std::mutex mu;
  const char* component = "rcpu";
  Level level = Level::info;
  std::set<std::string> warned;
  // The rate limit (set_rate_limit): a token bucket of lines.
  double burst = 0, per_second = 0, tokens = 0;
  std::chrono::steady_clock::time_point refilled{};
  std::uint64_t suppressed = 0;
  State() {
    if (const char* env = std::getenv("RCPU_LOG")) {
      if (!std::strcmp(env, "debug"))
        level = Level::debug;
      else if (!std::strcmp(env, "warn"))
        level = Level::warn;
      else if (!std::strcmp(env, "error"))
        level = Level::error;
    }
  }
};

State& state() {
  static State* s = new State;  // never destroyed: loggers may run during exit
  return *s;
}

const char* level_name(Level l) {
  switch (l) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warning";
    case Level::error:
      return "error";
  }
  return "?";
}

}  // namespace

void set_component(const char* name) { state().component = name; }
void set_level(Level level) { state().level = level; }

std::string printable(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != 0x7f) {
      out += ch;
    } else {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\x%02x", c);
      out += esc;
    }
  }
  return out;
}

void set_rate_limit(double burst, double per_second) {
  State& s = state();
  std::lock_guard lock(s.mu);
  s.burst = s.tokens = burst;
  s.per_second = per_second;
  s.refilled = std::chrono::steady_clock::now();
}

namespace {

// Whether a line may go out now under the rate limit (mu held); says how many did not first.
bool admit_line(State& s) {
  if (s.burst <= 0) return true;
  const auto now = std::chrono::steady_clock::now();
  s.tokens = std::min(s.burst, s.tokens + std::chrono::duration<double>(now - s.refilled).count() * s.per_second);
  s.refilled = now;
  if (s.tokens < 1) {
    ++s.suppressed;
    return false;
  }
  s.tokens -= 1;
  if (s.suppressed) {
    std::fprintf(stderr, "%s: warning: %llu log lines suppressed (more than %g a second)\n", s.component,
                 (unsigned long long)s.suppressed, s.per_second);
    s.suppressed = 0;
  }
  return true;
}

}  // namespace

void write(Level level, const std::string& message) {
  State& s = state();
  if (level < s.level) return;
  const std::string line = printable(message);
  std::lock_guard lock(s.mu);
  if (!admit_line(s)) return;
  std::fprintf(stderr, "%s: %s: %s\n", s.component, level_name(level), line.c_str());
  std::fflush(stderr);
}

void info_lines(const std::string& report) {
  std::string joined;
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = report.find('\n', start);
    joined += printable(report.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    joined += '\n';
    start = end + 1;
  }
  State& s = state();
  if (Level::info < s.level) return;
  std::lock_guard lock(s.mu);
  std::fprintf(stderr, "%s: %s: %s\n", s.component, level_name(Level::info), joined.c_str());
  std::fflush(stderr);
}

bool warn_once(const std::string& cause, const std::string& message) {
  State& s = state();
  {
    std::lock_guard lock(s.mu);
    if (!s.warned.insert(cause).second) return false;
  }
  write(Level::warn, message);
  return true;
}

}  // namespace rcpu::log
