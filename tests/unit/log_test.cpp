// The log: text a peer chose cannot forge lines or reach the terminal as escapes, and rcpud's rate
// limit keeps a flood of events from filling the disk while saying how much it left out.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"

namespace rcpu {
namespace {

// Everything written to stderr while it lives, as lines.
class CapturedStderr {
 public:
  CapturedStderr() {
    std::fflush(stderr);
    saved_ = ::dup(2);
    file_ = std::tmpfile();
    ::dup2(::fileno(file_), 2);
  }
  ~CapturedStderr() {
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    std::fclose(file_);
  }
  std::vector<std::string> lines() {
    std::fflush(stderr);
    std::rewind(file_);
    std::vector<std::string> out;
    char buf[4096];
    while (std::fgets(buf, sizeof buf, file_)) {
      std::string l(buf);
      if (!l.empty() && l.back() == '\n') l.pop_back();
      out.push_back(l);
    }
    return out;
  }

 private:
  int saved_ = -1;
  std::FILE* file_ = nullptr;
};

TEST(Log, PeerTextCannotForgeLinesOrEscapes) {
  CapturedStderr err;
  log::set_component("rcpud");
  log::info("session 1.2.3.4: client 'x\nrcpud: error: forged\x1b[2J'");
  const std::vector<std::string> lines = err.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "rcpud: info: session 1.2.3.4: client 'x\\x0arcpud: error: forged\\x1b[2J'");
}

TEST(Log, RateLimitKeepsABurstAndCountsWhatItLeftOut) {
  CapturedStderr err;
  log::set_component("rcpud");
  log::set_rate_limit(10, 5);
  for (int i = 0; i < 1000; ++i) log::info("refused request " + std::to_string(i));
  EXPECT_EQ(err.lines().size(), 10u);                           // the burst
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // two lines' worth at 5 a second
  log::warn("after the flood");
  const std::vector<std::string> lines = err.lines();
  ASSERT_EQ(lines.size(), 12u);
  EXPECT_EQ(lines[9], "rcpud: info: refused request 9");
  EXPECT_EQ(lines[10], "rcpud: warning: 990 log lines suppressed (more than 5 a second)");
  EXPECT_EQ(lines[11], "rcpud: warning: after the flood");
  log::info_lines("sessions: 1 served\nreport line");  // the program's own report is never dropped
  log::set_rate_limit(0, 0);
  EXPECT_EQ(err.lines().size(), 14u);
}

}  // namespace
}  // namespace rcpu
