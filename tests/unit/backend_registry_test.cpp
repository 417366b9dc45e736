// The backend seam (backends/registry.h): every backend this build registers is one rcpud accepts
// and lists in --help, exactly one is the fallback (the CPU backend, which runs every call on the
// host), and the server's choice goes through the registry.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/level3_cpu.h"
#include "backends/registry.h"
#include "server/backend_select.h"
#include "server/core/options.h"

using namespace rcpu;

namespace {

server::ParseResult parse(std::vector<std::string> args) {
  std::vector<char*> argv;
  static std::vector<std::string> keep;
  keep = std::move(args);
  keep.insert(keep.begin(), "rcpud");
  for (auto& s : keep) argv.push_back(s.data());
  return server::parse_options(int(argv.size()), argv.data());
}

}  // namespace

TEST(BackendRegistry, OneFallbackThatRunsEveryCallOnTheHost) {
  int fallbacks = 0;
  for (const backend::BackendEntry& e : backend::registered_backends()) {
    EXPECT_FALSE(e.name.empty());
    EXPECT_FALSE(e.help.empty()) << e.name;
    EXPECT_TRUE(bool(e.make_devices)) << e.name;
    EXPECT_EQ(backend::find_backend(e.name), &e);
    if (e.fallback) ++fallbacks;
  }
  EXPECT_EQ(fallbacks, 1);
  EXPECT_EQ(backend::find_backend("gpu"), nullptr);
  const auto fallback = backend::make_fallback_backend();
  EXPECT_TRUE(fallback->is_host());
  EXPECT_TRUE(fallback->runs_every_call());
  EXPECT_NE(backend::find_backend(fallback->name()), nullptr);  // name() is its registry name
}

TEST(BackendRegistry, EveryRegisteredNameIsAcceptedAndListed) {
  const std::string help = parse({"--help"}).message;
  for (const backend::BackendEntry& e : backend::registered_backends()) {
    const auto r = parse({"--backend", e.name});
    ASSERT_TRUE(r.options) << e.name << ": " << r.message;
    EXPECT_EQ(r.options->backend, e.name);
    EXPECT_NE(help.find(e.help), std::string::npos) << e.name;
  }
  const auto bad = parse({"--backend", "gpu"});
  EXPECT_NE(bad.message.find("--backend must be " + backend::backend_names() + " or auto"), std::string::npos)
      << bad.message;
}

TEST(BackendRegistry, ServerBackendByNameAndVirtualDevices) {
  server::ServerOptions o;
  o.backend = "cpu";
  o.virtual_devices = 3;
  o.device_rates = {1, 1, 1};  // no timing at start-up
  std::string note;
  const auto be = server::make_server_backend(o, &note);
  EXPECT_EQ(be->name(), "cpu");
  EXPECT_TRUE(be->is_host());          // the placement answers as its devices
  EXPECT_TRUE(be->runs_every_call());  // so the server needs no fallback beside it
  EXPECT_TRUE(note.empty()) << note;
  o.backend = "gpu";
  EXPECT_THROW(server::make_server_backend(o), backend::BackendError);
}

// The CPU backend's Level-3 calls come from the spec: real types have no Hermitian routines.
TEST(BackendRegistry, CpuLevel3RoutinesAreTheSpecs) {
  for (L3Family f : {L3Family::gemm, L3Family::symm, L3Family::syrk, L3Family::syr2k, L3Family::trmm, L3Family::trsm})
    for (Dtype t : {Dtype::s, Dtype::d, Dtype::c, Dtype::z}) EXPECT_TRUE(backend::level3_cpu_supports(f, t));
  for (L3Family f : {L3Family::hemm, L3Family::herk, L3Family::her2k}) {
    EXPECT_FALSE(backend::level3_cpu_supports(f, Dtype::s));
    EXPECT_FALSE(backend::level3_cpu_supports(f, Dtype::d));
    EXPECT_TRUE(backend::level3_cpu_supports(f, Dtype::c));
    EXPECT_TRUE(backend::level3_cpu_supports(f, Dtype::z));
  }
  // A dimension past the 32-bit BLAS integer is refused, not truncated.
  Level3Args x;
  x.m = x.n = x.k = 1;
  x.lda = x.ldb = x.ldc = std::int64_t(1) << 32;
  double a = 1, b = 1, c = 0;
  EXPECT_THROW(backend::make_cpu_backend({})->level3(x, &a, &b, &c), backend::BackendError);
}
