// The placement layer over CUDA backends (server/placement/), against the CPU backend: every GPU of
// the machine as one device each (make_cuda_backends), or, on a machine with one GPU, two backends
// sharing GPU 0 (two device arenas, two sets of streams: the split path and its concurrency still
// run on the GPU). Every family x s/d/c/z with random options, odd sizes and padded leading
// dimensions, every call split (pieces of at least one column); streamed (tiled) calls with panels
// cut across the devices; one large dgemm split at the default piece width, measured rates; and
// each device must have run pieces. Exits 77 (CTest: skipped) without a GPU.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>

#include "../integration/level3_cases.h"
#include "backends/backend.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/cuda/cuda_backend.h"
#include "common/fft.h"
#include "server/placement/placement.h"

using namespace rcpu;
using namespace rcpu::server::placement;

namespace {

int failures = 0;

void compare(const std::string& what, const testing::Case& got, const testing::Case& want, Dtype t, double scale = 10) {
  const double diff = testing::max_rel_diff(got.c, want.c, t);
  if (!(diff <= testing::tolerance(t) * scale)) {
    std::printf("FAIL %s: relative difference %g\n", what.c_str(), diff);
    ++failures;
  }
}

// Every GPU as one device, or on a one-GPU machine two backends sharing GPU 0.
std::vector<std::unique_ptr<backend::Backend>> gpu_devices(int count) {
  if (count >= 2) return backend::make_cuda_backends({});
  std::vector<std::unique_ptr<backend::Backend>> devs;
  backend::BackendOptions o;
  o.devices = {0};
  devs.push_back(backend::make_cuda_backend(o));
  devs.push_back(backend::make_cuda_backend(o));
  return devs;
}

bool hermitian(L3Family f) { return f == L3Family::hemm || f == L3Family::herk || f == L3Family::her2k; }

}  // namespace

