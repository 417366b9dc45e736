#include <gtest/gtest.h>

#include <map>
#include <string>

#include "client/core/config.h"
#include "client/core/policy.h"
#include "client/core/trace.h"

using namespace rcpu;
using namespace rcpu::client;

namespace {

Level3Args dgemm(std::int64_t m, std::int64_t n, std::int64_t k, double alpha = 1.0) {
  Level3Args x;
  x.family = L3Family::gemm;
  x.dtype = Dtype::d;
  x.m = m;
  x.n = n;
  x.k = k;
  x.lda = m;
  x.ldb = k;
  x.ldc = m;
  x.alpha = alpha;
  x.beta = 0.0;
  return x;
}

Config with_policy(PolicyMode p) {
  Config c;
  c.policy = p;
  return c;
}

}  // namespace

TEST(Policy, LocalNeverOffloads) {
  const Decision d = decide_level3(with_policy(PolicyMode::local), dgemm(4000, 4000, 4000), true);
  EXPECT_FALSE(d.remote);
  EXPECT_STREQ(d.why, "policy=local");
}

TEST(Policy, RemoteOffloadsEvenTinyCalls) {
  const Decision d = decide_level3(with_policy(PolicyMode::remote), dgemm(2, 2, 2), true);
  EXPECT_TRUE(d.remote);
  EXPECT_STREQ(d.why, "policy=remote");
}

TEST(Policy, TrivialCallsStayLocalWhateverThePolicy) {
  EXPECT_FALSE(decide_level3(with_policy(PolicyMode::remote), dgemm(100, 100, 0), true).remote);
  EXPECT_FALSE(decide_level3(with_policy(PolicyMode::remote), dgemm(0, 100, 100), true).remote);
  EXPECT_FALSE(decide_level3(with_policy(PolicyMode::remote), dgemm(100, 100, 100, 0.0), true).remote);
}

TEST(Policy, NoServerMeansLocal) {
  const Decision d = decide_level3(with_policy(PolicyMode::remote), dgemm(4000, 4000, 4000), false);
  EXPECT_FALSE(d.remote);
  EXPECT_STREQ(d.why, "no-server");
}

TEST(Policy, AutoUsesTheFlopThreshold) {
  Config c = with_policy(PolicyMode::auto_);
  c.auto_min_flops = 2.0 * 512 * 512 * 512;
  EXPECT_FALSE(decide_level3(c, dgemm(511, 512, 512), true).remote);
  EXPECT_TRUE(decide_level3(c, dgemm(512, 512, 512), true).remote);
  EXPECT_STREQ(decide_level3(c, dgemm(100, 100, 100), true).why, "below-threshold");
}

TEST(Config, ParsesEnvironment) {
  static std::map<std::string, std::string> env;
  env = {{"RCPU_SERVER", "10.0.0.1:7000"}, {"RCPU_POLICY", "remote"},      {"RCPU_FALLBACK", "error"},
         {"RCPU_AUTO_MIN_FLOPS", "1e9"},   {"RCPU_TRACE", "/tmp/t.jsonl"}, {"RCPU_STATS", "1"}};
  const Config c = parse_config([](const char* n) -> const char* {
    auto it = env.find(n);
    return it == env.end() ? nullptr : it->second.c_str();
  });
  EXPECT_EQ(c.server, "10.0.0.1:7000");
  EXPECT_EQ(c.policy, PolicyMode::remote);
  EXPECT_EQ(c.fallback, FallbackMode::error);
  EXPECT_DOUBLE_EQ(c.auto_min_flops, 1e9);
  EXPECT_EQ(c.trace_path, "/tmp/t.jsonl");
  EXPECT_TRUE(c.stats);
}

TEST(Config, BadValuesFallBackToDefaults) {
  static std::map<std::string, std::string> env;
  env = {{"RCPU_POLICY", "sometimes"}, {"RCPU_AUTO_MIN_FLOPS", "lots"}, {"RCPU_STATS", "0"}};
  const Config c = parse_config([](const char* n) -> const char* {
    auto it = env.find(n);
    return it == env.end() ? nullptr : it->second.c_str();
  });
  EXPECT_EQ(c.policy, PolicyMode::auto_);
  EXPECT_DOUBLE_EQ(c.auto_min_flops, Config{}.auto_min_flops);
  EXPECT_FALSE(c.stats);
  EXPECT_TRUE(c.server.empty());
}

TEST(Trace, JsonLineCarriesEveryField) {
  CallRecord r;
  r.routine = "dgemm_";
  r.remote = true;
  r.why = "policy=\"remote\"";
  r.has_dims = true;
  r.m = 10;
  r.n = 20;
  r.k = 30;
  r.bytes_to_server = 4800;
  r.bytes_from_server = 1600;
  r.t_to_server_s = 0.5;
  r.backend = "cuda";
  const std::string j = to_json(r);
  EXPECT_NE(j.find("\"backend\":\"cuda\""), std::string::npos);
  EXPECT_NE(j.find("\"routine\":\"dgemm_\""), std::string::npos);
  EXPECT_NE(j.find("\"where\":\"remote\""), std::string::npos);
  EXPECT_NE(j.find("\"why\":\"policy=\\\"remote\\\"\""), std::string::npos);
  EXPECT_NE(j.find("\"m\":10,\"n\":20,\"k\":30"), std::string::npos);
  EXPECT_NE(j.find("\"bytes_to_server\":4800"), std::string::npos);
  EXPECT_NE(j.find("\"bytes_from_server\":1600"), std::string::npos);
  EXPECT_NE(j.find("\"t_to_server_s\":0.5"), std::string::npos);
  EXPECT_EQ(j.front(), '{');
  EXPECT_EQ(j.back(), '}');
}
