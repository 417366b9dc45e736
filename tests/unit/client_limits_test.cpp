// Per-client limits of rcpud (src/server/core/client_limits.h): what a client's calls and sessions
// hold, the caps on memory, calls in flight and sessions, the device share under competition,
// and the options and MUNGE allow lists that configure them.
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>

#include <thread>
#include <vector>

#include "server/core/authenticate.h"
#include "server/core/client_limits.h"
#include "server/core/options.h"

namespace rcpu::server {
namespace {

ClientLimitSettings settings(std::uint64_t memory, int calls, double share, int sessions) {
  ClientLimitSettings s;
  s.max_memory = memory;
  s.max_calls = calls;
  s.device_share = share;
  s.max_sessions = sessions;
  return s;
}

TEST(ClientLimits, MemoryIsHeldUntilTheTicketGoes) {
  ClientLimits limits(settings(1000, 100, 1.0, 10));
  Admission a = limits.admit_call("key:a", 600);
  ASSERT_TRUE(a.ticket);
  EXPECT_EQ(limits.usage("key:a").memory, 600u);
  Admission b = limits.admit_call("key:a", 500);
  EXPECT_FALSE(b.ticket);
  EXPECT_EQ(b.refused, LimitReason::memory);
  EXPECT_NE(b.why.find("--client-max-memory"), std::string::npos) << b.why;
  EXPECT_TRUE(limits.admit_call("key:a", 400).ticket) << "exactly up to the cap";
  EXPECT_EQ(limits.usage("key:a").memory, 600u) << "a ticket destroyed at once gives its bytes back";
  EXPECT_FALSE(limits.admit_call("key:a", 1001).ticket) << "one call over the cap is never admitted";
  EXPECT_TRUE(limits.admit_call("key:b", 1000).ticket) << "another client has an allowance of its own";
  a.ticket.release();
  EXPECT_EQ(limits.usage("key:a").memory, 0u);
  EXPECT_TRUE(limits.admit_call("key:a", 1000).ticket);
  const ClientLimits::Usage u = limits.usage("key:a");
  EXPECT_EQ(u.refused[int(LimitReason::memory)], 2u);
  EXPECT_EQ(u.admitted, 3u);
  EXPECT_EQ(u.calls, 0);
}

TEST(ClientLimits, CallsInFlightAreCappedPerClientAcrossItsSessions) {
  ClientLimits limits(settings(UINT64_MAX, 3, 1.0, 10));
  std::vector<ClientTicket> held;
  for (int i = 0; i < 3; ++i) {
    Admission a = limits.admit_call("uid:1000", 1);
    ASSERT_TRUE(a.ticket) << i;
    held.push_back(std::move(a.ticket));
  }
  Admission over = limits.admit_call("uid:1000", 1);
  EXPECT_FALSE(over.ticket);
  EXPECT_EQ(over.refused, LimitReason::calls);
  EXPECT_EQ(limits.usage("uid:1000").calls, 3);
  held.pop_back();
  EXPECT_TRUE(limits.admit_call("uid:1000", 1).ticket) << "a finished call frees its slot";
}

TEST(ClientLimits, DeviceShareBindsOnlyWhileAnotherClientHasCalls) {
  ClientLimits limits(settings(UINT64_MAX, 4, 0.5, 10));
  EXPECT_EQ(limits.share_cap(), 2);
  // Alone, a client may fill every slot.
  std::vector<ClientTicket> a;
  for (int i = 0; i < 4; ++i) {
    Admission x = limits.admit_call("key:a", 1);
    ASSERT_TRUE(x.ticket) << "alone: call " << i;
    a.push_back(std::move(x.ticket));
  }
  // Another client is always admitted while it holds less than its share.
  Admission b1 = limits.admit_call("key:b", 1);
  ASSERT_TRUE(b1.ticket);
  Admission b2 = limits.admit_call("key:b", 1);
  ASSERT_TRUE(b2.ticket);
  Admission b3 = limits.admit_call("key:b", 1);
  EXPECT_FALSE(b3.ticket) << "b holds its share (2 of 4) while a has calls in flight";
  EXPECT_EQ(b3.refused, LimitReason::share);
  // a, over its share now that b competes, gets nothing more until it is back within it.
  a.pop_back();
  Admission more = limits.admit_call("key:a", 1);
  EXPECT_FALSE(more.ticket);
  EXPECT_EQ(more.refused, LimitReason::share);
  a.pop_back();
  a.pop_back();  // a holds 1 of its share of 2
  Admission again = limits.admit_call("key:a", 1);
  EXPECT_TRUE(again.ticket);
  // Once b is done, a may fill the slots again.
  b1.ticket.release();
  b2.ticket.release();
  EXPECT_TRUE(limits.admit_call("key:a", 1).ticket);
  EXPECT_EQ(limits.usage("key:a").refused[int(LimitReason::share)], 1u);
  EXPECT_EQ(limits.usage("key:b").refused[int(LimitReason::share)], 1u);
}

TEST(ClientLimits, EveryClientMayHaveOneCallWhateverTheShare) {
  ClientLimits limits(settings(UINT64_MAX, 1, 0.1, 10));
  EXPECT_EQ(limits.share_cap(), 1);
  Admission a = limits.admit_call("key:a", 1);
  Admission b = limits.admit_call("key:b", 1);
  EXPECT_TRUE(a.ticket && b.ticket);
}

TEST(ClientLimits, SessionsArePerClient) {
  ClientLimits limits(settings(UINT64_MAX, 4, 1.0, 2));
  Admission s1 = limits.open_session("key:a"), s2 = limits.open_session("key:a");
  ASSERT_TRUE(s1.ticket && s2.ticket);
  Admission s3 = limits.open_session("key:a");
  EXPECT_FALSE(s3.ticket);
  EXPECT_EQ(s3.refused, LimitReason::sessions);
  EXPECT_TRUE(limits.open_session("key:b").ticket);
  ClientTicket moved = std::move(s1.ticket);
  EXPECT_EQ(limits.usage("key:a").sessions, 2) << "moving a ticket keeps what it holds";
  moved.release();
  EXPECT_EQ(limits.usage("key:a").sessions, 1);
  EXPECT_TRUE(limits.open_session("key:a").ticket);
}

// A flood from many threads of one client never takes it past its caps, and a second client
// that asks for one call at a time is never refused.
TEST(ClientLimits, AFloodStaysWithinTheCapsAndTheOtherClientIsServed) {
  ClientLimits limits(settings(64, 4, 0.5, 100));
  std::atomic<int> worst_calls{0}, refused_other{0};
  std::atomic<std::uint64_t> worst_memory{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> flood;
  for (int t = 0; t < 8; ++t)
    flood.emplace_back([&] {
      while (!stop.load()) {
        Admission a = limits.admit_call("key:flood", 16);
        if (!a.ticket) continue;
        const ClientLimits::Usage u = limits.usage("key:flood");
        worst_calls.store(std::max(worst_calls.load(), u.calls));
        worst_memory.store(std::max<std::uint64_t>(worst_memory.load(), u.memory));
        std::this_thread::yield();
      }
    });
  const auto flood_refused = [&] {
    const ClientLimits::Usage u = limits.usage("key:flood");
    return u.refused[int(LimitReason::calls)] + u.refused[int(LimitReason::memory)] +
           u.refused[int(LimitReason::share)];
  };
  // Until the flood has been refused a good many times (its threads may start late).
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (int i = 0; (i < 2000 || flood_refused() < 100) && std::chrono::steady_clock::now() < until; ++i) {
    Admission a = limits.admit_call("key:calm", 8);
    if (!a.ticket) ++refused_other;
  }
  stop.store(true);
  for (auto& t : flood) t.join();
  EXPECT_LE(worst_calls.load(), 4);
  EXPECT_LE(worst_memory.load(), 64u);
  EXPECT_EQ(refused_other.load(), 0);
  const ClientLimits::Usage u = limits.usage("key:flood");
  EXPECT_EQ(u.calls, 0);
  EXPECT_EQ(u.memory, 0u);
  EXPECT_GE(flood_refused(), 100u);
  EXPECT_NE(limits.report().find("client key:flood:"), std::string::npos) << limits.report();
}

ParseResult parse(std::vector<std::string> args) {
  static std::vector<std::string> keep;
  keep = std::move(args);
  keep.insert(keep.begin(), "rcpud");
  std::vector<char*> argv;
  for (auto& s : keep) argv.push_back(s.data());
  return parse_options(int(argv.size()), argv.data());
}

TEST(ClientLimitOptions, ValuesDefaultsAndErrors) {
  ParseResult r = parse({});
  ASSERT_TRUE(r.options);
  EXPECT_EQ(r.options->client_max_memory_bytes, 0u);  // sized by the server from the budget
  EXPECT_EQ(r.options->client_max_calls, 0);
  EXPECT_EQ(r.options->client_device_share, 0.5);
  r = parse({"--client-max-memory", "2G", "--client-max-calls", "8", "--client-device-share", "0.25",
             "--client-max-sessions", "5"});
  ASSERT_TRUE(r.options) << r.message;
  EXPECT_EQ(r.options->client_max_memory_bytes, 2ull << 30);
  EXPECT_EQ(r.options->client_max_calls, 8);
  EXPECT_EQ(r.options->client_device_share, 0.25);
  EXPECT_EQ(r.options->client_max_sessions, 5);
  r = parse({"--auth", "munge", "--allow-uid", "0,1000", "--allow-gid", "0", "--allow-uid", "root"});
  ASSERT_TRUE(r.options) << r.message;
  EXPECT_EQ(r.options->allow_uids, (std::vector<std::uint32_t>{0, 1000, 0}));
  EXPECT_EQ(r.options->allow_gids, (std::vector<std::uint32_t>{0}));
  for (std::vector<std::string> bad :
       std::vector<std::vector<std::string>>{{"--client-max-memory", "0"},
                                             {"--client-max-memory", "lots"},
                                             {"--client-max-calls", "0"},
                                             {"--client-max-calls", "-3"},
                                             {"--client-max-sessions", "x"},
                                             {"--client-device-share", "0"},
                                             {"--client-device-share", "1.5"},
                                             {"--client-device-share", "half"},
                                             {"--auth", "munge", "--allow-uid", "no-such-user-rcpu"},
                                             {"--auth", "munge", "--allow-gid", "no-such-group-rcpu"},
                                             {"--auth", "munge", "--allow-uid", "1,,2"},
                                             {"--allow-uid", "1000"}}) {
    const ParseResult b = parse(bad);
    EXPECT_FALSE(b.options) << bad[0] << " " << bad[1];
    EXPECT_EQ(b.exit_code, 2);
  }
  EXPECT_NE(parse({"--auth", "munge", "--allow-uid", "no-such-user-rcpu"}).message.find("no user 'no-such-user-rcpu'"),
            std::string::npos);
  EXPECT_NE(parse({"--allow-gid", "0"}).message.find("--auth munge"), std::string::npos);
}

TEST(MungeAuthorization, AllowListsByUidGidAndGroups) {
  AuthPolicy p;
  EXPECT_TRUE(munge_client_allowed(p, 1234, 5678)) << "no lists: every client of the site";
  p.allow_uids = {1000};
  EXPECT_TRUE(munge_client_allowed(p, 1000, 1));
  EXPECT_FALSE(munge_client_allowed(p, 1001, 1));
  p.allow_gids = {77};
  EXPECT_TRUE(munge_client_allowed(p, 1001, 77)) << "a listed gid lets in whoever has it";
  EXPECT_FALSE(munge_client_allowed(p, 4000000001u, 1)) << "no such user: only its own uid and gid count";
  // Supplementary groups come from this host's user database (getgrouplist of the uid's name).
  const passwd* me = getpwuid(getuid());
  if (!me) return;
  std::vector<gid_t> groups(256);
  int n = int(groups.size());
  if (getgrouplist(me->pw_name, me->pw_gid, groups.data(), &n) < 0) return;
  for (int i = 0; i < n; ++i) {
    if (groups[std::size_t(i)] == me->pw_gid) continue;
    AuthPolicy q;
    q.allow_gids = {std::uint32_t(groups[std::size_t(i)])};
    EXPECT_TRUE(munge_client_allowed(q, getuid(), 4000000001u)) << "member of gid " << groups[std::size_t(i)];
    q.allow_gids = {4000000002u};
    EXPECT_FALSE(munge_client_allowed(q, getuid(), 4000000001u));
    break;
  }
}

}  // namespace
}  // namespace rcpu::server