int main() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    std::printf("SKIPPED: no GPU\n");
    return 77;
  }
  std::vector<std::unique_ptr<backend::Backend>> devices;
  try {
    devices = gpu_devices(count);
    if (count < 2) std::printf("one GPU: two backends share GPU 0\n");
  } catch (const backend::BackendError& e) {
    std::printf("SKIPPED: %s\n", e.what());
    return 77;
  }
  const std::size_t ndev = devices.size();
  Options o;
  o.split_min_flops = 0;
  o.split_min_cols = 1;
  Placement pl(std::move(devices), o);  // rates measured: a dgemm per device
  std::printf("%s\n", pl.description().c_str());
  auto cpu = backend::make_cpu_backend({});
  std::mt19937_64 rng(2026);

  int calls = 0;
  for (L3Family f : {L3Family::gemm, L3Family::symm, L3Family::hemm, L3Family::syrk, L3Family::herk, L3Family::syr2k,
                     L3Family::her2k, L3Family::trmm, L3Family::trsm})
    for (Dtype t : {Dtype::s, Dtype::d, Dtype::c, Dtype::z}) {
      if (hermitian(f) && !is_complex(t)) continue;
      for (int rep = 0; rep < 8; ++rep) {
        const Level3Args x = testing::random_args(f, t, rng, 67, rep % 2 == 1, rep % 4 == 3);
        testing::Case got = testing::make_case(x, rng);
        testing::Case want = got;
        cpu->level3(x, want.ptr(want.a), want.ptr(want.b), want.ptr(want.c));
        try {
          pl.level3(x, got.ptr(got.a), got.ptr(got.b), got.ptr(got.c));
        } catch (const std::exception& e) {
          std::printf("FAIL %s threw: %s\n", routine_name(f, t).c_str(), e.what());
          ++failures;
          continue;
        }
        compare(routine_name(f, t) + " side " + x.side + " uplo " + x.uplo + " trans " + x.transa + x.transb, got, want,
                t);
        ++calls;
      }
    }

  // Streamed calls: panels of 13 columns, each cut across the devices.
  for (L3Family f : {L3Family::gemm, L3Family::symm, L3Family::trmm, L3Family::trsm}) {
    Level3Args x = testing::random_args(f, Dtype::d, rng, 90, false, false);
    x.side = 'L';
    x.n = 97;
    const Level3Shapes s = level3_shapes(x);
    x.lda = std::max<std::int64_t>(1, s.a.rows);
    x.ldb = std::max<std::int64_t>(1, (f == L3Family::trmm || f == L3Family::trsm) ? s.c.rows : s.b.rows);
    x.ldc = std::max<std::int64_t>(1, s.c.rows);
    testing::Case got = testing::make_case(x, rng);
    testing::Case want = got;
    cpu->level3(x, want.ptr(want.a), want.ptr(want.b), want.ptr(want.c));
    try {
      auto call = pl.begin_streamed(x, got.ptr(got.a), got.ptr(got.b), got.ptr(got.c));
      for (std::int64_t c0 = 0; c0 < x.n; c0 += 13) call->compute_panel(c0, std::min<std::int64_t>(13, x.n - c0));
    } catch (const std::exception& e) {
      std::printf("FAIL streamed %s threw: %s\n", routine_name(f, Dtype::d).c_str(), e.what());
      ++failures;
      continue;
    }
    compare("streamed " + routine_name(f, Dtype::d), got, want, Dtype::d);

    // As rcpud runs them: operands in page-locked memory (so each device queues its panels
    // asynchronously, up to depth() at once) and panels started and finished on a thread other
    // than the one that began the call.
    testing::Case pinned = testing::make_case(x, rng);
    testing::Case pinned_want = pinned;
    cpu->level3(x, pinned_want.ptr(pinned_want.a), pinned_want.ptr(pinned_want.b), pinned_want.ptr(pinned_want.c));
    std::vector<std::uint8_t>* ops[3] = {&pinned.a, &pinned.b, &pinned.c};
    void* host[3] = {nullptr, nullptr, nullptr};
    for (int i = 0; i < 3; ++i)
      if (!ops[i]->empty() && cudaHostAlloc(&host[i], ops[i]->size(), cudaHostAllocPortable) == cudaSuccess)
        std::memcpy(host[i], ops[i]->data(), ops[i]->size());
    std::string error;
    try {
      auto call = pl.begin_streamed(x, host[0], host[1], host[2]);
      std::thread worker([&] {
        try {
          const std::int64_t depth = std::max(1, call->depth());
          std::int64_t started = 0, finished = 0;
          for (std::int64_t c0 = 0; c0 < x.n; c0 += 13, ++started) {
            if (started - finished >= depth) call->finish_panel(), ++finished;
            call->start_panel(c0, std::min<std::int64_t>(13, x.n - c0));
          }
          for (; finished < started; ++finished) call->finish_panel();
        } catch (const std::exception& e) {
          error = e.what();
        }
      });
      worker.join();
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (host[2]) std::memcpy(pinned.c.data(), host[2], pinned.c.size());
    for (void* h : host)
      if (h) cudaFreeHost(h);
    if (!error.empty()) {
      std::printf("FAIL streamed (page-locked, other thread) %s threw: %s\n", routine_name(f, Dtype::d).c_str(),
                  error.c_str());
      ++failures;
      continue;
    }
    compare("streamed (page-locked, other thread) " + routine_name(f, Dtype::d), pinned, pinned_want, Dtype::d);
  }

  // One large dgemm and dsyrk split at the default piece width (128 columns).
  {
    Options big;
    big.split_min_flops = 1e9;
    std::vector<std::unique_ptr<backend::Backend>> again = gpu_devices(count);
    Placement large(std::move(again), big);
    for (L3Family f : {L3Family::gemm, L3Family::syrk}) {
      Level3Args x;
      x.family = f;
      x.m = x.n = x.k = 2000;
      x.alpha = 1.5;
      x.beta = 0.5;
      x.lda = x.ldb = x.ldc = 2000;
      testing::Case got = testing::make_case(x, rng);
      testing::Case want = got;
      cpu->level3(x, want.ptr(want.a), want.ptr(want.b), want.ptr(want.c));
      try {
        large.level3(x, got.ptr(got.a), got.ptr(got.b), got.ptr(got.c));
        compare("large " + routine_name(f, Dtype::d), got, want, Dtype::d, 100);
      } catch (const std::exception& e) {
        std::printf("FAIL large %s threw: %s\n", routine_name(f, Dtype::d).c_str(), e.what());
        ++failures;
      }
    }
    for (const auto& s : large.stats())
      if (s.pieces == 0) {
        std::printf("FAIL a device ran no piece of the large calls\n");
        ++failures;
      }
    std::printf("%s\n", large.usage_report().c_str());
  }

  // A batch of FFTs cut over the devices (every batch split), against the CPU backend's FFTW.
  {
    FftDescriptor d;
    d.kind = FftKind::c2c;
    d.precision = FftPrecision::f64;
    d.dims.push_back({4096, 1, 1});
    d.howmany.push_back({24, 1, 1});
    d = fft_packed(d);
    std::vector<double> in(fft_in_bytes(d) / 8), out(fft_out_bytes(d) / 8), want(out.size());
    std::uniform_real_distribution<double> u(-1, 1);
    for (double& v : in) v = u(rng);
    std::vector<double> ref_in = in;
    auto cc = cpu->new_fft_cache();
    cpu->prepare_fft(*cc, d, 64, ref_in.data(), want.data());
    ref_in = in;
    cpu->fft(*cc, d, 64, ref_in.data(), want.data());
    std::vector<std::unique_ptr<backend::Backend>> devs = gpu_devices(count);
    Options fo;
    fo.rates.assign(devs.size(), 1.0);
    fo.split_min_fft_bytes = 0;
    Placement fp(std::move(devs), fo);
    try {
      auto cache = fp.new_fft_cache();
      fp.prepare_fft(*cache, d, 64, in.data(), out.data());
      fp.fft(*cache, d, 64, in.data(), out.data());
      double err = 0, scale = 0;
      for (std::size_t i = 0; i < out.size(); ++i) {
        err = std::max(err, std::abs(out[i] - want[i]));
        scale = std::max(scale, std::abs(want[i]));
      }
      if (!(err <= 1e-12 * scale)) {
        std::printf("FAIL batched FFT over the devices: relative error %g\n", err / scale);
        ++failures;
      }
      for (const auto& s : fp.stats())
        if (s.pieces != 1) {
          std::printf("FAIL batched FFT: a device ran %llu parts, expected 1\n", (unsigned long long)s.pieces);
          ++failures;
        }
    } catch (const std::exception& e) {
      std::printf("FAIL batched FFT over the devices threw: %s\n", e.what());
      ++failures;
    }
  }

  const auto st = pl.stats();
  for (std::size_t i = 0; i < st.size(); ++i)
    if (st[i].pieces == 0 || st[i].panel_pieces == 0) {
      std::printf("FAIL device %zu ran %llu pieces, %llu panel pieces\n", i, (unsigned long long)st[i].pieces,
                  (unsigned long long)st[i].panel_pieces);
      ++failures;
    }
  std::printf("%s\n", pl.usage_report().c_str());
  std::printf("%d calls on %zu devices, %d failure(s)\n", calls, ndev, failures);
  return failures ? 1 : 0;
}
