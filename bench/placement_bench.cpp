// The GPU side of a multi-device call, without the network: rcpud's own backend stack (one backend
// per device, combined by the placement layer, server/placement/) built in-process, timing
// level3() on host buffers from the backend's alloc_host (page-locked for CUDA, as rcpud's receive
// buffers are). So the time is what rcpud spends on the call once its inputs have arrived: host to
// devices, compute, devices to host. bench/run_multigpu.py runs it for 1, 2, 4 GPUs.
//
//   placement_bench [--backend cuda|cpu] [--devices 0,1] [--virtual-devices N] [--n 16000]
//                   [--reps 3] [--beta 1] [--routine dgemm|zgemm|dsyrk|dtrsm]
// Prints one JSON line: devices, n, best_s, median_s, gflops, rates and each device's work.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "server/backend_select.h"
#include "server/placement/placement.h"

using namespace rcpu;

int main(int argc, char** argv) {
  server::ServerOptions o;
  o.backend = "cuda";
  std::int64_t n = 16000;
  int reps = 3;
  double beta = 1.0;
  std::string routine = "dgemm";
  // rcpud's own option parser for the backend options; ours for the rest.
  std::vector<char*> pass = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has = i + 1 < argc;
    if (a == "--n" && has)
      n = std::atoll(argv[++i]);
    else if (a == "--reps" && has)
      reps = std::max(1, std::atoi(argv[++i]));
    else if (a == "--beta" && has)
      beta = std::atof(argv[++i]);
    else if (a == "--routine" && has)
      routine = argv[++i];
    else
      pass.push_back(argv[i]);
  }
  const server::ParseResult parsed = server::parse_options(int(pass.size()), pass.data());
  if (!parsed.options) {
    std::fputs(parsed.message.c_str(), stderr);
    return 2;
  }
  o = *parsed.options;
  std::unique_ptr<backend::Backend> be;
  try {
    be = server::make_server_backend(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "placement_bench: %s\n", e.what());
    return 1;
  }

  Level3Args x;
  x.dtype = routine[0] == 'z' ? Dtype::z : Dtype::d;
  x.m = x.n = x.k = n;
  x.alpha = 1.0;
  x.beta = beta;
  if (routine.substr(1) == "gemm")
    x.family = L3Family::gemm;
  else if (routine.substr(1) == "syrk")
    x.family = L3Family::syrk;
  else if (routine.substr(1) == "trsm")
    x.family = L3Family::trsm;
  else {
    std::fprintf(stderr, "placement_bench: routine %s not offered (dgemm zgemm dsyrk dtrsm)\n", routine.c_str());
    return 2;
  }
  const Level3Shapes s = level3_shapes(x);
  x.lda = s.a.rows;
  x.ldb = x.family == L3Family::trsm ? s.c.rows : std::max<std::int64_t>(1, s.b.rows);
  x.ldc = s.c.rows;
  const std::size_t elem = element_size(x.dtype);
  void* buf[3] = {nullptr, nullptr, nullptr};
  const OperandShape* shapes[3] = {&s.a, &s.b, &s.c};
  for (int i = 0; i < 3; ++i) {
    if (shapes[i]->role == Role::none) continue;
    const std::size_t bytes = shapes[i]->bytes(x.dtype);
    buf[i] = be->alloc_host(bytes);
    if (!buf[i]) {
      std::fprintf(stderr, "placement_bench: cannot allocate %zu bytes\n", bytes);
      return 1;
    }
    // Values in [-0.5, 0.5) from an LCG; a strong diagonal keeps trsm's A well conditioned.
    auto* d = static_cast<double*>(buf[i]);
    unsigned long long v = 0x9e3779b97f4a7c15ull * std::uint64_t(i + 1);
    for (std::size_t j = 0; j < bytes / 8; ++j) {
      v = v * 6364136223846793005ull + 1442695040888963407ull;
      d[j] = double(v >> 11) * 0x1.0p-53 - 0.5;
    }
    if (i == 0 && x.family == L3Family::trsm)
      for (std::int64_t j = 0; j < n; ++j)
        d[(std::size_t(j) * std::size_t(n) + std::size_t(j)) * (elem / 8)] += double(n);
  }
  std::vector<double> times;
  try {
    be->level3(x, buf[0], buf[1], buf[2]);  // warm-up: device memory, staging, cuBLAS
    for (int r = 0; r < reps; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      be->level3(x, buf[0], buf[1], buf[2]);
      times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "placement_bench: %s failed: %s\n", routine.c_str(), e.what());
    return 1;
  }
  std::sort(times.begin(), times.end());
  double checksum = 0;
  const double* c = static_cast<const double*>(buf[2]);
  for (std::size_t j = 0; j < shapes[2]->bytes(x.dtype) / 8; j += 997) checksum += c[j];
  auto* pl = dynamic_cast<server::placement::Placement*>(be.get());
  std::string devices = "[";
  if (pl) {
    const auto st = pl->stats();
    for (std::size_t i = 0; i < st.size(); ++i) {
      char item[256];
      std::snprintf(item, sizeof item,
                    "%s{\"rate\":%.3f,\"whole_calls\":%llu,\"pieces\":%llu,\"gflop\":%.3f,\"busy_s\":%.4f}",
                    i ? "," : "", st[i].rate, (unsigned long long)st[i].whole_calls, (unsigned long long)st[i].pieces,
                    st[i].flops * 1e-9, double(st[i].busy_ns) * 1e-9);
      devices += item;
    }
  }
  devices += "]";
  std::printf(
      "{\"routine\":\"%s\",\"backend\":\"%s\",\"devices\":%zu,\"n\":%lld,\"beta\":%g,\"reps\":%d,\"best_s\":%.6f,"
      "\"median_s\":%.6f,\"gflops\":%.1f,\"checksum\":%.9g,\"per_device\":%s}\n",
      routine.c_str(), be->name().c_str(), pl ? pl->device_count() : std::size_t(1), (long long)n, beta, reps,
      times.front(), times[times.size() / 2], level3_flops(x) / times.front() * 1e-9, checksum, devices.c_str());
  for (int i = 0; i < 3; ++i)
    if (buf[i]) be->free_host(buf[i], shapes[i]->bytes(x.dtype));
  return 0;
}
